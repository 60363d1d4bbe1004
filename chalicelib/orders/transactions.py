"""The TransactWriteItems the order path sends (an order, a cancellation, and pay
checkout's release, payment and PaymentIntent records): every condition that keeps
an order true (docs/orders.md, "How an order is placed", step 3). Pure builders;
the writer, the cancel loop and chalicelib.payments send them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from chalicelib import instants
from chalicelib.model import (
    AWAITING_PAYMENT,
    CANCELLED,
    CONFIRMED,
    RELEASED,
    Allocation,
    Order,
    Product,
)
from chalicelib.settings import Settings

PURCHASE_COUNTER_LIFETIME = timedelta(days=30)


def order_items(
    settings: Settings, order: Order, product: Product, moment: datetime
) -> list[dict[str, Any]]:
    now = instants.canonical(moment)
    items: list[dict[str, Any]] = [
        {
            "Update": {
                "TableName": settings.products_table,
                "Key": {"productId": {"S": key}},
                "UpdateExpression": "SET stock = stock - :q",
                # Never oversell; never sell outside the window; never record an
                # order at a price or name the product no longer has (version
                # pins every field the order copies, price guards writers that
                # do not bump it). Shards carry copies of all of these. Times
                # are canonical strings, which compare as the instants they are.
                "ConditionExpression": (
                    "stock >= :q AND version = :v AND price = :p"
                    " AND (attribute_not_exists(saleStartsAt) OR saleStartsAt <= :now)"
                    " AND (attribute_not_exists(saleEndsAt) OR saleEndsAt > :now)"
                ),
                "ExpressionAttributeValues": {
                    ":q": {"N": str(units)},
                    ":v": {"N": str(product.version)},
                    ":p": {"N": str(product.price)},
                    ":now": {"S": now},
                },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        for key, units in order.allocation
    ]
    items.append(
        {
            "Put": {
                "TableName": settings.orders_table,
                "Item": order.to_item(),
                # A replay finds its own order here and gets it back, unwritten.
                "ConditionExpression": "attribute_not_exists(orderId)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
    )
    if product.max_per_user is not None:
        items.append(_count_purchase(settings, order, product))
    return items


def _count_purchase(settings: Settings, order: Order, product: Product) -> dict[str, Any]:
    assert product.max_per_user is not None
    update = "ADD purchased :q"
    values = {
        ":q": {"N": str(order.quantity)},
        ":room": {"N": str(product.max_per_user - order.quantity)},
    }
    expires = _counter_expiry(product)
    if expires is not None:
        # The counter matters until the sale is over; TTL clears it a month later.
        update += " SET expiresAt = :expires"
        values[":expires"] = {"N": str(expires)}
    return {
        "Update": {
            "TableName": settings.purchases_table,
            "Key": {"userId": {"S": order.user_id}, "productId": {"S": order.product_id}},
            "UpdateExpression": update,
            # purchased + q <= maxPerUser, rearranged: no arithmetic in conditions.
            "ConditionExpression": "attribute_not_exists(purchased) OR purchased <= :room",
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


# --- cancellation --------------------------------------------------------------------


def cancellation_items(
    settings: Settings,
    order: Order,
    product: Product,
    returned: Mapping[str, int],
    moment: datetime,
    keep_counter: bool,
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        {
            "Update": {
                "TableName": settings.orders_table,
                "Key": {"orderId": {"S": order.order_id}},
                "UpdateExpression": "SET #status = :cancelled, cancelledAt = :now",
                # Only once: a second cancel finds it cancelled and returns it.
                "ConditionExpression": "#status = :confirmed",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":cancelled": {"S": CANCELLED},
                    ":confirmed": {"S": CONFIRMED},
                    ":now": {"S": instants.canonical(moment)},
                },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
    ]
    for key, units in returned.items():
        items.append(
            {
                "Update": {
                    "TableName": settings.products_table,
                    "Key": {"productId": {"S": key}},
                    "UpdateExpression": "SET stock = stock + :u",
                    # The stock items read a moment ago, still this incarnation
                    # of the product: never create an item, never an orphan.
                    "ConditionExpression": "attribute_exists(stock) AND version = :v",
                    "ExpressionAttributeValues": {
                        ":u": {"N": str(units)},
                        ":v": {"N": str(product.version)},
                    },
                }
            }
        )
    if order.counted and keep_counter:
        items.append(_uncount(settings, order.user_id, order.product_id, order.quantity))
    return items


def return_to(order: Order, product: Product) -> dict[str, int]:
    """Where a cancelled order's units go: the stock items they came from, or,
    for items re-sharded away since (or an order that predates allocations), the
    product's first stock item."""
    return units_back(order.allocation, order.quantity, product)


