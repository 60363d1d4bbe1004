"""Pay checkout's refunds (docs/payments.md, "What can go wrong"): a payment
that came for a hold already released, a cancelled paid order's, and a spare
PaymentIntent's, each once (a lease and a mark on the order, Stripe's
idempotency key besides)."""

from __future__ import annotations

from chalicelib import observability
from chalicelib.delivery import Channel, Failed
from chalicelib.model import Order
from chalicelib.orders.transactions import Hold
from chalicelib.payments.base import CheckoutBase
from chalicelib.payments.stripe_gateway import Unavailable

REFUND = Channel("refund", "checkout", mark="refundedAt", outcome="refundId", lease="refundLease")


def spare_refund(intent_id: str) -> Channel:
    """The refund of a payment on one of an order's spare PaymentIntents, marked
    on the order apart from the order's own refund (REFUND)."""
    return Channel(
        "spare refund",
        "checkout",
        mark=f"spareRefundedAt_{intent_id}",
        outcome=f"spareRefundId_{intent_id}",
        lease=f"spareRefundLease_{intent_id}",
    )


class Refunds(CheckoutBase):
    """Money given back, once."""

    def _refund_or_retry(self, order: Order) -> Order:
        try:
            self._refund(order, late=False)
        except (Unavailable, Failed):
            # The cancellation stands; the refund is retried from the holds queue.
            self._queue.retry_refund(Hold.of(order))
            return order
        return self._orders.get(order.order_id)

    def _refund(self, order: Order, late: bool) -> None:
        """Refund `order`'s payment in full, once (the refund lease and mark on the
        order; Stripe's idempotency key besides)."""
        assert order.payment_intent_id is not None
        if not self._ledger.claim(order.order_id, REFUND):
            return  # refunded already
        try:
            refund_id = self._gateway().refund(order.payment_intent_id, order.order_id)
        except Unavailable:
            self._ledger.release(order.order_id, REFUND)
            raise
        self._ledger.mark(order.order_id, REFUND, refund_id)
        observability.count("Refunds")
        if late:
            observability.count("LateRefunds")
            observability.logger.warning("late payment refunded", order_id=order.order_id)

    def _refund_spare(self, order_id: str, intent_id: str) -> None:
        """Refund a payment on a PaymentIntent that is not the order's, once: its
        own lease and mark on the order, never the order's refund mark (taking
        that would skip the refund of the order's own payment later)."""
        channel = spare_refund(intent_id)
        if not self._ledger.claim(order_id, channel):
            return  # refunded already
        try:
            refund_id = self._gateway().refund(intent_id, order_id)
        except Unavailable:
            self._ledger.release(order_id, channel)
            raise
        self._ledger.mark(order_id, channel, refund_id)
        observability.count("Refunds")
        observability.count("LateRefunds")
        observability.logger.warning(
            "spare intent refunded", order_id=order_id, intent_id=intent_id
        )
