"""Pay checkout on the local stack: punctual release, requests per paid order,
webhook throughput, and a sale where shoppers walk away (docs/payments.md).

Starts the whole local stack (emulator, localstripe, the API, the holds queue's
releasers) and prints four figures:

  requests   DynamoDB requests the API process sends per paid order (hold,
             /pay, webhook), counted by the emulator by app (AWS_SDK_UA_APP_ID).
  release    N holds that all end within one second (1,000, and first a
             burst the emulator can carry in a second): how late each was
             released (releasedAt - holdExpiresAt, as stored), p50/p99/max,
             and the release rate against the emulator's raw transactions.
             Holds last a whole number of minutes, and N holds cannot be placed
             within one second here, so this process places them with the
             order writer's clock set back (their holdExpiresAt fall in one
             second, a minute on) while the release messages are timed by the
             real clock; the stack's own releasers do the rest, unaided.
  webhook    N signed payment_intent.succeeded events POSTed to the API's
             webhook route from C threads, against N raw TransactWriteItems
             sent straight to the emulator (its ceiling) in the same run.
  race       B buyers for U units (one-minute holds); a fixed share never pays,
             the others pay at once; everyone not holding tries again every
             few seconds until the units are all sold or the deadline. Checks
             all U end sold, 0 oversold, 0 holds stuck past their time.

    make bench-holds   # or: .venv/bin/python -m bench.holds [--holds 1000] [--buyers 500]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import hmac
import json
import os
import random
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.config import Config

from bench.orders import Arm, drive, say
from local import client
from local import stripe as local_stripe
from local.launch import Ports, launched
from local.stack import ROOT, emulator_client, emulator_environment

GOOD_CARD = "4242424242424242"
BENCH_APP = "flashsale-bench"  # this process's DynamoDB requests, apart from the API's


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class Shop:
    """The running stack, as the bench reaches it."""

    def __init__(self, ports: Ports) -> None:
        self.ports = ports
        self.stripe = f"http://127.0.0.1:{ports.stripe}"
        self.env = emulator_environment(
            f"http://127.0.0.1:{ports.emulator}", app_id=BENCH_APP, stripe_base=self.stripe
        )
        os.environ.update(self.env)
        from chalicelib import observability, settings

        # This process places holds with the app's own code; its log is the stack's.
        observability.logger.setLevel("WARNING")
        self.config = settings.load(self.env)
        self.dynamodb = emulator_client(
            "dynamodb", self.env["AWS_ENDPOINT_URL"], config=Config(max_pool_connections=64)
        )

    def api(self, method: str, path: str, body: Any = None) -> client.Reply:
        return client.call("127.0.0.1", self.ports.api, method, path, body)

    def emulator(self, method: str, path: str, body: Any = None) -> Any:
        reply = client.call("127.0.0.1", self.ports.emulator, method, f"/_flashsale/{path}", body)
        return reply.body

    def product(self, product_id: str, stock: int, **fields: Any) -> None:
        body = {"name": "Holds bench", "price": 19.99, "stock": stock, "maxPerUser": 1, **fields}
        reply = self.api("PUT", f"/products/{product_id}", body)
        assert reply.status == 200, reply.body

    def card(self) -> str:
        """A card id, as Stripe.js's createToken gives the browser."""
        return local_stripe.card_token(self.stripe, GOOD_CARD)

    def pay(self, hold: dict[str, Any]) -> int:
        body = {
            "paymentMethod": self.card(),
            "paymentIntentId": hold["payment"]["paymentIntentId"],
        }
        return self.api("POST", f"/orders/{hold['orderId']}/pay", body).status

    def orders(self, product_id: str) -> list[dict[str, Any]]:
        """The product's orders, read straight from the table (not through the API,
        whose reads would release a hold lazily and hide a late release)."""
        pages = self.dynamodb.get_paginator("scan").paginate(
            TableName=self.config.orders_table,
            FilterExpression="productId = :p",
            ExpressionAttributeValues={":p": {"S": product_id}},
            ConsistentRead=True,
        )
        return [
            {k: next(iter(v.values())) for k, v in item.items()}
            for page in pages
            for item in page["Items"]
        ]

    def stock(self, product_id: str) -> int:
        """Units left: the product's own stock, or the sum over its shards."""
        pages = self.dynamodb.get_paginator("scan").paginate(
            TableName=self.config.products_table, ConsistentRead=True
        )
        items = [item for page in pages for item in page["Items"]]
        units = [
            int(item["stock"]["N"])
            for item in items
            if "stock" in item
            and (
                item["productId"]["S"] == product_id
                or item.get("shardOf", {}).get("S") == product_id
            )
        ]
        assert min(units) >= 0, units
        return sum(units)