def units_back(allocation: Allocation, quantity: int, product: Product) -> dict[str, int]:
    """Where units taken as `allocation` go back to in `product` as it is now."""
    current = set(product.stock_keys)
    taken = allocation or ((product.stock_keys[0], quantity),)
    returned: dict[str, int] = {}
    for key, units in taken:
        target = key if key in current else product.stock_keys[0]
        returned[target] = returned.get(target, 0) + units
    return returned


def _counter_expiry(product: Product) -> int | None:
    if product.sale_ends_at is None:
        return None
    try:
        return instants.epoch_seconds(product.sale_ends_at + PURCHASE_COUNTER_LIFETIME)
    except OverflowError:
        return None  # a sale that ends near year 9999 keeps its counters


# --- pay checkout: holds ---------------------------------------------------------------


class Hold(NamedTuple):
    """What releasing a hold needs, carried by its release message so that the
    release reads nothing first (docs/payments.md, requests per paid order)."""

    order_id: str
    user_id: str
    product_id: str
    quantity: int
    allocation: Allocation
    counted: bool
    expires_at: datetime
    intent_id: str | None

    @classmethod
    def of(cls, order: Order) -> Hold:
        assert order.hold_expires_at is not None
        return cls(
            order.order_id,
            order.user_id,
            order.product_id,
            order.quantity,
            order.allocation,
            order.counted,
            order.hold_expires_at,
            order.payment_intent_id,
        )


# DynamoDB's limit on the items of one TransactWriteItems, and how many holds of
# one product a release transaction takes at most: a thousand holds ending in
# one second are a hundred transactions, not a thousand.
TRANSACT_LIMIT = 100
RELEASE_BATCH = 10


def release_items(
    settings: Settings,
    hold: Hold,
    moment: datetime,
    reason: str,
    returned: Mapping[str, int] | None = None,
    version: int | None = None,
    keep_counter: bool = True,
    unprepared: bool = False,
) -> list[dict[str, Any]]:
    """Release an unpaid hold: the order AWAITING_PAYMENT -> RELEASED, its units
    back and the shopper's purchase count freed, in one transaction. Without
    `returned` the units go back to the stock items they came from, on the
    condition only that those still exist (a re-sharded product fails the
    condition, and the caller reads where the units go now, with its version).
    `unprepared`: only if the hold still has no PaymentIntent (a replay that
    gave it one meanwhile has told its shopper to pay)."""
    back = dict(hold.allocation) if returned is None else dict(returned)
    items = [_release_order(settings, hold, moment, reason, unprepared)]
    items += [_restock_item(settings, key, units, version) for key, units in back.items()]
    if hold.counted and keep_counter:
        items.append(_uncount(settings, hold.user_id, hold.product_id, hold.quantity))
    return items


def batch_release_items(
    settings: Settings, holds: list[Hold], moment: datetime, reason: str
) -> list[dict[str, Any]]:
    """Release several unpaid holds of one product in one transaction: each order
    AWAITING_PAYMENT -> RELEASED, then one update per stock item with the units
    of every hold that came from it and one per shopper with all their holds'
    quantities (a transaction may touch an item only once). Any one hold paid or
    released meanwhile, a stock item re-sharded or a counter expired cancels
    the whole: the caller then releases the holds one by one."""
    assert holds and len({h.product_id for h in holds}) == 1, "one product per transaction"
    assert len({h.order_id for h in holds}) == len(holds), "each hold once"
    back: dict[str, int] = {}
    counted: dict[str, int] = {}
    for hold in holds:
        for key, units in hold.allocation:
            back[key] = back.get(key, 0) + units
        if hold.counted:
            counted[hold.user_id] = counted.get(hold.user_id, 0) + hold.quantity
    items = [_release_order(settings, hold, moment, reason, False) for hold in holds]
    items += [_restock_item(settings, key, units, None) for key, units in back.items()]
    items += [
        _uncount(settings, user_id, holds[0].product_id, quantity)
        for user_id, quantity in counted.items()
    ]
    assert len(items) <= TRANSACT_LIMIT, len(items)
    return items


def release_batches(holds: list[Hold], size: int = RELEASE_BATCH) -> list[list[Hold]]:
    """`holds` in groups of one product each, at most `size` holds and
    TRANSACT_LIMIT items (orders, stock items, shoppers) to a group, in the
    order they came."""
    batches: list[list[Hold]] = []
    open_: dict[str, list[Hold]] = {}
    for hold in holds:
        batch = open_.get(hold.product_id)
        if batch is None or len(batch) >= size or _items([*batch, hold]) > TRANSACT_LIMIT:
            batch = open_[hold.product_id] = []
            batches.append(batch)
        batch.append(hold)
    return batches


