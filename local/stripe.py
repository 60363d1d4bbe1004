"""localstripe, the local stand-in for Stripe (as moto is for AWS), the way the
stack runs it: `python -m local.stripe --port N [--webhook URL]`.

Two changes to how its own `localstripe` command runs it, both measured:
- localstripe pickles its whole store to one fixed file in /tmp after every
  write (so a restart can resume). Each write then costs time that grows with
  the store (a sale's thousands of PaymentIntents made writes quadratic), and
  two stacks on one machine write the same file. Here the store lives in memory
  only, like the emulator's.
- it listens on every interface; here on HOST (127.0.0.1) only.
With `--webhook`, Stripe's events are delivered to that URL, signed with
WEBHOOK_SECRET, as a Stripe dashboard's webhook endpoint would be.
"""

from __future__ import annotations

import argparse
import logging
import os

from aiohttp import web

SECRET_KEY = "sk_test_local"
WEBHOOK_SECRET = "whsec_local"
PUBLISHABLE_KEY = "pk_test_local"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--webhook", help="where Stripe's events go")
    args = parser.parse_args(argv)

    from localstripe import resources, server, webhooks

    resources.Store.dump_to_disk = lambda self: None  # see the module's comment
    if args.webhook:
        webhooks.register_webhook("flashsale", args.webhook, WEBHOOK_SECRET, None)
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
    web.run_app(server.app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
