"""`make run`: the whole local stack on one laptop, no AWS account.

Starts the AWS emulator, creates the tables and topic, seeds demo products,
runs the notifier and mailer on the Orders stream and the mail queue, serves
the API with `chalice local` and the shop UI with Vite's dev server.
`--emulator-only` (`make emulator`) stops short of the API and the UI: a
`chalice local --stage local` of your own then runs against it.
Ctrl-C stops everything it started.
Ports: EMULATOR_PORT (4566), API_PORT (8000), UI_PORT (5173); HOST (127.0.0.1).
"""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from types import FrameType
from typing import Any

import boto3

from chalicelib import settings
from chalicelib.catalog import Catalog
from local import resources, stage
from local import stripe as local_stripe
from local.delivery import NOTIFY_DLQ, DeadLetterQueue, Mailbox, StreamPoller
from local.emulator import Emulator
from local.mail import LONG_POLL_SECONDS, QueuePoller, SentMail

ROOT = stage.ROOT
# The local stage's region and dummy credentials (its environment in .chalice/config.json).
_STAGE = stage.environment()
FAKE_CREDENTIALS = {
    name: _STAGE[name]
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
}


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def emulator_environment(
    endpoint: str, app_id: str = "flashsale-local", stripe_base: str | None = None
) -> dict[str, str]:
    """The local stage's environment on the emulator at `endpoint` (and localstripe
    at `stripe_base`), whatever the shell's AWS setup."""
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")}
    env.update(stage.environment(endpoint=endpoint))
    if stripe_base is not None:
        env.update(
            STRIPE_API_BASE=stripe_base,
            STRIPE_SECRET_KEY=local_stripe.SECRET_KEY,
            STRIPE_WEBHOOK_SECRET=local_stripe.WEBHOOK_SECRET,
            STRIPE_PUBLISHABLE_KEY=local_stripe.PUBLISHABLE_KEY,
        )
    env["AWS_SDK_UA_APP_ID"] = app_id
    # The in-process tests ignore the stage's endpoint (tests/conftest.py); a process
    # started for the emulator must not.
    env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "false"
    # A process that crashes below Python (no traceback of its own) still says
    # where, in the stack's log: CI once saw a child exit with no word at all.
    env.setdefault("PYTHONFAULTHANDLER", "1")
    return env


