"""The order path's pure parts, by table: `plan` (which stock items) and `judge`
(what a cancelled transaction means); and the loop's request budget."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib import aws, catalog, settings
from chalicelib.catalog import Catalog
from chalicelib.errors import Busy, OutOfStock
from chalicelib.model import Order, OrderRequest, Product
from chalicelib.orders import MAX_CALLS, OrderService, plan
from chalicelib.orders.verdicts import (
    AlreadyCancelled,
    Attempt,
    CounterGone,
    KeyReused,
    LimitReached,
    ProductGone,
    Replayed,
    Short,
    Stale,
    Transient,
    Unexplained,
    WindowClosed,
    judge,
    judge_cancel,
)
from tests.conftest import Shop

# --- plan -----------------------------------------------------------------------------


def test_plan_takes_one_item_that_holds_the_whole_quantity() -> None:
    hints = {"p#0": 1, "p#1": 5, "p#2": 2}
    assert plan(hints, 3, random.Random(1)) == (("p#1", 3),)


def test_plan_spreads_single_item_orders_by_units() -> None:
    hints = {"p#0": 90, "p#1": 10, "p#2": 0}
    picks = Counter(plan(hints, 1, random.Random(n))[0][0] for n in range(2000))  # type: ignore[index]
    assert picks["p#2"] == 0
    assert 0.85 < picks["p#0"] / 2000 < 0.95


def test_plan_takes_the_fewest_fullest_items_when_none_suffices() -> None:
    hints = {"p#0": 2, "p#1": 4, "p#2": 3, "p#3": 0}
    assert plan(hints, 6, random.Random(1)) == (("p#1", 4), ("p#2", 2))


@pytest.mark.parametrize(("hints", "quantity"), [({"p": 2}, 3), ({"p#0": 1, "p#1": 1}, 3), ({}, 1)])
def test_plan_is_none_when_the_hints_hold_too_little(hints: dict[str, int], quantity: int) -> None:
    assert plan(hints, quantity, random.Random(1)) is None


def test_plan_ignores_items_believed_below_zero() -> None:
    assert plan({"p#0": -2, "p#1": 3}, 3, random.Random(1)) == (("p#1", 3),)


def test_containers_break_ties_their_own_way() -> None:
    hints = {f"p#{i}": 1 for i in range(32)}
    first = plan(hints, 3, random.Random(1), rank=lambda key: random.Random(f"a{key}").random())
    second = plan(hints, 3, random.Random(1), rank=lambda key: random.Random(f"b{key}").random())
    assert first is not None and second is not None
    assert {key for key, _ in first} != {key for key, _ in second}


# --- judge ------------------------------------------------------------------------------

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
PRODUCT = Product("p", "Widget", Decimal("5"), 10, version=7, shards=2)
REQUEST = OrderRequest("alice", "p", 3)


def stock_item(units: int, version: int = 7, price: str = "5", **window: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "stock": {"N": str(units)},
        "version": {"N": str(version)},
        "price": {"N": price},
    }
    item.update({name: {"S": value} for name, value in window.items()})
    return item


def order_item(quantity: int = 3, product: str = "p") -> dict[str, Any]:
    order = Order.confirm("o-1", OrderRequest("alice", product, quantity), PRODUCT, NOW, ())
    return order.to_item()


def cancelled(*reasons: dict[str, Any]) -> dict[str, Any]:
    return {
        "Error": {"Code": "TransactionCanceledException"},
        "CancellationReasons": list(reasons),
    }


FAILED = "ConditionalCheckFailed"
NONE = {"Code": "None"}
TWO = (("p#0", 2), ("p#1", 1))


@pytest.mark.parametrize(
    ("response", "allocation", "verdict"),
    [
        # The order item exists: a replay, or the key reused, whatever else failed.
        (
            cancelled({"Code": FAILED, "Item": stock_item(0)}, NONE,
                      {"Code": FAILED, "Item": order_item()}),
            TWO, Replayed,
        ),
        (cancelled(NONE, NONE, {"Code": FAILED, "Item": order_item(2)}), TWO, KeyReused()),
        # Stock items.
        (cancelled({"Code": FAILED, "Item": stock_item(1)}, NONE, NONE), TWO, Short({"p#0": 1})),
        (
            cancelled({"Code": FAILED, "Item": stock_item(0)}, {"Code": FAILED,
                      "Item": stock_item(0)}, NONE),
            TWO, Short({"p#0": 0, "p#1": 0}),
        ),
        (cancelled({"Code": FAILED, "Item": stock_item(9, version=8)}, NONE, NONE), TWO, Stale()),
        (cancelled({"Code": FAILED, "Item": stock_item(9, price="6")}, NONE, NONE), TWO, Stale()),
        (cancelled({"Code": FAILED}, NONE, NONE), TWO, Stale()),  # a shard resharded away
        (
            cancelled({"Code": FAILED, "Item": stock_item(9, saleEndsAt="2026-11-27T09:00:00.000000Z")},
                      NONE, NONE),
            TWO, WindowClosed("the sale for Widget has ended", None),
        ),
        (
            cancelled({"Code": FAILED, "Item": stock_item(9, saleStartsAt="2026-11-27T11:00:00.000000Z")},
                      NONE, NONE),
            TWO,
            WindowClosed(
                "the sale for Widget starts at 2026-11-27T11:00:00.000000Z",
                datetime(2026, 11, 27, 11, 0, tzinfo=UTC),
            ),
        ),
        (cancelled({"Code": FAILED, "Item": stock_item(9)}, NONE, NONE), TWO, Stale()),
        # The shopper's counter.
        (
            cancelled(NONE, NONE, NONE, {"Code": FAILED, "Item": {"purchased": {"N": "4"}}}),
            TWO, LimitReached(4),
        ),
        # Come back later.
        (cancelled({"Code": "TransactionConflict"}, NONE, NONE), TWO, Transient("TransactionConflict")),
        (cancelled(NONE, NONE, {"Code": "ThrottlingError"}), TWO, Transient("ThrottlingError")),
        ({"Error": {"Code": "ThrottlingException"}}, TWO, Transient("ThrottlingException")),
        ({"Error": {"Code": "ValidationException"}}, TWO, Unexplained("ValidationException")),
        (cancelled(NONE, NONE, NONE), TWO, Unexplained("TransactionCanceledException")),
    ],
)  # fmt: skip
def test_judge(response: dict[str, Any], allocation: Any, verdict: Any) -> None:
    found = judge(response, Attempt(REQUEST, PRODUCT, allocation, NOW))
    if verdict is Replayed:
        assert isinstance(found, Replayed) and found.order.order_id == "o-1"
    else:
        assert found == verdict


def test_judge_says_a_missing_unsharded_product_is_gone() -> None:
    single = PRODUCT._replace(shards=1)
    found = judge(cancelled({"Code": FAILED}, NONE), Attempt(REQUEST, single, (("p", 3),), NOW))
    assert found == ProductGone()


# --- judge_cancel --------------------------------------------------------------------

CANCELLED_ITEM = {**order_item(), "status": {"S": "CANCELLED"}}
COUNTER_FAILED = {"Code": FAILED}


@pytest.mark.parametrize(
    ("response", "frees_counter", "verdict"),
    [
        # The order item: cancelled meanwhile (the same answer), else changed: read again.
        (cancelled({"Code": FAILED, "Item": CANCELLED_ITEM}, NONE), False,
         AlreadyCancelled(Order.from_item(CANCELLED_ITEM))),
        (cancelled({"Code": FAILED, "Item": order_item()}, NONE), False, Stale()),
        (cancelled({"Code": FAILED}, NONE), False, Stale()),
        # The purchase counter expired (TTL): cancel without freeing it.
        (cancelled(NONE, NONE, COUNTER_FAILED), True, CounterGone()),
        # A failed last item that is not the counter: the stock was re-sharded.
        (cancelled(NONE, NONE, COUNTER_FAILED), False, Stale()),
        (cancelled(NONE, {"Code": FAILED}), False, Stale()),
        # Come back later.
        (cancelled(NONE, {"Code": "TransactionConflict"}), True,
         Transient("TransactionCanceledException")),
        ({"Error": {"Code": "ThrottlingException"}}, False, Transient("ThrottlingException")),
        ({"Error": {"Code": "ValidationException"}}, False, Unexplained("ValidationException")),
    ],
)  # fmt: skip
def test_judge_cancel(response: dict[str, Any], frees_counter: bool, verdict: Any) -> None:
    assert judge_cancel(response, frees_counter) == verdict


def test_the_http_layer_and_the_order_loop_share_one_throttling_list() -> None:
    from chalicelib import web

    assert web.aws.THROTTLING is aws.THROTTLING
    for code in aws.THROTTLING:
        verdict = judge({"Error": {"Code": code}}, Attempt(REQUEST, PRODUCT, TWO, NOW))
        assert verdict == Transient(code)


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


def test_the_default_shard_count_follows_the_stock() -> None:
    assert [catalog.shards_for(n) for n in (0, 19, 40, 100, 600, 10_000_000)] == [
        1,
        1,
        2,
        5,
        30,
        32,
    ]


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
