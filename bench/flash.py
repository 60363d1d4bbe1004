"""Flash-sale figures from the local stack, all in one run.

  catalog     DynamoDB requests per 1,000 GET /products (1 s in-container cache)
  sold out    DynamoDB requests (all, and on the Products table: the hot items)
              per 1,000 POST /orders for a sold-out product, cold and warm, and
              with an Idempotency-Key
  64/32/30    64 units over 32 shards, 30 concurrent buyers asking 3-9 units
  500/300/32  500 buyers asking 1-3 units for 300 units over 32 shards
  sweep       shard counts 1-32, a sale sold to the last unit: DynamoDB requests
              per order request (any outcome), TransactWriteItems per accepted order
  hot item    the emulator's hot-item conflict model (a transaction naming an
              item written < 5 ms ago is cancelled): a product created with
              defaults vs the same product on 1 shard, 600 units, 800 buyers,
              64 at a time: BUSY rate and orders/s; and the default product with
              no conflict model, the emulator's own ceiling on this machine

"BUSY while covered" counts 503s given while the stock left at the end of the
round (it only ever falls) still covered the request: the target is 0.
Requests are counted at the emulator, per client (the API's User-Agent app id).

    .venv/bin/python -m bench.flash [--requests 1000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import functools
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, NamedTuple

from bench.orders import Arm, drive, emulator, process, say, wait_until
from chalicelib import catalog
from local import client
from local.launch import free_port
from local.stack import emulator_client, emulator_environment

APP_ID = "flashsale-bench"
PRODUCTS = "flashsale-local-products"


class Api(NamedTuple):
    ports: list[int]  # one `chalice local` process per port: containers, as on Lambda
    admin: Callable[..., Any]
    dynamodb: Any  # the emulator, read directly (the API's answers are cached)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        via: int = 0,
        headers: dict[str, str] | None = None,
    ) -> client.Reply:
        port = self.ports[via % len(self.ports)]
        return client.call("127.0.0.1", port, method, path, body, headers)

    def requests(self) -> dict[str, int]:
        """DynamoDB requests the API made since the last reset, by operation."""
        stats = self.admin("GET", "stats")
        return dict(stats["dynamodbByApp"].get(APP_ID, {}))

    def hot_requests(self) -> int:
        """The API's requests that named the Products table (the hot items)."""
        tables = self.admin("GET", "stats")["dynamodbByAppTable"].get(APP_ID, {})
        return sum(tables.get(PRODUCTS, {}).values())


def healthy(port: int) -> bool:
    return client.call("127.0.0.1", port, "GET", "/health").status == 200