def _items(holds: list[Hold]) -> int:
    keys = {key for hold in holds for key, _ in hold.allocation}
    users = {hold.user_id for hold in holds if hold.counted}
    return len(holds) + len(keys) + len(users)


def _release_order(
    settings: Settings, hold: Hold, moment: datetime, reason: str, unprepared: bool
) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": settings.orders_table,
            "Key": {"orderId": {"S": hold.order_id}},
            "UpdateExpression": (
                "SET #status = :released, releasedAt = :now, releaseReason = :why"
                " REMOVE clientSecret"
            ),
            # Only a hold still unpaid: a payment confirmed first keeps its units.
            "ConditionExpression": "#status = :awaiting"
            + (" AND attribute_not_exists(paymentIntentId)" if unprepared else ""),
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":released": {"S": RELEASED},
                ":awaiting": {"S": AWAITING_PAYMENT},
                ":now": {"S": instants.canonical(moment)},
                ":why": {"S": reason},
            },
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def _restock_item(settings: Settings, key: str, units: int, version: int | None) -> dict[str, Any]:
    guard = "attribute_exists(stock)"
    values = {":u": {"N": str(units)}}
    if version is not None:
        guard += " AND version = :v"
        values[":v"] = {"N": str(version)}
    return {
        "Update": {
            "TableName": settings.products_table,
            "Key": {"productId": {"S": key}},
            "UpdateExpression": "SET stock = stock + :u",
            "ConditionExpression": guard,
            "ExpressionAttributeValues": values,
        }
    }


def _uncount(settings: Settings, user_id: str, product_id: str, quantity: int) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": settings.purchases_table,
            "Key": {"userId": {"S": user_id}, "productId": {"S": product_id}},
            "UpdateExpression": "ADD purchased :minus",
            "ConditionExpression": "purchased >= :q",
            "ExpressionAttributeValues": {
                ":minus": {"N": str(-quantity)},
                ":q": {"N": str(quantity)},
            },
        }
    }


def payment_confirmation(
    settings: Settings, order_id: str, intent_id: str, moment: datetime
) -> dict[str, Any]:
    """The UpdateItem that confirms a paid hold: once, and only for its own
    PaymentIntent (a hold whose intent was never recorded takes this one)."""
    return {
        "TableName": settings.orders_table,
        "Key": {"orderId": {"S": order_id}},
        "UpdateExpression": (
            "SET #status = :confirmed, paidAt = :now, paymentIntentId = :pi REMOVE clientSecret"
        ),
        "ConditionExpression": (
            "#status = :awaiting"
            " AND (paymentIntentId = :pi OR attribute_not_exists(paymentIntentId))"
        ),
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {
            ":confirmed": {"S": CONFIRMED},
            ":awaiting": {"S": AWAITING_PAYMENT},
            ":pi": {"S": intent_id},
            ":now": {"S": instants.canonical(moment)},
        },
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def intent_record(
    settings: Settings, order_id: str, intent_id: str, client_secret: str
) -> dict[str, Any]:
    """The UpdateItem that records a hold's PaymentIntent: the first one stands."""
    return {
        "TableName": settings.orders_table,
        "Key": {"orderId": {"S": order_id}},
        "UpdateExpression": "SET paymentIntentId = :pi, clientSecret = :secret",
        "ConditionExpression": "#status = :awaiting AND attribute_not_exists(paymentIntentId)",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {
            ":pi": {"S": intent_id},
            ":secret": {"S": client_secret},
            ":awaiting": {"S": AWAITING_PAYMENT},
        },
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def intent_replacement(
    settings: Settings, order_id: str, old: str | None, intent_id: str, client_secret: str
) -> dict[str, Any]:
    """The UpdateItem that puts a fresh PaymentIntent in place of `old` on a hold."""
    values = {
        ":pi": {"S": intent_id},
        ":secret": {"S": client_secret},
        ":awaiting": {"S": AWAITING_PAYMENT},
    }
    guard = "attribute_not_exists(paymentIntentId)"
    if old is not None:
        guard = "paymentIntentId = :old"
        values[":old"] = {"S": old}
    return {
        "TableName": settings.orders_table,
        "Key": {"orderId": {"S": order_id}},
        "UpdateExpression": "SET paymentIntentId = :pi, clientSecret = :secret",
        "ConditionExpression": f"#status = :awaiting AND {guard}",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": values,
    }
