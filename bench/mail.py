"""How long the shopper-email queue takes to drain, locally.

Starts the whole local stack (its mailers pace themselves at SES_MAX_SEND_RATE
shared by MAILER_MAX_CONCURRENCY workers, as deployed), places N orders from N
shoppers with addresses as fast as it can, then times until SES has taken N
emails; checks each address got exactly one.

    .venv/bin/python -m bench.mail [--orders 1000] [--rate 14]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from bench.orders import drive, say
from local import client
from local.launch import launched
from local.mail import SentMail
from local.stack import ROOT


def main() -> None:
    parser = argparse.ArgumentParser(description="FlashSale email drain time")
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=14.0, help="SES_MAX_SEND_RATE")
    parser.add_argument("--concurrency", type=int, default=2, help="MAILER_MAX_CONCURRENCY")
    args = parser.parse_args()
    n = args.orders
    extra = {"SES_MAX_SEND_RATE": str(args.rate), "MAILER_MAX_CONCURRENCY": str(args.concurrency)}
    log = Path(ROOT, "build", "bench-mail.log")
    with launched(log, extra=extra) as ports:
        api = ("127.0.0.1", ports.api)
        body = {"name": "Mail bench", "price": 5, "stock": n}
        assert client.call(*api, "PUT", "/products/mail-bench", body).status == 200
        outbox = SentMail(f"http://127.0.0.1:{ports.emulator}")
        say(f"{n} orders from {n} shoppers with addresses")
        started = time.monotonic()

        def buy(i: int) -> int:
            order = {"userId": f"m{i}@example.com", "productId": "mail-bench", "quantity": 1}
            return client.call(*api, "POST", "/orders", order).status

        arm = drive("orders", n, 16, buy)
        placed = time.monotonic() - started
        say(f"placed {arm.accepted} in {placed:.1f} s; waiting for SES to take them")
        # Progress from the stack's own log, which prints each email as SES takes
        # it: data.json serialises every backend under the emulator's one lock,
        # and polling it each second slowed this very drain by half.
        while time.monotonic() - started < n / args.rate * 3 + 120:
            if log.read_text().count('"Order Placed Successfully" (order') >= arm.accepted:
                break
            time.sleep(1)
        drained = time.monotonic() - started
        sent = [m for m in outbox.all() if m["subject"] == "Order Placed Successfully"]
    per_address = Counter(address for mail in sent for address in mail["to"])
    print(f"orders: {arm.accepted} placed in {placed:.1f} s ({arm.statuses})")
    print(
        f"emails: {len(sent)} sent, {drained:.1f} s from the first order to the last email "
        f"({len(sent) / drained:.1f}/s; SES_MAX_SEND_RATE {args.rate}, "
        f"{args.concurrency} mailers)"
    )
    print(
        f"addresses with exactly one email: {sum(1 for c in per_address.values() if c == 1)}; "
        f"with more: {sum(1 for c in per_address.values() if c > 1)}"
    )


if __name__ == "__main__":
    main()
