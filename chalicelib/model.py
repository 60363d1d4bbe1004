"""The domain records every part of FlashSale shares: an order, its allocation
and statuses, and the JSON form of a DynamoDB number.

Kept free of the HTTP parser, the catalog and the order writer, so that the
stream handlers (notifier, mailer) load only what they use.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from chalicelib import instants

if TYPE_CHECKING:
    from chalicelib.catalog import Product
    from chalicelib.validation import OrderRequest

Item = dict[str, dict[str, Any]]
Allocation = tuple[tuple[str, int], ...]  # (stock item key, units taken from it)

CONFIRMED = "CONFIRMED"
CANCELLED = "CANCELLED"


def number(value: Decimal | int) -> int | float:
    """A JSON number for a DynamoDB number: int when whole, else float."""
    if isinstance(value, int) or value == value.to_integral_value():
        return int(value)
    return float(value)


class Order(NamedTuple):
    order_id: str
    user_id: str
    product_id: str
    product_name: str
    quantity: int
    unit_price: Decimal
    total_amount: Decimal
    status: str
    created_at: datetime
    allocation: Allocation = ()
    email: str | None = None
    cancelled_at: datetime | None = None
    counted: bool = False  # whether it added to the shopper's purchase counter

    @classmethod
    def confirm(
        cls,
        order_id: str,
        request: OrderRequest,
        product: Product,
        moment: datetime,
        allocation: Allocation,
        email: str | None = None,
    ) -> Order:
        """A confirmed order for `request` at the product's current price."""
        return cls(
            order_id=order_id,
            user_id=request.user_id,
            product_id=product.product_id,
            product_name=product.name,
            quantity=request.quantity,
            unit_price=product.price,
            total_amount=product.price * request.quantity,
            status=CONFIRMED,
            created_at=moment,
            allocation=allocation,
            email=email,
            counted=product.max_per_user is not None,
        )

    @classmethod
    def from_item(cls, item: Item) -> Order:
        """Build an Order from a DynamoDB item in wire format."""
        taken = item.get("allocation", {}).get("M", {})
        cancelled = item.get("cancelledAt")
        return cls(
            order_id=item["orderId"]["S"],
            user_id=item["userId"]["S"],
            product_id=item["productId"]["S"],
            product_name=item["productName"]["S"],
            quantity=int(item["quantity"]["N"]),
            unit_price=Decimal(item["unitPrice"]["N"]),
            total_amount=Decimal(item["totalAmount"]["N"]),
            status=item["status"]["S"],
            created_at=instants.parse(item["createdAt"]["S"]),
            allocation=tuple(sorted((key, int(units["N"])) for key, units in taken.items())),
            email=item["email"]["S"] if "email" in item else None,
            cancelled_at=None if cancelled is None else instants.parse(cancelled["S"]),
            counted=bool(item.get("counted", {}).get("BOOL", False)),
        )

    def to_item(self) -> Item:
        """The Orders table item."""
        item: Item = {
            "orderId": {"S": self.order_id},
            "userId": {"S": self.user_id},
            "productId": {"S": self.product_id},
            "productName": {"S": self.product_name},
            "quantity": {"N": str(self.quantity)},
            "unitPrice": {"N": str(self.unit_price)},
            "totalAmount": {"N": str(self.total_amount)},
            "status": {"S": self.status},
            "createdAt": {"S": instants.canonical(self.created_at)},
            # Where the units came from: a cancellation puts them back there.
            "allocation": {"M": {key: {"N": str(units)} for key, units in self.allocation}},
        }
        if self.email is not None:
            item["email"] = {"S": self.email}
        if self.cancelled_at is not None:
            item["cancelledAt"] = {"S": instants.canonical(self.cancelled_at)}
        if self.counted:
            item["counted"] = {"BOOL": True}
        return item

    def to_json(self) -> dict[str, Any]:
        """The contract's Order representation."""
        body: dict[str, Any] = {
            "orderId": self.order_id,
            "userId": self.user_id,
            "productId": self.product_id,
            "productName": self.product_name,
            "quantity": self.quantity,
            "unitPrice": number(self.unit_price),
            "totalAmount": number(self.total_amount),
            "status": self.status,
            "createdAt": instants.canonical(self.created_at),
        }
        if self.cancelled_at is not None:
            body["cancelledAt"] = instants.canonical(self.cancelled_at)
        if self.email is not None:
            body["email"] = self.email
        return body

    def answers(self, request: OrderRequest) -> bool:
        """Whether this stored order is what `request` asked for (a true replay)."""
        return (self.user_id, self.product_id, self.quantity) == (
            request.user_id,
            request.product_id,
            request.quantity,
        )
