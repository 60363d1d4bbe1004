"""localstripe, the local stand-in for Stripe (as moto is for AWS), the way the
stack runs it: `python -m local.stripe --port N [--webhook URL]`.

Three changes to how its own `localstripe` command runs it:
- localstripe pickles its whole store to one fixed file in /tmp after every
  write (so a restart can resume). Each write then costs time that grows with
  the store (a sale's thousands of PaymentIntents made writes quadratic), and
  two stacks on one machine write the same file. Here the store lives in memory
  only, like the emulator's.
- it listens on every interface; here on HOST (127.0.0.1) only.
- it sends each event once and forgets it when the endpoint does not answer
  2xx; Stripe retries for up to three days. Here a failed delivery is retried
  with backoff (RETRY_DELAYS), so the local stack sees what production sees: a
  webhook that answered 503 (throttled, Stripe unreachable for a refund) comes
  back.
Its own `/_config/` namespace gains `GET /_config/deliveries`: how many events
are still to be delivered (waiting for their first attempt or a retry), so a
test that counts the API's requests can first wait for Stripe to go quiet.
With `--webhook`, Stripe's events are delivered to that URL, signed with
WEBHOOK_SECRET, as a Stripe dashboard's webhook endpoint would be.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import logging
import os
import urllib.parse
import urllib.request
from typing import Any

from aiohttp import web

logger = logging.getLogger("flashsale.localstripe")
SECRET_KEY = "sk_test_local"
WEBHOOK_SECRET = "whsec_local"
PUBLISHABLE_KEY = "pk_test_local"


def card_token(base: str, number: str) -> str:
    """The card id Stripe.js's createToken gives the browser for a test card
    (for the tests and benches that pay without one)."""
    form = urllib.parse.urlencode(
        {
            "card[number]": number,
            "card[exp_month]": "12",
            "card[exp_year]": "2031",
            "card[cvc]": "123",
            "key": PUBLISHABLE_KEY,
        }
    ).encode()
    with urllib.request.urlopen(f"{base}/v1/tokens", data=form) as answer:
        return str(json.loads(answer.read())["card"]["id"])


# Seconds before each delivery attempt (Stripe's first is at once; its retries
# stretch over days, these over a minute).
RETRY_DELAYS = (1.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)


async def _deliver(event: Any) -> None:
    """localstripe's webhook delivery (signed as Stripe signs), retried."""
    import aiohttp
    from localstripe import webhooks

    payload = json.dumps(event._export(), indent=2, sort_keys=True).encode()
    signed = b"%d.%s" % (event.created, payload)
    for hook in list(webhooks._webhooks.values()):
        if hook.events is not None and event.type not in hook.events:
            continue
        signature = hmac.new(hook.secret.encode(), signed, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": f"t={event.created},v1={signature}",
        }
        for delay in RETRY_DELAYS:
            await asyncio.sleep(delay)
            try:
                async with (
                    aiohttp.ClientSession() as session,
                    session.post(hook.url, data=payload, headers=headers) as answer,
                ):
                    if 200 <= answer.status < 300:
                        break
                    logger.warning("webhook %s answered %d", event.type, answer.status)
            except aiohttp.ClientError as exc:
                logger.warning("webhook %s not delivered: %s", event.type, exc)
        else:
            logger.error("webhook %s given up after %d attempts", event.type, len(RETRY_DELAYS))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--webhook", help="where Stripe's events go")
    args = parser.parse_args(argv)

    from localstripe import resources, server, webhooks

    resources.Store.dump_to_disk = lambda self: None  # see the module's comment

    pending: set[asyncio.Future[None]] = set()  # held until done, so none is collected

    def schedule(event: Any) -> None:
        task = asyncio.ensure_future(_deliver(event))
        pending.add(task)
        task.add_done_callback(pending.discard)

    # resources imported the function by name: replace it where it is called.
    webhooks.schedule_webhook = schedule
    resources.schedule_webhook = schedule

    async def deliveries(request: web.Request) -> web.Response:
        return web.json_response({"pending": len(pending)})

    server.app.router.add_get("/_config/deliveries", deliveries)
    if args.webhook:
        webhooks.register_webhook("flashsale", args.webhook, WEBHOOK_SECRET, None)
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
    web.run_app(server.app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
