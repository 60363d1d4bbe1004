"""Flash-sale figures from the local stack: what a sale's storms cost DynamoDB.

  catalog   DynamoDB requests per 1,000 GET /products (1 s in-container cache)
  sold out  DynamoDB requests per 1,000 POST /orders for a sold-out product
            (without and with an Idempotency-Key)
  shards    one hot product, 1 shard vs 8, under the emulator's hot-item
            conflict model: TransactionConflicts, BUSY answers and orders/s

Requests are counted at the emulator, per client (the app's User-Agent app id).

    .venv/bin/python -m bench.flash [--requests 1000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.orders import drive, emulator, process, say, wait_until
from local import client
from local.launch import free_port
from local.stack import emulator_environment

APP_ID = "flashsale-bench"


@contextmanager
def api() -> Iterator[tuple[int, dict[str, str], Any]]:
    with emulator(stock=0) as env:
        env = {**env, **emulator_environment(env["AWS_ENDPOINT_URL"], app_id=APP_ID)}
        port = free_port()
        args = [sys.executable, "-m", "local.api", "local", "--stage", "local", "--no-autoreload"]
        with process([*args, "--port", str(port)], env):
            wait_until(
                lambda: client.call("127.0.0.1", port, "GET", "/health").status == 200, "API"
            )
            endpoint = env["AWS_ENDPOINT_URL"].rsplit(":", 1)[1]

            def admin(method: str, path: str, body: Any = None) -> Any:
                return client.call(
                    "127.0.0.1", int(endpoint), method, f"/_flashsale/{path}", body
                ).body

            yield port, env, admin


def requests_made(admin: Any) -> int:
    return sum(admin("GET", "stats")["dynamodbByApp"].get(APP_ID, {}).values())


def main() -> None:
    parser = argparse.ArgumentParser(description="FlashSale flash-sale figures")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--hot-window-ms", type=float, default=5.0)
    args = parser.parse_args()
    n, c = args.requests, args.concurrency
    rows: list[str] = []

    with api() as (port, _env, admin):

        def call(method: str, path: str, body: Any = None, **headers: str) -> int:
            return client.call("127.0.0.1", port, method, path, body, headers).status

        call("PUT", "/products/gone", {"name": "Gone", "price": 5, "stock": 1})
        call("POST", "/orders", {"userId": "first", "productId": "gone", "quantity": 1})

        say(f"catalog: {n} GET /products from {c} threads")
        admin("POST", "stats/reset")
        arm = drive("catalog", n, c, lambda i: call("GET", "/products"))
        rows.append(
            f"GET /products: {requests_made(admin) * 1000 / n:.1f} DynamoDB requests per 1,000 "
            f"({arm.statuses}, {n / arm.seconds:.0f} req/s)"
        )

        # The first round starts cold: the requests in flight when the container
        # learns the product is gone all reach DynamoDB. The second is steady state.
        rounds = ((False, "no key, cold"), (False, "no key, warm"), (True, "Idempotency-Key"))
        for keyed, label in rounds:
            say(f"sold out ({label}): {n} POST /orders from {c} threads")
            admin("POST", "stats/reset")

            def buy(i: int, keyed: bool = keyed) -> int:
                headers = {"Idempotency-Key": str(uuid.uuid4())} if keyed else {}
                body = {"userId": f"late-{i}", "productId": "gone", "quantity": 1}
                return call("POST", "/orders", body, **headers)

            arm = drive("sold-out", n, c, buy)
            stats = admin("GET", "stats")["dynamodbByApp"].get(APP_ID, {})
            rows.append(
                f"sold-out orders ({label}): {sum(stats.values()) * 1000 / n:.1f} DynamoDB "
                f"requests per 1,000 {stats} ({arm.statuses})"
            )

    for shards in (1, 8):
        with api() as (port, _env, admin):

            def call(method: str, path: str, body: Any = None, **headers: str) -> int:
                return client.call("127.0.0.1", port, method, path, body, headers).status

            call("PUT", "/products/hot", {"name": "Hot", "price": 5, "stock": n, "shards": shards})
            admin("PUT", "faults", {"hotItemWindowMs": args.hot_window_ms})
            admin("POST", "stats/reset")
            say(f"shards={shards}: {n} orders, {c} threads, hot window {args.hot_window_ms} ms")

            def order(i: int) -> int:
                body = {"userId": f"s{i}", "productId": "hot", "quantity": 1}
                return call("POST", "/orders", body)

            arm = drive(f"shards-{shards}", n, c, order)
            conflicts = admin("GET", "stats")["transactionConflictsInjected"]
            rows.append(
                f"shards={shards}: {arm.accepted} sold, {conflicts} TransactionConflicts "
                f"({conflicts * 1000 / n:.0f} per 1,000 orders), {arm.statuses.get(503, 0)} BUSY, "
                f"{arm.rate:.1f} orders/s, p99 {arm.percentile(99):.0f} ms"
            )

    print(f"requests: {n}, concurrency: {c}")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
