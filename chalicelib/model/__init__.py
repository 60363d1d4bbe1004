"""The domain records every part of FlashSale shares, and their one mapping each
way to DynamoDB items and the contract's JSON.

- `product`: `Product` (stored), `ProductInput` (what an operator writes).
- `order`: `Order`, its statuses and allocation, `OrderRequest` (what a shopper asks).
- `wire`: DynamoDB attribute values and JSON numbers, as the records read them.

Kept free of the HTTP parser, the catalog and the order writer, so that the
stream handlers (notifier, mailer) load only what they use.
"""

from chalicelib.model.order import (
    AWAITING_PAYMENT,
    CANCELLED,
    CONFIRMED,
    RELEASED,
    Allocation,
    Order,
    OrderRequest,
)
from chalicelib.model.product import Product, ProductInput, WaitingRoom, shard_key
from chalicelib.model.wire import Item, number

__all__ = [
    "AWAITING_PAYMENT",
    "CANCELLED",
    "CONFIRMED",
    "RELEASED",
    "Allocation",
    "Item",
    "Order",
    "OrderRequest",
    "Product",
    "ProductInput",
    "WaitingRoom",
    "number",
    "shard_key",
]
