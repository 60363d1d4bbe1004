"""Pay checkout: holds, payment, release and refunds around the order writer
(docs/payments.md).

An order of a `pay` product is placed by the order writer exactly as an instant
one (one TransactWriteItems takes the units), with status AWAITING_PAYMENT. This
module then gives it a PaymentIntent and a release message, takes the card and
confirms it on Stripe's signed webhook; releases.py releases it when unpaid and
refunds.py gives back money that came too late (Checkout is built on both, and
on base.py's shared services and retries). Every
transition is one conditional write on the order's status, so concurrent,
duplicate and reordered webhooks and releases meet on the item and exactly one
of them wins: a hold ends CONFIRMED or RELEASED, never both; money that arrives
for a hold that was released goes back.
"""

from __future__ import annotations

import functools
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import instants, observability
from chalicelib.delivery import Failed
from chalicelib.errors import (
    HoldExpired,
    InvalidSignature,
    OrderNotPayable,
    PaymentFailed,
    PaymentUnavailable,
)
from chalicelib.model import AWAITING_PAYMENT, CONFIRMED, RELEASED, Order, OrderRequest
from chalicelib.orders.transactions import (
    Hold,
    intent_record,
    intent_replacement,
    payment_confirmation,
)
from chalicelib.orders.writer import Placed
from chalicelib.payments.base import failed_condition
from chalicelib.payments.releases import Releases
from chalicelib.payments.stripe_gateway import BadSignature, Declined, Spent, Unavailable


