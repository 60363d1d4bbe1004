"""An order: the request that places it, its allocation and statuses, and its
mapping to the Orders table item and the contract's JSON."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from chalicelib import instants, money
from chalicelib.model import wire
from chalicelib.model.product import Product
from chalicelib.model.wire import Item, number

Allocation = tuple[tuple[str, int], ...]  # (stock item key, units taken from it)

CONFIRMED = "CONFIRMED"
CANCELLED = "CANCELLED"
# Pay-checkout orders (docs/payments.md): held until paid, or released.
AWAITING_PAYMENT = "AWAITING_PAYMENT"
RELEASED = "RELEASED"


class OrderRequest(NamedTuple):
    """What a shopper asks for (POST /orders, checked by chalicelib.validation)."""

    user_id: str
    product_id: str
    quantity: int
    # The waiting room's pass (chalicelib.rooms), when the product has one on.
    admission_pass: str | None = None


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
    # Pay checkout only (None on instant orders, whose item and JSON are unchanged).
    hold_expires_at: datetime | None = None
    currency: str | None = None
    amount_minor: int | None = None
    payment_intent_id: str | None = None
    client_secret: str | None = None
    paid_at: datetime | None = None
    released_at: datetime | None = None
    # "expired", "cancelled", "payment_unavailable", "payment_canceled", "not_prepared"
    release_reason: str | None = None
    refund_id: str | None = None
    refunded_at: datetime | None = None
    refund_reason: str | None = None  # "late_payment", "cancelled"
    payment_status: str | None = None  # Stripe's, as last seen by this request (not stored)

    @property
    def held(self) -> bool:
        """Whether this is a pay-checkout order (held until paid, at some point)."""
        return self.hold_expires_at is not None

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
        """The order `request` places at the product's current price: confirmed
        at once (instant checkout), or held until paid (pay checkout)."""
        order = cls(
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
        if not product.pays:
            return order
        return order._replace(
            status=AWAITING_PAYMENT,
            hold_expires_at=moment + timedelta(minutes=product.hold_minutes),
            currency=product.currency,
            amount_minor=money.minor_units(order.total_amount, product.currency),
        )

    @classmethod
    def from_item(cls, item: Item) -> Order:
        """Build an Order from a DynamoDB item in wire format."""
        taken = item.get("allocation", {}).get("M", {})
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
            cancelled_at=wire.instant(item, "cancelledAt"),
            counted=bool(item.get("counted", {}).get("BOOL", False)),
            hold_expires_at=wire.instant(item, "holdExpiresAt"),
            currency=wire.text(item, "currency"),
            amount_minor=wire.integer(item, "amountMinor"),
            payment_intent_id=wire.text(item, "paymentIntentId"),
            client_secret=wire.text(item, "clientSecret"),
            paid_at=wire.instant(item, "paidAt"),
            released_at=wire.instant(item, "releasedAt"),
            release_reason=wire.text(item, "releaseReason"),
            refund_id=wire.text(item, "refundId"),
            refunded_at=wire.instant(item, "refundedAt"),
            refund_reason=wire.text(item, "refundReason"),
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
        texts = {
            "currency": self.currency,
            "paymentIntentId": self.payment_intent_id,
            "clientSecret": self.client_secret,
            "releaseReason": self.release_reason,
            "refundId": self.refund_id,
            "refundReason": self.refund_reason,
        }
        item.update({name: {"S": value} for name, value in texts.items() if value is not None})
        moments = {
            "holdExpiresAt": self.hold_expires_at,
            "paidAt": self.paid_at,
            "releasedAt": self.released_at,
            "refundedAt": self.refunded_at,
        }
        item.update(
            {name: {"S": instants.canonical(at)} for name, at in moments.items() if at is not None}
        )
        if self.amount_minor is not None:
            item["amountMinor"] = {"N": str(self.amount_minor)}
        return item

    def to_json(self, shopper: bool = False) -> dict[str, Any]:
        """The contract's Order representation; `shopper` (the order's own shopper
        asking) adds what only they may see: the payment's client secret."""
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
        if self.held:
            body.update(self._payment_json(shopper))
        return body

    def _payment_json(self, shopper: bool) -> dict[str, Any]:
        assert self.hold_expires_at is not None
        body: dict[str, Any] = {
            "checkout": "pay",
            "holdExpiresAt": instants.canonical(self.hold_expires_at),
            "currency": self.currency,
            "amountMinor": self.amount_minor,
        }
        if self.payment_intent_id is not None:
            payment: dict[str, Any] = {
                "provider": "stripe",
                "paymentIntentId": self.payment_intent_id,
            }
            if shopper and self.status == AWAITING_PAYMENT and self.client_secret is not None:
                payment["clientSecret"] = self.client_secret
            if self.payment_status is not None:
                payment["status"] = self.payment_status
            body["payment"] = payment
        for name, at in (("paidAt", self.paid_at), ("releasedAt", self.released_at)):
            if at is not None:
                body[name] = instants.canonical(at)
        if self.release_reason is not None:
            body["releaseReason"] = self.release_reason
        if self.refund_id is not None:
            body["refund"] = {
                "refundId": self.refund_id,
                "refundedAt": None
                if self.refunded_at is None
                else instants.canonical(self.refunded_at),
                # Money back for a cancelled order, or for a payment that came
                # after its hold had ended.
                "reason": self.refund_reason
                or ("cancelled" if self.status == CANCELLED else "late_payment"),
            }
        return body

    def answers(self, request: OrderRequest) -> bool:
        """Whether this stored order is what `request` asked for (a true replay)."""
        return (self.user_id, self.product_id, self.quantity) == (
            request.user_id,
            request.product_id,
            request.quantity,
        )