def emulator_client(service: str, endpoint: str, **options: Any) -> Any:
    """A boto3 client for the emulator at `endpoint`, whatever the shell's AWS setup."""
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=FAKE_CREDENTIALS["AWS_DEFAULT_REGION"],
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        **options,
    )


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def wait_for(url: str, child: subprocess.Popen[bytes], name: str, seconds: float = 30) -> None:
    """Until `url` answers 200; exits the stack, naming `name`, if `child` ends first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if exited := exited_children({name: child}):
            raise SystemExit(f"{exited} exited while starting")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {seconds:.0f}s")


def bootstrap(endpoint: str) -> None:
    """Create tables and topic and seed products in the emulator at `endpoint`."""
    config = settings.load(emulator_environment(endpoint))
    dynamodb = emulator_client("dynamodb", endpoint)
    created = resources.create_tables(dynamodb, config)
    say(f"tables: {', '.join(created) or 'already there'}")
    say(f"topic: {resources.create_topic(emulator_client('sns', endpoint))}")
    queue = resources.create_mail(
        emulator_client("ses", endpoint),
        emulator_client("sqs", endpoint),
        emulator_client("sns", endpoint),
        config,
    )
    say(f"shopper emails: topic -> {queue} -> send_emails -> SES ({config.mail_sender})")
    say(f"holds: {resources.create_holds(emulator_client('sqs', endpoint))} -> release_holds")
    ticks = resources.create_room_ticks(emulator_client("sqs", endpoint))
    say(f"waiting rooms: {ticks} -> admit_shoppers")
    count = resources.seed_products(Catalog(dynamodb, config.products_table))
    say(f"seeded {count} demo products")


def start_delivery(
    endpoint: str, stop: threading.Event, stripe_base: str | None = None
) -> list[threading.Thread]:
    """Run the app's stream handler on the emulator's Orders stream as the stage's
    event source mapping would (records it gives up on go to NOTIFY_DLQ), and
    print every confirmation SNS sends (through an SQS queue subscribed to the
    topic). The holds queue has a process of its own (local/releasers.py)."""
    # The handlers run in this process with the stage's settings, as on Lambda.
    os.environ.update(emulator_environment(endpoint, stripe_base=stripe_base))
    import app

    config = settings.load()
    poller = StreamPoller(
        emulator_client("dynamodb", endpoint),
        emulator_client("dynamodbstreams", endpoint),
        config.orders_table,
        app.notify_orders,
        DeadLetterQueue(emulator_client("sqs", endpoint), NOTIFY_DLQ),
    )
    mailbox = Mailbox(
        emulator_client("sns", endpoint),
        emulator_client("sqs", endpoint),
        config.order_topic_arn,
        "flashsale-local-order-emails",
    )
    sqs = emulator_client("sqs", endpoint)
    mail = QueuePoller(
        sqs,
        sqs.get_queue_url(QueueName=resources.MAIL_QUEUE)["QueueUrl"],
        app.send_emails,
        concurrency=config.mailer_max_concurrency,
        wait_seconds=LONG_POLL_SECONDS,
    )
    threads = [
        threading.Thread(target=poller.run, args=(stop,), daemon=True),
        threading.Thread(target=mailbox.print_forever, args=(stop,), daemon=True),
        threading.Thread(
            target=SentMail(endpoint, in_process=True).print_forever, args=(stop,), daemon=True
        ),
    ]
    for thread in threads:
        thread.start()
    # LOCAL_MAILER=off leaves the mail queue to whoever else reads it (a test's
    # own mailers, one of them killed on purpose).
    if os.environ.get("LOCAL_MAILER", "on") == "off":
        return threads
    return threads + mail.run(stop)


# The holds queue's pollers (release_holds' mapping's concurrency, played by
# local/releasers.py; they long-poll, so a due message is taken as it comes).
# 8: 1,000 holds ending in one second went p99 7.6 s late with 4, 5.9 s with 8,
# 6.1 s with 16, when they still polled short (one process's ceiling then).
HOLD_RELEASERS = 8
STRIPE_DEFAULT_PORT = 8420  # the local stage's STRIPE_API_BASE (.chalice/config.json)


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def start_stripe(
    host: str, port: int, webhook: str | None, env: dict[str, str], **output: Any
) -> tuple[subprocess.Popen[bytes], str]:
    """localstripe on `port`, its events signed and sent to `webhook` (None: kept);
    `output`: the child's stdout/stderr, as Popen takes them."""
    hook = ["--webhook", webhook] if webhook else []
    child = subprocess.Popen(
        [sys.executable, "-m", "local.stripe", "--host", host, "--port", str(port), *hook],
        cwd=ROOT,
        env=env,
        **output,
    )
    base = f"http://{host}:{port}"
    wait_for(f"{base}/js.stripe.com/v3/", child, "localstripe")
    return child, base


def exited_children(children: dict[str, subprocess.Popen[bytes]]) -> str:
    """Which of the stack's processes have exited and how ("" while none has):
    a stack that stops on its own says what stopped it."""
    return ", ".join(
        f"{name} (exit code {code}{_signal_name(code)})"
        for name, child in children.items()
        if (code := child.poll()) is not None
    )


def _signal_name(code: int) -> str:
    if code >= 0:
        return ""
    try:
        return f", {signal.Signals(-code).name}"
    except ValueError:
        return ""