# --- requests per paid order ------------------------------------------------------------


def requests_per_paid_order(shop: Shop, orders: int) -> tuple[float, dict[str, int]]:
    """`orders` shoppers each hold and pay; the API's DynamoDB requests per paid order."""
    product_id = f"paid-{uuid.uuid4().hex[:6]}"
    shop.product(product_id, orders, checkout="pay", holdMinutes=10)
    shop.emulator("POST", "stats/reset")

    def buy(i: int) -> int:
        reply = shop.api(
            "POST", "/orders", {"userId": f"payer-{i}", "productId": product_id, "quantity": 1}
        )
        assert reply.status == 201, reply.body
        return shop.pay(reply.body)

    arm = drive("paid", orders, 8, buy)
    assert arm.statuses == {200: orders}, arm.statuses
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        paid = [o for o in shop.orders(product_id) if o["status"] == "CONFIRMED"]
        if len(paid) == orders:
            break
        time.sleep(0.5)
    else:
        raise SystemExit(f"only {len(paid)} of {orders} paid orders confirmed within 60 s")
    calls: dict[str, int] = shop.emulator("GET", "stats")["dynamodbByApp"].get("flashsale-api", {})
    return sum(calls.values()) / orders, calls


# --- release lateness -------------------------------------------------------------------


def place_holds(
    shop: Shop, product_id: str, count: int, creation: datetime | None
) -> list[dict[str, str]]:
    """`count` holds placed in this process by the app's own checkout; with
    `creation`, the order writer's clock reads `creation` (plus up to a second),
    so that every hold ends within the same second."""
    from chalicelib import instants, wiring
    from chalicelib.delivery import Ledger
    from chalicelib.model import OrderRequest
    from chalicelib.payments.checkout import Checkout
    from chalicelib.payments.holds import HoldQueue

    real = instants.now
    config = wiring.config()
    checkout = Checkout(
        wiring.orders(),
        shop.dynamodb,
        config,
        wiring.gateway,
        HoldQueue(emulator_client("sqs", shop.env["AWS_ENDPOINT_URL"]), config.holds_queue_url),
        Ledger(shop.dynamodb, config.orders_table),
        now=real,  # the release message's delay is timed by the real clock
    )
    spread = random.Random(7)
    if creation is not None:
        start = creation
        instants.now = lambda: start + timedelta(seconds=spread.random())
    holds: list[dict[str, str]] = [{}] * count
    try:

        def one(i: int) -> int:
            request = OrderRequest(f"holder-{product_id}-{i}", product_id, 1)
            order = checkout.place(request).order
            assert order.status == "AWAITING_PAYMENT", order
            assert order.payment_intent_id is not None and order.hold_expires_at is not None
            holds[i] = {
                "orderId": order.order_id,
                "intent": order.payment_intent_id,
                "ends": instants.canonical(order.hold_expires_at),
            }
            return 201

        arm = drive("holds", count, 16, one)
    finally:
        instants.now = real
    say(f"placed {arm.accepted} holds in {arm.seconds:.1f} s ({arm.rate:.0f}/s)")
    return holds


