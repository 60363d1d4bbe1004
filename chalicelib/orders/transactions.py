"""The TransactWriteItems an order and a cancellation send: every condition that
keeps an order true (docs/orders.md, "How an order is placed", step 3). Pure builders;
the service sends them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from chalicelib import instants
from chalicelib.catalog import Product
from chalicelib.model import CANCELLED, CONFIRMED, Order
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
        items.append(
            {
                "Update": {
                    "TableName": settings.purchases_table,
                    "Key": {
                        "userId": {"S": order.user_id},
                        "productId": {"S": order.product_id},
                    },
                    "UpdateExpression": "ADD purchased :minus",
                    "ConditionExpression": "purchased >= :q",
                    "ExpressionAttributeValues": {
                        ":minus": {"N": str(-order.quantity)},
                        ":q": {"N": str(order.quantity)},
                    },
                }
            }
        )
    return items


def return_to(order: Order, product: Product) -> dict[str, int]:
    """Where a cancelled order's units go: the stock items they came from, or,
    for items re-sharded away since (or an order that predates allocations), the
    product's first stock item."""
    current = set(product.stock_keys)
    taken = order.allocation or ((product.stock_keys[0], order.quantity),)
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
