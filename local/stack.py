"""`make run`: the whole local stack on one laptop, no AWS account.

Starts the AWS emulator, creates the tables and topic, seeds demo products and
serves the API with `chalice local`. Ctrl-C stops everything it started.
Ports: EMULATOR_PORT (4566), API_PORT (8000); HOST (127.0.0.1).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import FrameType

import boto3

from chalicelib import settings
from chalicelib.catalog import Catalog
from local import resources
from local.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def stage_environment(stage: str = "local") -> dict[str, str]:
    """The environment variables .chalice/config.json gives a stage."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return env


def emulator_environment(endpoint: str) -> dict[str, str]:
    """Point boto3 at the emulator with fake credentials, whatever the shell had."""
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")}
    env.update(FAKE_CREDENTIALS)
    env["AWS_ENDPOINT_URL"] = endpoint
    env.update(stage_environment())
    return env


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def wait_for(url: str, child: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"{child.args[0]} exited with {child.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {seconds:.0f}s")


def bootstrap(endpoint: str) -> None:
    """Create tables and topic and seed products in the emulator at `endpoint`."""
    os.environ.update(emulator_environment(endpoint))
    config = settings.load()
    dynamodb = boto3.client("dynamodb")
    created = resources.create_tables(dynamodb, config)
    say(f"tables: {', '.join(created) or 'already there'}")
    say(f"topic: {resources.create_topic(boto3.client('sns'))}")
    count = resources.seed_products(Catalog(dynamodb, config.products_table))
    say(f"seeded {count} demo products")


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    ports = {
        name: int(os.environ.get(name, default))
        for name, default in (("EMULATOR_PORT", "4566"), ("API_PORT", "8000"))
    }
    busy = [f"{name}={port}" for name, port in ports.items() if not port_free(host, port)]
    if busy:
        say(f"port in use: {', '.join(busy)}; stop what holds it or set another port")
        return 1

    emulator = Emulator(host, ports["EMULATOR_PORT"]).start()
    say(f"AWS emulator on {emulator.url}")
    bootstrap(emulator.url)

    api = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local.api",
            "local",
            "--stage",
            "local",
            "--no-autoreload",
            "--host",
            host,
            "--port",
            str(ports["API_PORT"]),
        ],
        cwd=ROOT,
        env=emulator_environment(emulator.url),
    )
    children = [api]

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # Explicit handlers: a shell that starts us in the background ignores SIGINT.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        wait_for(f"http://{host}:{ports['API_PORT']}/health", api)
        say(
            f"API on http://{host}:{ports['API_PORT']}  (try: curl http://{host}:{ports['API_PORT']}/products)"
        )
        say("ready; Ctrl-C stops everything")
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        say("a service exited; stopping the stack")
        return 1
    except KeyboardInterrupt:
        say("stopping")
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        emulator.stop()


if __name__ == "__main__":
    sys.exit(main())