def release_lateness(shop: Shop, count: int, lead: float) -> tuple[list[float], int, float]:
    """Lateness (s) of each of `count` holds ending in one second, `lead` s from
    now; how many were released; releases a second from the first end to the last."""
    from chalicelib import instants

    product_id = f"ends-{uuid.uuid4().hex[:6]}"
    shop.product(product_id, count, checkout="pay", holdMinutes=1)
    ends = instants.now() + timedelta(seconds=lead)
    ends = ends.replace(microsecond=0)
    holds = place_holds(shop, product_id, count, creation=ends - timedelta(minutes=1))
    assert all(h["ends"].startswith(instants.canonical(ends)[:19]) for h in holds)
    margin = (ends - instants.now()).total_seconds()
    if margin < 1:
        raise SystemExit(f"placing took too long: the holds end {-margin:.1f} s before it ended")
    say(f"{count} holds end in the second from {instants.canonical(ends)}; waiting {margin:.0f} s")
    time.sleep(margin)
    # Progress from the product's stock (a small table): scanning the orders
    # table each second would take the emulator's one lock from the releases
    # it is timing.
    deadline = time.monotonic() + 180
    while (back := shop.stock(product_id)) < count and time.monotonic() < deadline:
        say(f"released {back} of {count}")
        time.sleep(2)
    released = [o for o in shop.orders(product_id) if o["status"] == "RELEASED"]
    late = [
        (instants.parse(o["releasedAt"]) - instants.parse(o["holdExpiresAt"])).total_seconds()
        for o in released
    ]
    early = [s for s in late if s < 0]
    assert not early, f"{len(early)} holds released before their time"
    back = shop.stock(product_id)
    assert back == count, f"stock {back} after releasing {len(released)} of {count} holds"
    span = max(instants.parse(o["releasedAt"]) for o in released) - ends
    return late, len(released), len(released) / max(span.total_seconds(), 1e-3)


# --- webhook throughput -----------------------------------------------------------------