def serve_api_yourself(endpoint: str) -> None:
    """How to run the API on this emulator with Chalice's own command."""
    configured = stage.environment()[stage.ENDPOINT]
    if endpoint == configured:
        say("API: run `chalice local --stage local` (the local stage's endpoint is this one)")
    else:
        say(
            f"API: the local stage expects the emulator at {configured}; on this one run"
            f" `AWS_ENDPOINT_URL={endpoint} python -m local.api local --stage local`"
        )
    say("ready; Ctrl-C stops the emulator")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--emulator-only",
        action="store_true",
        help="the emulator, its resources, seed, notifier and mailer; no API, no UI",
    )
    emulator_only = parser.parse_args(argv).emulator_only
    host = os.environ.get("HOST", "127.0.0.1")
    services = [("EMULATOR_PORT", "4566")]
    if not emulator_only:
        services += [("API_PORT", "8000"), ("UI_PORT", "5173")]
    ports = {name: int(os.environ.get(name, default)) for name, default in services}
    busy = [f"{name}={port}" for name, port in ports.items() if not port_free(host, port)]
    if "STRIPE_PORT" in os.environ:
        ports["STRIPE_PORT"] = int(os.environ["STRIPE_PORT"])
        if not port_free(host, ports["STRIPE_PORT"]):
            busy.append(f"STRIPE_PORT={ports['STRIPE_PORT']}")
    else:
        # The stage's own port when it is free (a plain `chalice local` finds it
        # there); else any: two stacks on one machine each get their own.
        default_free = port_free(host, STRIPE_DEFAULT_PORT)
        ports["STRIPE_PORT"] = STRIPE_DEFAULT_PORT if default_free else free_port(host)
    if busy:
        say(f"port in use: {', '.join(busy)}; stop what holds it or set another port")
        return 1

    vite = ROOT / "frontend" / "node_modules" / "vite" / "bin" / "vite.js"
    if not emulator_only and not vite.exists():
        say("frontend/node_modules is missing: run `make run` (it installs the UI)")
        return 1
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # The emulator, the notifier and the mail pollers run in this process: a
    # crash below Python leaves a traceback in the log here too.
    faulthandler.enable()

    # Explicit handlers: a shell that starts us in the background ignores SIGINT.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    emulator = Emulator(host, ports["EMULATOR_PORT"]).start()
    stopping = threading.Event()
    workers: list[threading.Thread] = []
    children: dict[str, subprocess.Popen[bytes]] = {}  # by the name the log gives it
    try:
        say(f"AWS emulator on {emulator.url}")
        bootstrap(emulator.url)
        api_url = f"http://{host}:{ports.get('API_PORT', 8000)}"
        stripe, stripe_base = start_stripe(
            host,
            ports["STRIPE_PORT"],
            f"{api_url}/payments/stripe/webhook",
            emulator_environment(emulator.url),
        )
        children["localstripe"] = stripe
        say(f"Stripe stand-in (localstripe) on {stripe_base}; its webhooks -> {api_url}")
        workers = start_delivery(emulator.url, stopping, stripe_base)
        children["hold releasers"] = subprocess.Popen(
            [sys.executable, "-m", "local.releasers"],
            cwd=ROOT,
            env=emulator_environment(
                emulator.url, app_id="flashsale-releasers", stripe_base=stripe_base
            ),
        )
        say("holds: holds queue -> release_holds (local/releasers.py, its own process)")
        say("order confirmations: Orders stream -> notifier -> SNS -> printed here")
        if emulator_only:
            serve_api_yourself(emulator.url)
        else:
            ui_url = f"http://{host}:{ports['UI_PORT']}"
            api = subprocess.Popen(
                [sys.executable, "-m", "local.api", "local", "--stage", "local", "--no-autoreload",
                 "--host", host, "--port", str(ports["API_PORT"])],
                cwd=ROOT,
                env=emulator_environment(
                    emulator.url, app_id="flashsale-api", stripe_base=stripe_base
                ),
            )  # fmt: skip
            children["API"] = api
            ui = subprocess.Popen(
                ["node", str(vite), "--host", host, "--port", str(ports["UI_PORT"]),
                 "--strictPort"],
                cwd=ROOT / "frontend",
                env={**os.environ, "VITE_API_BASE_URL": api_url},
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            children["shop UI"] = ui
            wait_for(f"{api_url}/health", api, "API")
            say(f"API on {api_url}  (try: curl {api_url}/products)")
            wait_for(ui_url, ui, "shop UI")
            say(f"shop UI on {ui_url}")
            say("ready; Ctrl-C stops everything")
        while not (exited := exited_children(children)):
            time.sleep(0.5)
        say(f"{exited} exited; stopping the stack")
        return 1
    except KeyboardInterrupt:
        say("stopping")
        return 0
    finally:
        # Whatever happened above, nothing this started outlives it.
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        stopping.set()
        for worker in workers:
            worker.join(timeout=5)
        emulator.stop()


if __name__ == "__main__":
    sys.exit(main())
