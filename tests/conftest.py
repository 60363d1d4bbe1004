"""Shared fixtures: an in-process moto for API tests, helpers to read the tables."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

# Fake credentials before any client exists: no test may reach real AWS.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
)
# The local stage names its emulator (AWS_ENDPOINT_URL); in-process moto answers
# only AWS's own endpoints. (Processes started on an emulator turn this off.)
os.environ["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"

import app as application  # noqa: E402
from chalicelib import settings, wiring  # noqa: E402
from local import gateway, resources  # noqa: E402

gateway.install()


def _serialise_moto() -> None:
    """In-process moto answers one request at a time, as the emulator's lock
    makes it (local/emulator/lock.py): moto is not thread-safe, and the app's
    own threads (release_holds' batches of one product and another, in a pool)
    once met in it: one transaction copied the orders table while another added
    an attribute to an item of it (RuntimeError: dictionary changed size)."""
    original = BotocoreStubber.__call__
    lock = threading.RLock()  # re-entrant: moto may call itself through boto3

    def serialised(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        if not self.enabled:
            return None  # not under mock_aws: a real endpoint (the emulator) answers
        with lock:
            return original(self, event_name, request, **kwargs)

    BotocoreStubber.__call__ = serialised  # type: ignore[method-assign]


_serialise_moto()


# One session for the tests' own clients: mock_aws drops boto3's default session
# at every start, and a new session spends ~80 ms loading endpoint data.
_SESSION = boto3.session.Session()


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """A fresh in-process emulator with the app's tables."""
    with mock_aws():
        wiring.reset()
        client = _SESSION.client("dynamodb")
        resources.create_tables(client, settings.load())
        yield client
        wiring.reset()


@pytest.fixture
def api(dynamodb: Any) -> Iterator[Client]:
    with Client(application.app, stage_name="local") as client:
        yield client


class Shop:
    """Test helper: talk to the API and read the tables behind it."""

    def __init__(self, api: Client, dynamodb: Any) -> None:
        self.api = api
        self.dynamodb = dynamodb
        self.config = settings.load()

    def put_product(self, product_id: str = "p1", **fields: Any) -> dict[str, Any]:
        body = {"name": "Widget", "price": 19.99, "stock": 10, **fields}
        response = self.request("PUT", f"/products/{product_id}", body)
        assert response.status_code == 200, response.body
        return response.json_body  # type: ignore[no-any-return]

    def order(
        self,
        body: Any = None,
        key: str | None = None,
        raw: bytes | None = None,
        **fields: Any,
    ) -> Any:
        if body is None and raw is None:
            body = {"userId": "alice", "productId": "p1", "quantity": 1, **fields}
        headers = {"Idempotency-Key": key} if key else {}
        return self.request("POST", "/orders", body, raw=raw, headers=headers)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        payload = raw if raw is not None else (None if body is None else json.dumps(body))
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        return self.api.http.request(method, path, headers=all_headers, body=payload or b"")

    def shard_stocks(self, product_id: str = "p1") -> dict[str, int]:
        """Units in each of a product's shard items, by key (none: unsharded)."""
        items = self.dynamodb.scan(TableName=self.config.products_table)["Items"]
        return {
            i["productId"]["S"]: int(i["stock"]["N"])
            for i in items
            if i.get("shardOf", {}).get("S") == product_id
        }

    def stock(self, product_id: str = "p1") -> int:
        """Units left: the product item's, or the sum of its shards'."""
        items = self.dynamodb.scan(TableName=self.config.products_table)["Items"]
        own = [i for i in items if i["productId"]["S"] == product_id]
        shards = [i for i in items if i.get("shardOf", {}).get("S") == product_id]
        if shards:
            assert "stock" not in own[0], "a sharded product's item holds no stock"
            return sum(int(i["stock"]["N"]) for i in shards)
        return int(own[0]["stock"]["N"])

    def orders(self) -> list[dict[str, Any]]:
        items = self.dynamodb.scan(TableName=self.config.orders_table)["Items"]
        return [{k: next(iter(v.values())) for k, v in item.items()} for item in items]

    def purchased(self, user_id: str, product_id: str = "p1") -> Decimal:
        item = self.dynamodb.get_item(
            TableName=self.config.purchases_table,
            Key={"userId": {"S": user_id}, "productId": {"S": product_id}},
        ).get("Item")
        return Decimal(item["purchased"]["N"]) if item else Decimal(0)


@pytest.fixture
def shop(api: Client, dynamodb: Any) -> Shop:
    return Shop(api, dynamodb)
