"""The order path's pure parts, by table: `plan` (which stock items), `judge`
and `judge_cancel` (what a cancelled transaction means), and the default shard
count. No emulator: the API-level allocation tests are tests/api/test_allocation.py."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from chalicelib import aws, catalog
from chalicelib.model import Order, OrderRequest, Product
from chalicelib.orders import plan
from chalicelib.orders.verdicts import (
    AlreadyCancelled,
    Attempt,
    CounterGone,
    KeyReused,
    LimitReached,
    PassUsed,
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
    # A limited product: its transaction's item after the order is the counter.
    found = judge(response, Attempt(REQUEST, PRODUCT._replace(max_per_user=5), allocation, NOW))
    if verdict is Replayed:
        assert isinstance(found, Replayed) and found.order.order_id == "o-1"
    else:
        assert found == verdict


@pytest.mark.parametrize("limit", [None, 5])
def test_judge_finds_a_used_pass_after_the_counter_if_any(limit: int | None) -> None:
    # The waiting room's redemption items come last: the entry, then a counter.
    counter = [NONE] if limit is not None else []
    used = {"Code": FAILED, "Item": {"redeemedBy": {"S": "o-0"}}}
    response = cancelled(NONE, NONE, NONE, *counter, used, NONE)
    product = PRODUCT._replace(max_per_user=limit)
    assert judge(response, Attempt(REQUEST, product, TWO, NOW, redeeming=True)) == PassUsed()
    # Without a pass in the transaction the same answer is not a used pass.
    plain = judge(response, Attempt(REQUEST, product, TWO, NOW))
    assert plain != PassUsed()


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


# --- shards ---------------------------------------------------------------------------


def test_the_default_shard_count_follows_the_stock() -> None:
    assert [catalog.shards_for(n) for n in (0, 19, 40, 100, 600, 10_000_000)] == [
        1,
        1,
        2,
        5,
        30,
        32,
    ]
