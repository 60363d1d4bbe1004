"""Start the real local stack (`python -m local.stack`) once for these tests.

Every test here is marked `stack` (tests/lanes.py)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from chalicelib import settings
from local import client
from local.launch import launched
from local.stack import ROOT, emulator_client, emulator_environment
from tests.lanes import folder_marker

pytest_collection_modifyitems = folder_marker(__file__, "stack")


class Stack:
    """The running stack: HTTP helpers for the API and boto3 for the emulator."""

    host = "127.0.0.1"

    def __init__(
        self, api_port: int, emulator_port: int, ui_port: int, stripe_port: int = 0
    ) -> None:
        self.api_port = api_port
        self.stripe_port = stripe_port
        self.stripe_url = f"http://{self.host}:{stripe_port}"  # localstripe
        self.ui_url = f"http://{self.host}:{ui_port}"
        self.emulator_port = emulator_port
        self.endpoint = f"http://{self.host}:{emulator_port}"
        self.dynamodb = emulator_client("dynamodb", self.endpoint)
        self.config = settings.load(emulator_environment(self.endpoint))

    def client(self, service: str) -> Any:
        """A boto3 client for the stack's emulator."""
        return emulator_client(service, self.endpoint)

    def api(self, method: str, path: str, body: Any = None, **headers: str) -> client.Reply:
        return client.call(self.host, self.api_port, method, path, body, headers)

    def emulator(self, method: str, path: str, body: Any = None) -> client.Reply:
        """One call to the emulator's admin API, which must succeed: a test once
        sent POST faults, was answered 404 and ran without the faults it named."""
        reply = client.call(self.host, self.emulator_port, method, f"/_flashsale/{path}", body)
        assert reply.status < 300, (method, path, reply.status, reply.body)
        return reply

    @contextmanager
    def faults(self, **faults: Any) -> Iterator[dict[str, int]]:
        """The emulator injects `faults` for the block, cleared even when it
        fails. Yields its count of faults injected, filled in as the block ends;
        the stats are reset first, so an earlier test's faults are not counted."""
        injected: dict[str, int] = {}
        self.emulator("POST", "stats/reset")
        self.emulator("PUT", "faults", faults)
        try:
            yield injected
        finally:
            injected.update(self.emulator("PUT", "faults", {}).body["faultsInjected"])

    def quiet(self, seconds: float = 90) -> None:
        """Wait until localstripe has delivered every event (a retry of a
        throttled webhook comes up to a minute later): tests that count the
        API's own requests would otherwise count an earlier test's webhooks."""
        deadline = time.monotonic() + seconds
        while True:
            answer = client.call(self.host, self.stripe_port, "GET", "/_config/deliveries")
            if answer.body["pending"] == 0:
                return
            assert time.monotonic() < deadline, "Stripe's events still not delivered"
            time.sleep(0.2)

    def stock_items(self, product_id: str) -> dict[str, int]:
        """Units in each of the product's stock items, read straight from the table."""
        pages = self.dynamodb.get_paginator("scan").paginate(
            TableName=self.config.products_table, ConsistentRead=True
        )
        items = [item for page in pages for item in page["Items"]]
        own = next(i for i in items if i["productId"]["S"] == product_id)
        shards = {
            i["productId"]["S"]: int(i["stock"]["N"])
            for i in items
            if i.get("shardOf", {}).get("S") == product_id
        }
        declared = int(own.get("shards", {"N": "1"})["N"])
        if declared == 1:
            assert not shards, f"orphan shards {sorted(shards)}"
            return {product_id: int(own["stock"]["N"])}
        # Exactly the declared shards exist: none missing, none orphaned.
        assert sorted(shards) == sorted(f"{product_id}#{i}" for i in range(declared)), shards
        assert "stock" not in own
        return shards

    def stock(self, product_id: str) -> int:
        """Units left (the sum over the product's stock items), never below zero."""
        items = self.stock_items(product_id)
        assert min(items.values()) >= 0, items
        return sum(items.values())

    def orders_for(self, product_id: str) -> list[dict[str, Any]]:
        pages = self.dynamodb.get_paginator("scan").paginate(
            TableName=self.config.orders_table,
            FilterExpression="productId = :p",
            ExpressionAttributeValues={":p": {"S": product_id}},
        )
        return [
            {k: next(iter(v.values())) for k, v in item.items()}
            for page in pages
            for item in page["Items"]
        ]


@contextmanager
def running_stack(name: str, **env: str) -> Iterator[Stack]:
    """`python -m local.stack` on free ports, stopped with Ctrl-C (SIGINT) after;
    its output in build/<name>.log (one per pytest-xdist worker: each worker
    starts its own stacks)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    log = Path(ROOT, "build", f"{name}-{worker}.log" if worker else f"{name}.log")
    with launched(log, extra=env) as ports:
        yield Stack(ports.api, ports.emulator, ports.ui, ports.stripe)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    with running_stack("stack-test") as running:
        yield running


# Browser contexts a test opened and did not close. A page left open by a failed
# UI test keeps polling the API, and a later test on the same stack counts the
# API's requests; so they are closed after every test, failed or not.
left_open: list[Any] = []


@pytest.fixture(autouse=True)
def _close_left_open() -> Iterator[None]:
    yield
    while left_open:
        left_open.pop().close()
