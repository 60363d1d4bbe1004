"""Order throughput through the HTTP API against the local stack.

Runs two arms, each on a fresh emulator with the same product and load:
  raw  N TransactWriteItems of the app's exact shape, sent by boto3 straight to
       the emulator from C threads: the emulator's own ceiling;
  app  N POST /orders through chalice local's server from C threads.
Prints orders/s, p50/p99 latency, DynamoDB requests per accepted order (counted
in the app process with botocore events) and the app/raw throughput ratio.

    make bench            # or: .venv/bin/python -m bench.orders --orders 1000 --concurrency 32
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from botocore.config import Config

from chalicelib import instants, settings
from chalicelib.catalog import Catalog
from chalicelib.model import Order, OrderRequest
from chalicelib.orders.transactions import order_items
from chalicelib.validation import product_from_dict
from local import client, resources
from local.launch import free_port
from local.stack import ROOT, emulator_client, emulator_environment, port_free

PRODUCT = "bench-item"


@dataclass
class Arm:
    name: str
    seconds: float
    latencies: list[float]
    accepted: int
    statuses: dict[int, int]

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def say(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def wait_until(check: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{what} did not start within {seconds:.0f}s")


@contextmanager
def process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    # Their access logs would drown the figures; their exit status still counts.
    child = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield child
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()


@contextmanager
def emulator(stock: int) -> Iterator[dict[str, str]]:
    """A fresh emulator process with the tables and one product of `stock` units."""
    port = free_port()
    env = emulator_environment(f"http://127.0.0.1:{port}")
    with process([sys.executable, "-m", "local.emulator", "--port", str(port)], env):
        wait_until(lambda: not port_free("127.0.0.1", port), "emulator")
        config = settings.load(env)
        dynamodb = emulator_client("dynamodb", env["AWS_ENDPOINT_URL"])
        resources.create_tables(dynamodb, config)
        # One stock item: the uncontended figure is about the order path, not shards.
        body = {
            "name": "Bench item",
            "price": Decimal("19.99"),
            "stock": stock,
            "maxPerUser": 5,
            "shards": 1,
        }
        Catalog(dynamodb, config.products_table).put(product_from_dict(PRODUCT, body))
        yield env


def drive(name: str, count: int, concurrency: int, one: Callable[[int], int]) -> Arm:
    """Run `one(i)` for i < count from `concurrency` threads; time each call."""
    latencies: list[float] = [0.0] * count
    statuses: list[int] = [0] * count
    gate = threading.Barrier(concurrency + 1)
    cursor = iter(range(count))
    cursor_lock = threading.Lock()

    def worker() -> None:
        gate.wait()
        while True:
            with cursor_lock:
                i = next(cursor, None)
            if i is None:
                return
            started = time.perf_counter()
            statuses[i] = one(i)
            latencies[i] = time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        workers = [pool.submit(worker) for _ in range(concurrency)]
        gate.wait()
        started = time.perf_counter()
    seconds = time.perf_counter() - started
    for finished in workers:
        finished.result()  # a worker's exception fails the run, loudly
    tally: dict[int, int] = {}
    for status in statuses:
        tally[status] = tally.get(status, 0) + 1
    return Arm(name, seconds, latencies, tally.get(201, 0), tally)


def raw_arm(count: int, concurrency: int) -> Arm:
    with emulator(stock=count) as env:
        config = settings.load(env)
        dynamodb = emulator_client(
            "dynamodb", env["AWS_ENDPOINT_URL"], config=Config(max_pool_connections=concurrency)
        )
        catalog = Catalog(dynamodb, config.products_table)
        product = catalog.get(PRODUCT)
        # The very transaction the app builds, without HTTP, Chalice or validation.

        def one(i: int) -> int:
            request = OrderRequest(f"shopper-{i}", PRODUCT, 1)
            moment = instants.now()
            order = Order.confirm(str(uuid.uuid4()), request, product, moment, ((PRODUCT, 1),))
            items = order_items(config, order, product, moment)
            dynamodb.transact_write_items(TransactItems=items)
            return 201

        say(f"raw: {count} TransactWriteItems from {concurrency} threads")
        return drive("raw", count, concurrency, one)


def app_arm(count: int, concurrency: int) -> tuple[Arm, dict[str, int]]:
    with emulator(stock=count) as env, tempfile.TemporaryDirectory() as scratch:
        port = free_port()
        counts_file = Path(scratch, "counts.json")
        args = [sys.executable, "-m", "bench.app_server", "--port", str(port)]
        with process([*args, "--counts", str(counts_file)], env) as server:
            wait_until(
                lambda: client.call("127.0.0.1", port, "GET", "/health").status == 200, "API"
            )

            def one(i: int) -> int:
                body = {"userId": f"shopper-{i}", "productId": PRODUCT, "quantity": 1}
                return client.call("127.0.0.1", port, "POST", "/orders", body).status

            say(f"app: {count} POST /orders from {concurrency} threads")
            arm = drive("app", count, concurrency, one)
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=20)
        return arm, json.loads(counts_file.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description="FlashSale order throughput")
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    os.environ.update(emulator_environment("http://127.0.0.1:1"))

    raw = raw_arm(args.orders, args.concurrency)
    app, calls = app_arm(args.orders, args.concurrency)

    print(f"orders: {args.orders}, concurrency: {args.concurrency}")
    print(f"{'arm':<4} {'accepted':>8} {'orders/s':>9} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for arm in (raw, app):
        print(
            f"{arm.name:<4} {arm.accepted:>8} {arm.rate:>9.1f} {arm.percentile(50):>8.1f}"
            f" {arm.percentile(99):>8.1f}  {arm.statuses}"
        )
    requests = sum(calls.values())
    print(f"app DynamoDB requests: {requests} {calls}")
    print(f"DynamoDB requests per accepted order: {requests / max(app.accepted, 1):.3f}")
    print(f"app/raw throughput: {app.rate / raw.rate:.2f}")


if __name__ == "__main__":
    main()