@contextmanager
def api(containers: int = 1) -> Iterator[Api]:
    """A fresh emulator and `containers` `chalice local` processes on it, each with
    its own caches and stock hints, as separate Lambda containers have."""
    with emulator(stock=0) as env, ExitStack() as stack:
        env = {**env, **emulator_environment(env["AWS_ENDPOINT_URL"], app_id=APP_ID)}
        ports = [free_port() for _ in range(containers)]
        args = [sys.executable, "-m", "local.api", "local", "--stage", "local", "--no-autoreload"]
        for port in ports:
            stack.enter_context(process([*args, "--port", str(port)], env))
        for port in ports:
            wait_until(functools.partial(healthy, port), "API")
        endpoint = int(env["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])

        def admin(method: str, path: str, body: Any = None) -> Any:
            return client.call("127.0.0.1", endpoint, method, f"/_flashsale/{path}", body).body

        yield Api(ports, admin, emulator_client("dynamodb", env["AWS_ENDPOINT_URL"]))


class Sale(NamedTuple):
    """One round of buyers against one product, and what it cost."""

    arm: Arm
    wanted: list[int]
    codes: list[str]
    stock_left: int
    requests: dict[str, int]

    @property
    def busy(self) -> int:
        return self.arm.statuses.get(503, 0)

    @property
    def busy_while_covered(self) -> int:
        return sum(
            1
            for code, quantity in zip(self.codes, self.wanted, strict=True)
            if code == "BUSY" and quantity <= self.stock_left
        )

    @property
    def per_request(self) -> float:
        return sum(self.requests.values()) / len(self.wanted)

    @property
    def writes_per_accepted(self) -> float:
        return self.requests.get("TransactWriteItems", 0) / max(self.arm.accepted, 1)

    def line(self, label: str) -> str:
        return (
            f"{label}: {self.arm.accepted} accepted of {len(self.wanted)}, "
            f"{self.busy} BUSY ({self.busy_while_covered} while stock covered it), "
            f"{self.stock_left} units left, {self.per_request:.2f} DynamoDB requests per "
            f"order request, {self.writes_per_accepted:.2f} TransactWriteItems per accepted "
            f"order, {self.arm.rate:.1f} orders/s, p99 {self.arm.percentile(99):.0f} ms"
        )


def sell(
    service: Api,
    body: dict[str, Any],
    wanted: list[int],
    concurrency: int,
    faults: dict[str, Any] | None = None,
) -> Sale:
    """Create a product, then let `len(wanted)` buyers ask for `wanted[i]` units."""
    product_id = f"p-{uuid.uuid4().hex[:8]}"
    assert service.call("PUT", f"/products/{product_id}", body).status == 200
    service.admin("PUT", "faults", faults or {})
    service.admin("POST", "stats/reset")
    codes = [""] * len(wanted)

    def buy(i: int) -> int:
        order = {"userId": f"buyer-{i}", "productId": product_id, "quantity": wanted[i]}
        reply = service.call("POST", "/orders", order, via=i)
        codes[i] = "" if reply.status == 201 else reply.body["code"]
        return reply.status

    arm = drive(product_id, len(wanted), concurrency, buy)
    requests = service.requests()
    service.admin("PUT", "faults", {})
    snapshot = catalog.read(service.dynamodb, PRODUCTS, product_id)
    assert snapshot is not None
    left = sum(snapshot.stocks.values())
    return Sale(arm, wanted, codes, left, requests)


def the_two_sales(service: Api, rounds: int, label: str, concurrency: int) -> list[str]:
    """The issue's two sharded sales: 64 units over 32 shards for 30 buyers asking
    3-9 (`rounds` times), then 500 buyers asking 1-3 for 300 units over 32 shards."""
    rows = []
    for round_ in range(rounds):
        sale = sell(
            service,
            {"name": "Tiny", "price": 5, "stock": 64, "shards": 32},
            [3 + (i * 5 + round_) % 7 for i in range(30)],
            30,
        )
        rows.append(sale.line(f"64/32/30{label} round {round_ + 1}"))
    say(f"500 buyers asking 1-3 units, 300 units over 32 shards{label}")
    sale = sell(
        service,
        {"name": "Doorbuster", "price": 5, "stock": 300, "shards": 32},
        [1 + i % 3 for i in range(500)],
        concurrency,
    )
    rows.append(sale.line(f"500/300/32{label}"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description="FlashSale flash-sale figures")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--hot-window-ms", type=float, default=5.0)
    parser.add_argument("--containers", type=int, default=4)
    args = parser.parse_args()
    n, c = args.requests, args.concurrency
    rows: list[str] = []

    with api() as service:
        service.call("PUT", "/products/gone", {"name": "Gone", "price": 5, "stock": 1})
        service.call("POST", "/orders", {"userId": "first", "productId": "gone", "quantity": 1})

        say(f"catalog: {n} GET /products from {c} threads")
        service.admin("POST", "stats/reset")
        arm = drive("catalog", n, c, lambda i: service.call("GET", "/products").status)
        rows.append(
            f"GET /products: {sum(service.requests().values()) * 1000 / n:.1f} DynamoDB "
            f"requests per 1,000 ({arm.statuses}, {n / arm.seconds:.0f} req/s)"
        )
        # The first round starts cold: the container has not yet been told the
        # product is gone. The second is steady state; the third carries keys.
        rounds = ((False, "no key, cold"), (False, "no key, warm"), (True, "Idempotency-Key"))
        for keyed, label in rounds:
            say(f"sold out ({label}): {n} POST /orders from {c} threads")
            service.admin("POST", "stats/reset")

            def late(i: int, keyed: bool = keyed) -> int:
                headers = {"Idempotency-Key": str(uuid.uuid4())} if keyed else {}
                body = {"userId": f"late-{i}", "productId": "gone", "quantity": 1}
                return service.call("POST", "/orders", body, headers=headers).status

            arm = drive("sold-out", n, c, late)
            rows.append(
                f"sold out ({label}): {service.hot_requests() * 1000 / n:.1f} hot-item "
                f"requests per 1,000, {sum(service.requests().values()) * 1000 / n:.1f} in all "
                f"{service.requests()} ({arm.statuses})"
            )

        say("64 units over 32 shards, 30 concurrent buyers asking 3-9 units (5 rounds)")
        rows.extend(the_two_sales(service, 5, "", c))

    with api(containers=args.containers) as service:
        say(f"the same two sales through {args.containers} containers (their hints differ)")
        rows.extend(the_two_sales(service, 3, f" ({args.containers} containers)", c))

    with api() as service:
        say("shard sweep: 200 units sold to the last unit, 200 buyers asking 1-3")
        for shards in (1, 2, 4, 8, 16, 32):
            sale = sell(
                service,
                {"name": "Sweep", "price": 5, "stock": 200, "shards": shards},
                [1 + (i * 7) % 3 for i in range(200)],
                c,
            )
            rows.append(sale.line(f"sweep shards={shards:>2}"))

    # Its own API, so no rejection tally from the rounds before flushes into it.
    with api() as service:
        say("unsharded, uncontended: 200 orders one at a time")
        sale = sell(
            service,
            {"name": "Calm", "price": 5, "stock": 200, "shards": 1},
            [1] * 200,
            1,
        )
        rows.append(
            f"unsharded, uncontended: {sum(sale.requests.values()) / max(sale.arm.accepted, 1):.3f}"
            f" DynamoDB requests per accepted order, {sale.writes_per_accepted:.2f}"
            f" TransactWriteItems {sale.requests}"
        )

    hot: dict[str, Sale] = {}
    hot_faults = {"hotItemWindowMs": args.hot_window_ms}
    # The third round is the same default product with no conflict model: what
    # this emulator on this machine can do at all, the ceiling any ratio meets.
    hot_rounds: tuple[tuple[str, int | None, dict[str, Any]], ...] = (
        ("created with defaults", None, hot_faults),
        ("1 shard", 1, hot_faults),
        ("created with defaults, no hot-item model", None, {}),
    )
    for label, hot_shards, faults in hot_rounds:
        with api() as service:
            body: dict[str, Any] = {"name": "Hot", "price": 5, "stock": 600}
            if hot_shards is not None:
                body["shards"] = hot_shards
            window = f"{args.hot_window_ms} ms window" if faults else "no window"
            say(f"hot item ({label}): 800 buyers, 64 at a time, {window}")
            sale = sell(service, body, [1] * 800, 64, faults)
            hot[label] = sale
            rows.append(
                sale.line(f"hot item, {label}")
                + f", BUSY {sale.busy * 100 / len(sale.wanted):.1f}% of requests"
            )
    defaults, one = hot["created with defaults"].arm.rate, hot["1 shard"].arm.rate
    ceiling = hot["created with defaults, no hot-item model"].arm.rate
    rows.append(f"hot item: defaults / 1 shard orders/s = {defaults / one:.2f}")
    rows.append(
        f"hot item: defaults reach {defaults / ceiling:.2f} of the emulator's conflict-free"
        f" rate ({ceiling:.1f} orders/s = {ceiling / one:.2f}x the 1-shard figure)"
    )

    print(f"requests: {n}, concurrency: {c}")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
