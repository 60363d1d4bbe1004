"""Hot-product shards, the sold-out short-circuit and the catalog cache."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from chalicelib import aws, settings
from chalicelib.catalog import Catalog
from chalicelib.errors import OutOfStock
from chalicelib.model import OrderRequest
from chalicelib.orders import OrderService
from chalicelib.validation import product_from_dict
from tests.conftest import Shop


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counting(client: Any) -> Counter[str]:
    calls: Counter[str] = Counter()
    client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.update([model.name])
    )
    return calls


# --- shards ------------------------------------------------------------------


def test_sharded_product_spreads_stock_and_shows_the_sum(shop: Shop) -> None:
    created = shop.put_product(stock=10, shards=4)
    assert (created["stock"], created["shards"]) == (10, 4)
    assert sorted(shop.shard_stocks().values()) == [2, 2, 3, 3]
    assert shop.request("GET", "/products/p1").json_body["stock"] == 10
    listing = shop.request("GET", "/products").json_body
    assert [p["productId"] for p in listing["products"]] == ["p1"]  # shards are not products
    assert listing["products"][0]["stock"] == 10


def test_sharded_product_sells_exactly_its_stock(shop: Shop) -> None:
    shop.put_product(stock=10, shards=4)
    results = [shop.order(userId=f"u{n}").status_code for n in range(12)]
    assert results.count(201) == 10
    stocks = shop.shard_stocks()
    assert all(stock == 0 for stock in stocks.values())
    assert sum(int(o["quantity"]) for o in shop.orders()) == 10
    assert shop.order(userId="late").json_body["message"] == "Widget is sold out"


def test_an_order_falls_back_to_a_shard_with_stock(shop: Shop) -> None:
    shop.put_product(stock=1, shards=8)  # seven of eight shards are empty
    response = shop.order()
    assert response.status_code == 201
    assert sum(shop.shard_stocks().values()) == 0


def test_an_order_larger_than_any_shard_takes_from_several(shop: Shop) -> None:
    shop.put_product(stock=4, shards=4)  # 1 unit in each shard
    assert shop.order(quantity=3).status_code == 201
    assert sorted(shop.shard_stocks().values()) == [0, 0, 0, 1]
    response = shop.order(userId="bob", quantity=2)
    assert (response.status_code, response.json_body["message"]) == (409, "only 1 of Widget left")


def test_resharding_replaces_the_shards(shop: Shop) -> None:
    shop.put_product(stock=8, shards=4)
    shop.put_product(stock=6, shards=2)
    assert sorted(shop.shard_stocks()) == ["p1#0", "p1#1"]
    assert shop.order(quantity=2).status_code == 201
    shop.put_product(stock=5)  # back to one item
    assert shop.shard_stocks() == {}
    assert shop.order(userId="bob").status_code == 201
    assert shop.stock() == 4


def test_sharded_orders_keep_price_and_window_guards(shop: Shop) -> None:
    shop.put_product(stock=10, shards=4, price=10)
    assert shop.order().json_body["unitPrice"] == 10
    shop.put_product(stock=10, shards=4, price=12)
    assert shop.order(userId="bob").json_body["unitPrice"] == 12
    shop.put_product(stock=10, shards=4, saleEndsAt="2020-01-01T00:00:00Z")
    assert shop.order(userId="carol").json_body["code"] == "SALE_NOT_ACTIVE"


def test_sharded_product_respects_the_per_user_limit(shop: Shop) -> None:
    shop.put_product(stock=20, shards=4, maxPerUser=2)
    assert [shop.order().status_code for _ in range(3)] == [201, 201, 409]
    assert shop.purchased("alice") == 2


@pytest.mark.parametrize("shards", [0, 33, "4", 2.5])
def test_invalid_shard_count_is_400(shop: Shop, shards: Any) -> None:
    response = shop.request(
        "PUT", "/products/p1", {"name": "W", "price": 1, "stock": 1, "shards": shards}
    )
    assert response.status_code == 400


# --- sold-out short-circuit ----------------------------------------------------


def orders_with_clock(shop: Shop, clock: Clock) -> tuple[OrderService, Counter[str]]:
    config = settings.load()
    client = aws.client("dynamodb")
    calls = counting(client)
    catalog = Catalog(client, config.products_table, ttl=1.0, clock=clock)
    return OrderService(client, config, catalog, clock=clock, belief_ttl=1.0), calls


def test_known_sold_out_answers_without_dynamodb_until_it_expires(shop: Shop) -> None:
    shop.put_product(stock=1)
    clock = Clock()
    orders, calls = orders_with_clock(shop, clock)
    orders.place(OrderRequest("alice", "p1", 1))
    with pytest.raises(OutOfStock):
        orders.place(OrderRequest("bob", "p1", 1))  # learns it is sold out
    calls.clear()

    for n in range(50):
        with pytest.raises(OutOfStock):
            orders.place(OrderRequest(f"u{n}", "p1", 1))
    assert sum(calls.values()) == 0

    # Another container restocks; once the second is over this one sells again.
    other = Catalog(aws.client("dynamodb"), shop.config.products_table)
    other.put(product_from_dict("p1", {"name": "Widget", "price": 19, "stock": 5}))
    clock.now += 1.01
    assert orders.place(OrderRequest("carol", "p1", 1)).order.unit_price == 19


def test_restock_in_the_same_container_clears_sold_out_at_once(shop: Shop) -> None:
    shop.put_product(stock=1)
    assert shop.order().status_code == 201
    assert shop.order(userId="bob").json_body["code"] == "OUT_OF_STOCK"
    shop.put_product(stock=3)
    assert shop.order(userId="bob").status_code == 201


def test_only_a_few_left_is_not_taken_for_sold_out(shop: Shop) -> None:
    shop.put_product(stock=2)
    assert shop.order(quantity=3).json_body["code"] == "OUT_OF_STOCK"
    assert shop.order(quantity=2).status_code == 201


def test_replay_during_sold_out_window_returns_the_order(shop: Shop) -> None:
    shop.put_product(stock=1)
    first = shop.order(key="k-1").json_body
    assert shop.order(userId="bob").json_body["code"] == "OUT_OF_STOCK"
    replay = shop.order(key="k-1")
    assert replay.json_body == first
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert shop.order(key="k-1", quantity=2).json_body["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert shop.order(key="k-2", userId="carol").json_body["code"] == "OUT_OF_STOCK"
    assert len(shop.orders()) == 1


# --- catalog cache -------------------------------------------------------------


def test_catalog_reads_are_cached_for_a_second(shop: Shop) -> None:
    shop.put_product()
    clock = Clock()
    catalog = Catalog(aws.client("dynamodb"), shop.config.products_table, ttl=1.0, clock=clock)
    calls = counting(aws.client("dynamodb"))
    for _ in range(100):
        catalog.list()
        catalog.get("p1")
    assert calls == Counter({"Scan": 1, "GetItem": 1})
    clock.now += 1.01
    catalog.list()
    assert calls["Scan"] == 2


def test_catalog_responses_tell_the_edge_to_cache_a_second(shop: Shop) -> None:
    shop.put_product()
    for path in ("/products", "/products/p1"):
        assert shop.request("GET", path).headers["Cache-Control"] == "public, max-age=1"
    order = shop.order()
    assert order.headers["Cache-Control"] == "no-store"
    got = shop.request("GET", f"/orders/{order.json_body['orderId']}")
    assert got.headers["Cache-Control"] == "no-store"