class Checkout(Releases):
    """Pay checkout around an OrderService: the shopper's requests and Stripe's
    webhook here; releases (releases.py) and refunds (refunds.py) below it."""

    # --- the shopper's requests ------------------------------------------------------

    def place(
        self, request: OrderRequest, key: str | None = None, email: str | None = None
    ) -> Placed:
        """POST /orders: an instant order as ever; a hold with its PaymentIntent."""
        placed = self._orders.place(request, key, email)
        order = placed.order
        if order.status != AWAITING_PAYMENT:
            return placed
        if self._due(order):
            return Placed(self._settle(order), placed.replayed)
        if order.payment_intent_id is not None:
            return placed  # a replay of a hold already ready to pay
        return Placed(self._open(order), placed.replayed)

    def _open(self, order: Order) -> Order:
        """Give a fresh hold its PaymentIntent and its release message. If either
        cannot be had, the hold is released at once: nothing stays held that
        nobody would release, and the shopper is told to try again.

        The release message goes before the intent is recorded, so that a hold
        with its intent always has its release coming: a request that dies
        between the two leaves a hold without an intent, which nobody can pay
        and which its check (the Orders stream's) releases 30 s on."""
        assert order.amount_minor is not None and order.currency is not None
        try:
            intent = self._gateway().create_intent(
                order.order_id, order.amount_minor, order.currency, _hold_metadata(order)
            )
        except Unavailable as exc:
            self._release(Hold.of(order), "payment_unavailable")
            observability.count("OrdersRejected", reason=PaymentUnavailable.code)
            raise PaymentUnavailable("payments are not available right now; try again") from exc
        prepared = order._replace(
            payment_intent_id=intent.intent_id,
            client_secret=intent.client_secret,
        )
        try:
            self._queue.schedule(Hold.of(prepared), self._now())
        except (ClientError, BotoCoreError) as exc:
            self._release(Hold.of(prepared), "payment_unavailable")
            observability.count("OrdersRejected", reason=PaymentUnavailable.code)
            raise PaymentUnavailable("holds cannot be timed right now; try again") from exc
        try:
            self._client.update_item(
                **intent_record(
                    self._settings, order.order_id, intent.intent_id, intent.client_secret
                )
            )
        except ClientError as exc:
            stored = exc.response.get("Item")
            if not failed_condition(exc) or stored is None:
                # The hold stays without an intent: its check releases it.
                self._cancel_quietly(intent.intent_id)
                raise
            # A concurrent replay of this order recorded its intent first: that
            # one stands, with its own release message. Stripe gives both
            # replays the same intent (the key is the order's): then there is
            # nothing to cancel. Otherwise this one's message names a cancelled
            # intent: at the hold's end it releases the hold even if a payment
            # on the standing intent is under way (which, if it succeeds, is
            # refunded), as after a fresh intent.
            standing = Order.from_item(stored)
            if standing.payment_intent_id != intent.intent_id:
                self._cancel_quietly(intent.intent_id)
            return standing
        return prepared

    def pay(self, order_id: str, shopper: str | None, payment_method: str) -> Order:
        """POST /orders/{id}/pay: attach the card and confirm it with Stripe. The
        order turns CONFIRMED when Stripe's webhook says the payment succeeded."""
        order = self._orders.get(order_id, owner=shopper)
        if order.status == CONFIRMED and order.held:
            return order  # paid already: paying again would charge twice
        if order.status == AWAITING_PAYMENT and self._due(order):
            order = self._settle(order)
        if order.status == RELEASED:
            raise HoldExpired(_ended(order))
        if order.status != AWAITING_PAYMENT:
            raise OrderNotPayable(
                f"order {order_id} is {order.status.lower()}, not awaiting payment"
            )
        if order.payment_intent_id is None:
            raise PaymentUnavailable("this hold is still being prepared; try again")
        try:
            status = self._charge(order.payment_intent_id, payment_method)
        except Spent:
            order = self._fresh_intent(order)
            assert order.payment_intent_id is not None
            status = self._charge(order.payment_intent_id, payment_method)
        return order._replace(payment_status=status)

    def pay_intent(
        self, order_id: str, shopper: str | None, intent_id: str, payment_method: str
    ) -> dict[str, Any] | None:
        """POST /orders/{id}/pay naming the order's PaymentIntent: Stripe's copy of
        the hold (its metadata) stands in for reading the order, so a paid order
        costs DynamoDB only its three writes. None when the order must be read
        after all (the hold has ended, or the intent can take no more cards)."""
        try:
            status, hold = self._gateway().metadata(intent_id)
        except Unavailable as exc:
            raise PaymentUnavailable("the payment could not be sent; try again") from exc
        owner = hold.get("userId")
        if hold.get("orderId") != order_id or (shopper is not None and owner != shopper):
            raise OrderNotPayable(f"{intent_id} is not the payment of order {order_id}")
        ends = hold.get("holdExpiresAt")
        if status == "canceled" or ends is None or self._now() >= instants.parse(ends):
            return None
        try:
            paid = self._charge(intent_id, payment_method)
        except Spent:
            return None
        return {
            "orderId": order_id,
            "status": AWAITING_PAYMENT,
            "holdExpiresAt": ends,
            "payment": {"provider": "stripe", "paymentIntentId": intent_id, "status": paid},
        }

    def _charge(self, intent_id: str, payment_method: str) -> str:
        """Stripe's status after charging the card, in the contract's errors
        (Spent passes through: the caller decides whether a fresh intent is due)."""
        try:
            return self._gateway().pay(intent_id, payment_method, payment_method)
        except Declined as declined:
            observability.count("PaymentsFailed")
            raise PaymentFailed(str(declined)) from declined
        except Unavailable as exc:
            raise PaymentUnavailable("the payment could not be sent; try again") from exc

    def _fresh_intent(self, order: Order) -> Order:
        """A new PaymentIntent for a hold whose intent can take no more cards (a
        retry after a decline, on localstripe): recorded in place of the old one,
        which is cancelled. The hold's release message still names the old one,
        so a payment on the new one that is under way at the hold's end does not
        keep the hold: if it succeeds, it is refunded."""
        assert order.amount_minor is not None and order.currency is not None
        old = order.payment_intent_id
        try:
            intent = self._gateway().create_intent(
                order.order_id,
                order.amount_minor,
                order.currency,
                _hold_metadata(order),
                attempt=old,
            )
        except Unavailable as exc:
            raise PaymentUnavailable("the payment could not be sent; try again") from exc
        try:
            self._write(
                functools.partial(
                    self._client.update_item,
                    **intent_replacement(
                        self._settings, order.order_id, old, intent.intent_id, intent.client_secret
                    ),
                )
            )
        except ClientError as exc:
            self._cancel_quietly(intent.intent_id)
            if failed_condition(exc):
                raise OrderNotPayable("this order changed meanwhile; look at it again") from exc
            raise
        if old is not None:
            self._cancel_quietly(old)
        return order._replace(
            payment_intent_id=intent.intent_id, client_secret=intent.client_secret
        )

    def get(self, order_id: str, owner: str | None = None) -> Order:
        """GET /orders/{id}: a hold past its time is released as it is read."""
        order = self._orders.get(order_id, owner=owner)
        return self._settle(order) if self._due(order) else order

    def cancel(self, order_id: str, shopper: str | None = None) -> Order:
        """Cancel: a hold is released now; a paid order is cancelled as an instant
        one (units back) and its payment refunded."""
        order = self._orders.get(order_id, owner=shopper)
        if order.status == AWAITING_PAYMENT:
            self._release(Hold.of(order), "cancelled")
            return self._orders.get(order_id)
        cancelled = self._orders.cancel(order_id, shopper)
        if cancelled.held and cancelled.paid_at is not None and cancelled.refund_id is None:
            return self._refund_or_retry(cancelled)
        return cancelled

    # --- Stripe's webhook ------------------------------------------------------------

    def on_webhook(self, payload: bytes, signature: str | None) -> str:
        """Act on one signed Stripe event; what was done, for the log."""
        try:
            event = self._gateway().event(payload, signature)
        except BadSignature as exc:
            raise InvalidSignature(str(exc)) from exc
        if event is None or event.order_id is None:
            return "ignored"
        if event.type == "payment_intent.succeeded":
            try:
                return self._paid(event.order_id, event.intent_id)
            except (Unavailable, Failed) as exc:
                # A 503 brings the event back: Stripe retries webhooks for days.
                observability.logger.warning(
                    "payment event not settled", order_id=event.order_id, error=str(exc)
                )
                raise PaymentUnavailable("the refund could not be made now") from exc
        order = self._find(event.order_id)
        if order is None or order.status != AWAITING_PAYMENT:
            return "nothing to do"
        if event.type == "payment_intent.payment_failed":
            observability.count("PaymentsFailed")
            # The hold stays until it ends: the shopper may try another card.
            return self._settle(order).status.lower() if self._due(order) else "hold kept"
        if event.type == "payment_intent.canceled" and event.intent_id == order.payment_intent_id:
            self._release(Hold.of(order), "payment_canceled")
            return "released"
        return "ignored"

    def _paid(self, order_id: str, intent_id: str) -> str:
        moment = self._now()
        try:
            self._write(
                functools.partial(
                    self._client.update_item,
                    **payment_confirmation(self._settings, order_id, intent_id, moment),
                )
            )
        except ClientError as exc:
            if not failed_condition(exc):
                raise
            stored = exc.response.get("Item")
            if stored is None:
                observability.logger.error("payment for unknown order", order_id=order_id)
                return "unknown order"
            order = Order.from_item(stored)
            if order.status == CONFIRMED and order.payment_intent_id == intent_id:
                return "confirmed already"  # a duplicate event
            if order.payment_intent_id not in (None, intent_id):
                # A spare intent (one that lost a race to be the order's, or was
                # replaced after a decline) took money after all: it goes back,
                # and the order's own payment, whatever becomes of it, stands.
                self._refund_spare(order_id, intent_id)
                return "refunded a spare intent"
            # Released (or cancelled) before the money came: it goes back.
            late = order._replace(payment_intent_id=intent_id)
            self._refund(late, late=order.status == RELEASED)
            return "refunded"
        observability.count("PaymentsConfirmed")
        observability.logger.info("order paid", order_id=order_id)
        return "confirmed"


def _hold_metadata(order: Order) -> dict[str, str]:
    assert order.hold_expires_at is not None
    return {"userId": order.user_id, "holdExpiresAt": instants.canonical(order.hold_expires_at)}


def _ended(order: Order) -> str:
    at = order.hold_expires_at
    when = "" if at is None else f" at {instants.canonical(at)}"
    if order.release_reason == "cancelled":
        return f"this hold on {order.product_name} was cancelled; the units went back on sale"
    return f"your hold on {order.product_name} ended{when}; the units went back on sale"