def signed(event: dict[str, Any]) -> tuple[bytes, str]:
    payload = json.dumps(event).encode()
    stamp = int(time.time())
    secret = local_stripe.WEBHOOK_SECRET.encode()
    mac = hmac.new(secret, f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, f"t={stamp},v1={mac}"


def webhook_arm(shop: Shop, count: int, concurrency: int) -> Arm:
    """`count` first-time payment_intent.succeeded events, each for its own hold.
    The events are the bench's (signed with the stack's webhook secret), so these
    orders are confirmed with no money taken: a throughput figure, nothing else."""
    product_id = f"hooks-{uuid.uuid4().hex[:6]}"
    shop.product(product_id, count, checkout="pay", holdMinutes=10)
    holds = place_holds(shop, product_id, count, creation=None)
    events = [
        signed(
            {
                "id": f"evt_bench_{i}",
                "type": "payment_intent.succeeded",
                "data": {
                    "object": {
                        "id": hold["intent"],
                        "object": "payment_intent",
                        "status": "succeeded",
                        "metadata": {"orderId": hold["orderId"]},
                    }
                },
            }
        )
        for i, hold in enumerate(holds)
    ]

    def one(i: int) -> int:
        payload, signature = events[i]
        request = urllib.request.Request(
            f"http://127.0.0.1:{shop.ports.api}/payments/stripe/webhook",
            data=payload,
            headers={"Content-Type": "application/json", "Stripe-Signature": signature},
        )
        with urllib.request.urlopen(request) as answer:
            return 201 if answer.status == 200 else int(answer.status)

    say(f"webhook: {count} signed events from {concurrency} threads")
    arm = drive("webhook", count, concurrency, one)
    confirmed = sum(1 for o in shop.orders(product_id) if o["status"] == "CONFIRMED")
    assert confirmed == count, f"{confirmed} of {count} confirmed by their webhook"
    return arm


def raw_arm(shop: Shop, count: int, concurrency: int) -> Arm:
    """`count` TransactWriteItems of the order writer's shape, straight to the emulator."""
    from chalicelib import instants, wiring
    from chalicelib.model import Order, OrderRequest
    from chalicelib.orders.transactions import order_items

    product_id = f"raw-{uuid.uuid4().hex[:6]}"
    shop.product(product_id, count, shards=1)
    catalog = wiring.catalog()
    product = catalog.get(product_id)
    shape = functools.partial(order_items, shop.config)

    def one(i: int) -> int:
        request = OrderRequest(f"raw-{i}", product_id, 1)
        moment = instants.now()
        order = Order.confirm(str(uuid.uuid4()), request, product, moment, ((product_id, 1),))
        shop.dynamodb.transact_write_items(TransactItems=shape(order, product, moment))
        return 201

    say(f"raw: {count} TransactWriteItems from {concurrency} threads")
    return drive("raw", count, concurrency, one)


# --- the race ---------------------------------------------------------------------------


def race(shop: Shop, buyers: int, units: int, walk: float, minutes: float) -> dict[str, Any]:
    """`buyers` race for `units`; a `walk` share of them never pays."""
    product_id = f"race-{uuid.uuid4().hex[:6]}"
    shop.product(product_id, units, checkout="pay", holdMinutes=1)
    chooser = random.Random(11)
    walkers = set(chooser.sample(range(buyers), round(buyers * walk)))
    done = threading.Event()
    tally: Counter[str] = Counter()
    lock = threading.Lock()
    started = time.monotonic()

    def shopper(i: int) -> None:
        jitter = random.Random(i)
        while not done.is_set():
            body = {"userId": f"buyer-{i}", "productId": product_id, "quantity": 1}
            reply = shop.api("POST", "/orders", body)
            with lock:
                tally[f"POST /orders {reply.status}"] += 1
            if reply.status == 201:
                if i in walkers:
                    return  # holds the units and walks away
                status = shop.pay(reply.body)
                with lock:
                    tally[f"pay {status}"] += 1
                if status == 200:
                    return
            wait = float(reply.headers.get("retry-after", 0)) if reply.status == 503 else 0
            done.wait(max(wait, jitter.uniform(2, 4)))

    say(f"race: {buyers} buyers, {units} units, {len(walkers)} never pay, one-minute holds")
    with ThreadPoolExecutor(64) as pool:
        for i in range(buyers):
            pool.submit(shopper, i)
        deadline = started + minutes * 60
        while time.monotonic() < deadline:
            stored = shop.orders(product_id)
            states = Counter(o["status"] for o in stored)
            say(f"{time.monotonic() - started:5.0f} s: {dict(states)}")
            if states["CONFIRMED"] >= units:
                break
            time.sleep(5)
        done.set()
    seconds = time.monotonic() - started
    time.sleep(2)  # a payment in flight at the end lands
    from chalicelib import instants

    stored = shop.orders(product_id)
    states = Counter(o["status"] for o in stored)
    now = instants.now()
    stuck = [
        o
        for o in stored
        if o["status"] == "AWAITING_PAYMENT"
        and (now - instants.parse(o["holdExpiresAt"])).total_seconds() > 5
    ]
    sold = sum(int(o["quantity"]) for o in stored if o["status"] == "CONFIRMED")
    holding = sum(int(o["quantity"]) for o in stored if o["status"] == "AWAITING_PAYMENT")
    left = shop.stock(product_id)
    return {
        "seconds": seconds,
        "sold": sold,
        "holding": holding,
        "left": left,
        "oversold": max(0, sold + holding - units),
        "balanced": units - left == sold + holding,
        "stuck": len(stuck),
        "states": dict(states),
        "requests": dict(tally),
    }


def release_figures(late: list[float], released: int, holds: int, rate: float = 0) -> str:
    figures = (
        f"release: {released} of {holds} holds ending in one second released; "
        f"late p50 {percentile(late, 50) * 1000:.0f} ms, p99 {percentile(late, 99) * 1000:.0f} ms,"
        f" max {max(late) * 1000:.0f} ms (target p99 <= 5 s, goal 1 s)"
    )
    return figures + (f"; {rate:.1f} holds/s" if rate else "")


def main() -> None:
    parser = argparse.ArgumentParser(description="FlashSale pay checkout bench")
    parser.add_argument("--holds", type=int, default=1000, help="holds ending in one second")
    parser.add_argument(
        "--small", type=int, default=100, help="a burst the emulator can carry in a second"
    )
    parser.add_argument("--paid", type=int, default=100, help="paid orders counted")
    parser.add_argument("--events", type=int, default=1000, help="webhook events")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--buyers", type=int, default=500)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--walk", type=float, default=0.3, help="share that never pays")
    parser.add_argument("--minutes", type=float, default=10, help="the race's deadline")
    parser.add_argument(
        "--only", choices=["release"], help="just this case (the release: for working on it)"
    )
    args = parser.parse_args()
    log = Path(ROOT, "build", "bench-holds.log")
    say(f"starting the local stack (log: {log.relative_to(ROOT)})")
    with launched(log, seconds=120) as ports:
        shop = Shop(ports)
        if args.only == "release":
            late, released, rate = release_lateness(shop, args.holds, lead=30 + args.holds / 25)
            print(release_figures(late, released, args.holds, rate))
            sys.exit(0 if released == args.holds else 1)
        say(f"requests: {args.paid} shoppers hold and pay")
        per_order, calls = requests_per_paid_order(shop, args.paid)
        say(f"webhook arm, then the raw arm ({args.events} each)")
        hooks = webhook_arm(shop, args.events, args.concurrency)
        raw = raw_arm(shop, args.events, args.concurrency)
        # Placing N holds here takes N / (holds/s); the lead leaves room for it.
        small, _, _ = release_lateness(shop, args.small, lead=30 + args.small / 25)
        late, released, rate = release_lateness(shop, args.holds, lead=30 + args.holds / 25)
        outcome = race(shop, args.buyers, args.units, args.walk, args.minutes)

    print(f"DynamoDB requests per paid order (API process): {per_order:.2f} {calls}")
    print(release_figures(late, released, args.holds))
    print(
        f"release: {args.small} holds ending in one second: late p50 "
        f"{percentile(small, 50) * 1000:.0f} ms, p99 {percentile(small, 99) * 1000:.0f} ms, "
        f"max {max(small) * 1000:.0f} ms"
    )
    print(
        f"release rate: {rate:.1f} holds/s from the first end to the last release; "
        f"raw TransactWriteItems on this emulator: {raw.rate:.1f}/s (ratio {rate / raw.rate:.2f})"
    )
    print(f"{'arm':<8} {'done':>6} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for arm in (hooks, raw):
        print(
            f"{arm.name:<8} {arm.accepted:>6} {arm.rate:>8.1f} {arm.percentile(50):>8.1f}"
            f" {arm.percentile(99):>8.1f}  {arm.statuses}"
        )
    print(f"webhook/raw throughput: {hooks.rate / raw.rate:.2f}")
    print(
        f"race: {args.buyers} buyers, {args.units} units, {args.walk:.0%} never pay: "
        f"{outcome['sold']} sold, {outcome['oversold']} oversold, {outcome['stuck']} stuck, "
        f"{outcome['left']} left, {outcome['holding']} held at the end, stock balanced "
        f"{outcome['balanced']}, in {outcome['seconds']:.0f} s; orders {outcome['states']}; "
        f"requests {outcome['requests']}"
    )
    ok = (
        outcome["sold"] == args.units
        and outcome["oversold"] == 0
        and outcome["stuck"] == 0
        and outcome["balanced"]
        and released == args.holds
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
