"""What a shopper reads about an order, written once: the subject, the lead and
the order summary of a confirmation, a cancellation or a late payment's
refund. The SNS message's text (what an email subscriber of the topic reads)
and the SES email's plain-text and HTML parts are all made here, so they
never drift apart.
"""

from __future__ import annotations

import html
from enum import Enum

from chalicelib import instants
from chalicelib.model import Order, number


class Kind(Enum):
    """The messages an order gets: its confirmation, its cancellation, and the
    refund of a payment that came after its hold had ended."""

    PLACED = "OrderPlaced"
    CANCELLED = "OrderCancelled"
    REFUNDED = "PaymentRefunded"

    @property
    def type(self) -> str:
        """The event type in the SNS message and its `type` attribute."""
        return self.value

    @property
    def subject(self) -> str:
        """The subject of the SNS message and of the email."""
        return SUBJECTS[self]


SUBJECTS = {
    Kind.PLACED: "Order Placed Successfully",
    Kind.CANCELLED: "Order Cancelled",
    Kind.REFUNDED: "Payment Refunded",
}
LEADS = {
    Kind.PLACED: "Thank you for your order! It is confirmed.",
    Kind.CANCELLED: "Your order has been cancelled and the amount will not be charged.",
    Kind.REFUNDED: (
        "Your payment arrived after your hold had ended and the units had gone back on"
        " sale, so it has been refunded in full. Nothing was sold to you."
    ),
}
# The longest label ("Cancelled at:") sets one column for every message.
LABEL_WIDTH = 13


def rows(order: Order) -> list[tuple[str, str]]:
    """The order summary as (label, value) rows."""
    found = [
        ("Order", order.order_id),
        ("Product", f"{order.product_name} ({order.product_id})"),
        ("Quantity", str(order.quantity)),
        ("Unit price", str(number(order.unit_price))),
        ("Total", str(number(order.total_amount))),
        ("Placed at", instants.canonical(order.created_at)),
    ]
    if order.cancelled_at is not None:
        found.append(("Cancelled at", instants.canonical(order.cancelled_at)))
    if order.released_at is not None:
        # When it was released, which is before its holdExpiresAt if the shopper
        # let it go or it could not be prepared.
        found.append(("Hold ended", instants.canonical(order.released_at)))
    if order.refunded_at is not None:
        found.append(("Refunded at", instants.canonical(order.refunded_at)))
    return found


def text(kind: Kind, order: Order) -> str:
    """The plain-text message: the lead, then one aligned line per row."""
    lines = (f"{label + ':':<{LABEL_WIDTH}} {value}" for label, value in rows(order))
    return "\n".join([LEADS[kind], "", *lines])


def page(kind: Kind, order: Order) -> str:
    """The same message as an HTML page (every value escaped)."""
    cells = "".join(
        f"<tr><th scope='row' style='text-align:left;padding-right:1em'>{html.escape(label)}</th>"
        f"<td>{html.escape(value)}</td></tr>"
        for label, value in rows(order)
    )
    return (
        "<!doctype html><html><body style='font-family:sans-serif'>"
        f"<h1 style='font-size:1.2em'>{html.escape(kind.subject)}</h1>"
        f"<p>{html.escape(LEADS[kind])}</p>"
        f"<table data-order-id='{html.escape(order.order_id)}'>{cells}</table></body></html>"
    )
