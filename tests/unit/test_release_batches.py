"""How due holds are grouped into release transactions (chalicelib/orders/transactions.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib import settings
from chalicelib.orders.transactions import (
    RELEASE_BATCH,
    TRANSACT_LIMIT,
    Hold,
    batch_release_items,
    release_batches,
)

ENDS = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)


def hold(n: int, product: str = "p1", user: str | None = None, keys: int = 1) -> Hold:
    allocation = tuple((f"{product}#{(n + k) % 32}", 1) for k in range(keys))
    return Hold(f"o-{product}-{n}", user or f"u{n}", product, keys, allocation, True, ENDS, None)


def test_holds_are_batched_by_product_in_order_at_most_ten_to_a_transaction() -> None:
    due = [hold(n) for n in range(23)] + [hold(n, "p2") for n in range(3)]
    mixed = [due[n] for n in (0, 23, 1, 24, 2, 25)] + due[3:23]
    batches = release_batches(mixed)
    assert [len(b) for b in batches] == [RELEASE_BATCH, 3, 10, 3]
    assert all(len({h.product_id for h in b}) == 1 for b in batches)
    assert [h.order_id for b in batches for h in b if h.product_id == "p1"] == [
        f"o-p1-{n}" for n in range(23)
    ]


def test_a_batch_stays_within_dynamodbs_limit_on_transaction_items() -> None:
    # Ten holds reach at most 10 + 32 stock items + 10 shoppers; a larger batch
    # size would pass 100 items, and is cut short of it.
    due = [hold(n, keys=4) for n in range(60)]
    batches = release_batches(due, size=60)
    assert len(batches) > 1 and sum(len(b) for b in batches) == 60
    config = settings.load({})
    for batch in batches:
        assert len(batch_release_items(config, batch, ENDS, "expired")) <= TRANSACT_LIMIT


def test_one_update_per_stock_item_and_per_shopper_with_the_sums() -> None:
    config = settings.load({})
    due = [hold(0, user="alice"), hold(32, user="alice"), hold(1, user="bob")]
    items = batch_release_items(config, due, ENDS, "expired")
    updates = [item["Update"] for item in items]
    stock = {
        u["Key"]["productId"]["S"]: u["ExpressionAttributeValues"][":u"]["N"]
        for u in updates
        if u["TableName"] == config.products_table
    }
    counters = {
        u["Key"]["userId"]["S"]: u["ExpressionAttributeValues"][":q"]["N"]
        for u in updates
        if u["TableName"] == config.purchases_table
    }
    assert stock == {"p1#0": "2", "p1#1": "1"}
    assert counters == {"alice": "2", "bob": "1"}
    assert len(updates) == 3 + 2 + 2
