"""The order loop against in-process moto: its request budget, what a container
remembers, default sharding. The pure parts (plan, judge) are tested by table in
tests/unit/test_plan_and_verdicts.py."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib import aws, settings
from chalicelib.catalog import Catalog
from chalicelib.errors import Busy, OutOfStock
from chalicelib.model import OrderRequest
from chalicelib.orders import MAX_CALLS, OrderService
from tests.conftest import Shop

# --- the loop's budget ---------------------------------------------------------------------


class Throttled:
    """A client whose every call is refused for load, counting them."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)

        def refused(**kwargs: Any) -> Any:
            self.calls += 1
            if name in ("transact_write_items", "batch_get_item", "get_item"):
                raise ClientError({"Error": {"Code": "ThrottlingException"}}, name)
            return real(**kwargs)

        return refused


def test_an_order_makes_at_most_max_calls_requests_then_answers_busy(shop: Shop) -> None:
    shop.put_product(stock=40, shards=2)
    throttled = Throttled(shop.dynamodb)
    config = settings.load()
    orders = OrderService(
        throttled, config, Catalog(shop.dynamodb, config.products_table), sleep=lambda s: None
    )
    with pytest.raises(Busy):
        orders.place(OrderRequest("alice", "p1", 1), "key-1")
    assert throttled.calls == MAX_CALLS
    assert shop.orders() == [] and shop.stock() == 40


def test_the_order_client_leaves_retries_to_the_order_loop(shop: Shop) -> None:
    # Regression: the loop retried throttling 6 times on top of botocore's 3.
    assert aws.client("dynamodb", retries=False).meta.config.retries["total_max_attempts"] == 1
    assert aws.client("dynamodb").meta.config.retries["total_max_attempts"] == 3


# --- what a container remembers ---------------------------------------------------------------


def counting(client: Any) -> Counter[str]:
    calls: Counter[str] = Counter()
    client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.update([model.name])
    )
    return calls


def test_fewer_units_than_asked_is_remembered_like_sold_out(shop: Shop) -> None:
    # Regression: "only 2 left" answers bypassed the short-circuit, so every such
    # request went to the hot item again.
    shop.put_product(stock=2, shards=1)
    config = settings.load()
    client = aws.client("dynamodb")
    orders = OrderService(client, config, Catalog(client, config.products_table))
    with pytest.raises(OutOfStock):
        orders.place(OrderRequest("alice", "p1", 3))
    calls = counting(client)
    for n in range(20):
        with pytest.raises(OutOfStock, match="only 2"):
            orders.place(OrderRequest(f"u{n}", "p1", 3))
    assert sum(calls.values()) == 0
    assert orders.place(OrderRequest("bob", "p1", 2)).order.quantity == 2


def test_a_product_created_with_defaults_is_sharded(shop: Shop) -> None:
    created = shop.put_product(stock=600)
    assert created["shards"] == 30
    stocks = {
        i["productId"]["S"]: int(i["stock"]["N"])
        for i in shop.dynamodb.scan(TableName=shop.config.products_table)["Items"]
        if "shardOf" in i
    }
    assert len(stocks) == 30 and set(stocks.values()) == {20}


def test_a_shared_read_reports_what_dynamodb_said_not_the_reservations(shop: Shop) -> None:
    # Regression: a thread reusing another's fresh read got the hints, which hold
    # this container's in-flight reservations: 1 unit left was answered "sold out".
    from chalicelib.orders.budget import Budget

    shop.put_product(stock=1, shards=1)
    config = settings.load()
    client = aws.client("dynamodb")
    orders = OrderService(client, config, Catalog(client, config.products_table))
    product = orders._read_fresh(orders._product("p1", Budget(2)), Budget(2)).product
    assert orders.stock.reserve(product, 1) == (("p1", 1),)  # an order in flight
    again = orders._read_fresh(product, Budget(2), max_age=60.0)
    assert again.stocks == {"p1": 1}
