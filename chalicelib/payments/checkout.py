"""Pay checkout: holds, payment, release and refunds around the order writer
(docs/payments.md).

An order of a `pay` product is placed by the order writer exactly as an instant
one (one TransactWriteItems takes the units), with status AWAITING_PAYMENT. This
module then gives it a PaymentIntent and a release message, takes the card,
confirms it on Stripe's signed webhook and releases it when unpaid. Every
transition is one conditional write on the order's status, so concurrent,
duplicate and reordered webhooks and releases meet on the item and exactly one
of them wins: a hold ends CONFIRMED or RELEASED, never both; money that arrives
for a hold that was released goes back.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import aws, catalog, instants, observability, retry
from chalicelib.delivery import Channel, Failed, Ledger
from chalicelib.errors import (
    Busy,
    HoldExpired,
    InvalidSignature,
    OrderNotPayable,
    PaymentFailed,
    PaymentUnavailable,
)
from chalicelib.model import AWAITING_PAYMENT, CONFIRMED, RELEASED, Order, OrderRequest
from chalicelib.orders import queries
from chalicelib.orders.service import OrderService
from chalicelib.orders.transactions import (
    Hold,
    batch_release_items,
    intent_record,
    intent_replacement,
    payment_confirmation,
    release_batches,
    release_items,
    units_back,
)
from chalicelib.orders.writer import Placed
from chalicelib.payments import holds
from chalicelib.payments.stripe_gateway import (
    PAYING,
    BadSignature,
    Declined,
    Gateway,
    Spent,
    Unavailable,
)
from chalicelib.settings import Settings

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


# A release message may arrive this early (its delay is whole seconds); the
# release waits the rest. Earlier than this, it is sent on again.
EARLY_SECONDS = 2.0
RELEASE_ATTEMPTS = 5


class Checkout:
    """Pay checkout around an OrderService."""

    def __init__(
        self,
        orders: OrderService,
        client: Any,
        settings: Settings,
        gateway: Callable[[], Gateway],
        queue: holds.HoldQueue,
        ledger: Ledger,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._orders = orders
        self._client = client
        self._settings = settings
        self._gateway = gateway  # built on first use: instant orders never load stripe
        self._queue = queue
        self._ledger = ledger
        self._sleep = sleep
        # Looked up at each call, not bound at import: a default of `instants.now`
        # would keep whatever stood in for it when this module was first imported.
        self._now = now or (lambda: instants.now())

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
            if not _failed(exc) or stored is None:
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
            if _failed(exc):
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
            if not _failed(exc):
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

    # --- release and refund ----------------------------------------------------------

    def release_batch(self, event: dict[str, Any]) -> dict[str, Any]:
        """The `release_holds` function: a batch of holds-queue messages; the
        messages to deliver again, as a partial batch response."""
        records = event.get("Records", [])
        outcomes = self.release_messages([str(record["body"]) for record in records])
        failures = []
        for record, outcome in zip(records, outcomes, strict=True):
            if isinstance(outcome, Exception):
                observability.logger.warning(
                    "hold message comes back", message_id=record["messageId"], error=str(outcome)
                )
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    def release_messages(self, bodies: list[str]) -> list[str | Exception]:
        """Each message's outcome, or what it raised. The releases due now go in
        shared transactions, up to RELEASE_BATCH holds of one product each;
        every other message (checks, refunds, holds not yet due) on its own.
        All at once: each waits on Stripe and DynamoDB."""
        outcomes: list[str | Exception] = [""] * len(bodies)
        due: list[tuple[int, Hold]] = []
        alone: list[int] = []
        for n, body in enumerate(bodies):
            try:
                kind, hold = holds.decode(body)
            except ValueError as exc:
                outcomes[n] = exc
                continue
            if kind == "release" and self._left(hold) <= EARLY_SECONDS:
                due.append((n, hold))
            else:
                alone.append(n)
        with ThreadPoolExecutor(max_workers=max(1, len(bodies))) as pool:
            each = {n: pool.submit(self.release_message, bodies[n]) for n in alone}
            if due:
                released = self._release_due([hold for _, hold in due], pool)
                for (n, _), outcome in zip(due, released, strict=True):
                    outcomes[n] = outcome
            for n, future in each.items():
                try:
                    outcomes[n] = future.result()
                except Exception as exc:
                    outcomes[n] = exc  # this message comes back, alone
        return outcomes

    def release_message(self, body: str) -> str:
        """One holds-queue message."""
        kind, hold = holds.decode(body)
        if kind == "check":
            return self._check(hold)
        if kind == "refund":
            order = self._find(hold.order_id)
            if order is not None and order.refund_id is None:
                self._refund(order, late=False)
            return "refunded"
        left = self._left(hold)
        if left > EARLY_SECONDS:
            self._queue.schedule(hold, self._now())  # a hold longer than SQS delays
            return "rescheduled"
        if left > 0:
            self._sleep(left)
        return "released" if self._release(hold, "expired") else "not held"

    def _left(self, hold: Hold) -> float:
        return (hold.expires_at - self._now()).total_seconds()

    def _release_due(self, due: list[Hold], pool: ThreadPoolExecutor) -> list[str | Exception]:
        """Release holds at their end (each at most EARLY_SECONDS away): their
        PaymentIntents cancelled, then those of one product in one transaction
        per RELEASE_BATCH; a batch that is cancelled (a hold paid or released
        meanwhile, a stock item re-sharded, a counter expired) is released one
        by one, so that one such hold keeps none of the others."""
        left = max(self._left(hold) for hold in due)
        if left > 0:
            self._sleep(left)  # at most EARLY_SECONDS: the batch goes at its last end
        outcomes: list[str | Exception] = ["not held"] * len(due)
        first: dict[str, int] = {}
        for n, hold in enumerate(due):
            first.setdefault(hold.order_id, n)  # a message delivered twice: released once
        unique = sorted(first.values())
        free: list[int] = []
        for n, stopping in [(n, pool.submit(self._stop_payment, due[n])) for n in unique]:
            try:
                if stopping.result():
                    free.append(n)
            except Exception as exc:
                outcomes[n] = exc
        index = {due[n].order_id: n for n in free}
        batches = release_batches([due[n] for n in free])
        for batch, result in zip(batches, pool.map(self._release_together, batches), strict=True):
            for hold, outcome in zip(batch, result, strict=True):
                outcomes[index[hold.order_id]] = outcome
        return outcomes

    def _release_together(self, batch: list[Hold]) -> list[str | Exception]:
        """Release a batch of holds of one product whose payments were stopped."""
        if len(batch) > 1:
            moment = self._now()
            items = batch_release_items(self._settings, batch, moment, "expired")
            try:
                self._write(
                    functools.partial(self._client.transact_write_items, TransactItems=items)
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    return [exc] * len(batch)
                observability.logger.info("release batch cancelled", holds=len(batch))
            except Busy as exc:
                return [exc] * len(batch)
            else:
                for hold in batch:
                    self._released(hold, moment, "expired", dict(hold.allocation))
                return ["released"] * len(batch)
        outcomes: list[str | Exception] = []
        for hold in batch:
            try:
                outcomes.append("released" if self._release_units(hold, "expired") else "not held")
            except (ClientError, BotoCoreError, Busy) as exc:
                outcomes.append(exc)
        return outcomes

    def _check(self, hold: Hold) -> str:
        """A hold the Orders stream saw committed: if the request that placed it
        died before recording its PaymentIntent, nobody can pay it (and its
        release message may not have been sent), so it is released now. A hold
        with its intent had its release message sent first (`_open`)."""
        order = self._find(hold.order_id)
        if order is None or order.status != AWAITING_PAYMENT or order.payment_intent_id:
            return "ready"
        observability.logger.warning("hold left unprepared", order_id=hold.order_id)
        released = self._release(hold, "not_prepared", unprepared=True)
        return "released unprepared" if released else "not held"

    def _settle(self, order: Order) -> Order:
        """A hold past its time, released now (the lazy check), as stored after."""
        self._release(Hold.of(order), "expired")
        return self._orders.get(order.order_id)

    def _release(self, hold: Hold, reason: str, unprepared: bool = False) -> bool:
        """Release `hold` unless money is on its way; True if this call released it.
        The PaymentIntent is cancelled first, so that no payment can start after
        the units went back (a payment already started keeps the hold for the
        webhook to decide)."""
        return self._stop_payment(hold) and self._release_units(hold, reason, unprepared)

    def _stop_payment(self, hold: Hold) -> bool:
        """Cancel the hold's PaymentIntent; False if money is on its way."""
        if hold.intent_id is not None:
            try:
                if self._gateway().cancel(hold.intent_id) in PAYING:
                    return False
            except Unavailable:
                # The units go back on time regardless; a payment that still
                # succeeds on this intent is refunded when its webhook comes.
                observability.logger.warning("intent not cancelled", order_id=hold.order_id)
        return True

    def _release_units(self, hold: Hold, reason: str, unprepared: bool = False) -> bool:
        """The hold's release transaction; True if this call released it."""
        moment = self._now()
        returned: dict[str, int] | None = None
        version: int | None = None
        keep_counter = True
        for _ in range(RELEASE_ATTEMPTS):
            items = release_items(
                self._settings, hold, moment, reason, returned, version, keep_counter, unprepared
            )
            try:
                self._write(
                    functools.partial(self._client.transact_write_items, TransactItems=items)
                )
            except ClientError as exc:
                reasons = exc.response.get("CancellationReasons") or []
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                    return False  # paid, released or cancelled meanwhile
                if (
                    hold.counted
                    and keep_counter
                    and reasons[-1].get("Code") == "ConditionalCheckFailed"
                ):
                    keep_counter = False  # the counter expired (TTL): nothing to free
                    continue
                # A stock item is gone (re-sharded): put the units where they go now.
                snapshot = catalog.read(
                    self._client, self._settings.products_table, hold.product_id
                )
                if snapshot is None:
                    returned, version = {}, None  # the product is gone: nothing to restock
                else:
                    returned = units_back(hold.allocation, hold.quantity, snapshot.product)
                    version = snapshot.product.version
                continue
            self._released(hold, moment, reason, returned or dict(hold.allocation))
            return True
        raise Busy("the hold could not be released now; it will be retried")

    def _released(
        self, hold: Hold, moment: datetime, reason: str, returned: dict[str, int]
    ) -> None:
        self._orders.stock.restock(hold.product_id, returned)
        observability.count("HoldsReleased")
        lateness = (moment - hold.expires_at).total_seconds()
        observability.logger.info(
            "hold released", order_id=hold.order_id, reason=reason, late_seconds=lateness
        )

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

    # --- helpers ---------------------------------------------------------------------

    def _due(self, order: Order) -> bool:
        return (
            order.status == AWAITING_PAYMENT
            and order.hold_expires_at is not None
            and self._now() >= order.hold_expires_at
        )

    def _find(self, order_id: str) -> Order | None:
        found: Order | None = self._write(
            lambda: queries.find(self._client, self._settings, order_id)
        )
        return found

    def _write(self, call: Callable[[], Any]) -> Any:
        """One DynamoDB request, retried here when DynamoDB asks to come back."""
        for attempt in range(RELEASE_ATTEMPTS):
            try:
                return call()
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                transient = code in aws.THROTTLING or any(
                    r.get("Code") in aws.TRANSIENT_CANCELLATIONS
                    for r in exc.response.get("CancellationReasons") or []
                )
                if not transient or attempt == RELEASE_ATTEMPTS - 1:
                    if transient:
                        raise Busy("too many requests at once; try again") from exc
                    raise
            except BotoCoreError as exc:
                if attempt == RELEASE_ATTEMPTS - 1:
                    raise Busy("the order store did not answer; try again") from exc
            self._sleep(retry.DELIVERY.delay(attempt))
        raise AssertionError("unreachable")

    def _cancel_quietly(self, intent_id: str) -> None:
        try:
            self._gateway().cancel(intent_id)
        except Unavailable:
            observability.logger.warning("spare intent not cancelled", intent_id=intent_id)


def _hold_metadata(order: Order) -> dict[str, str]:
    assert order.hold_expires_at is not None
    return {"userId": order.user_id, "holdExpiresAt": instants.canonical(order.hold_expires_at)}


def _failed(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def _ended(order: Order) -> str:
    at = order.hold_expires_at
    when = "" if at is None else f" at {instants.canonical(at)}"
    if order.release_reason == "cancelled":
        return f"this hold on {order.product_name} was cancelled; the units went back on sale"
    return f"your hold on {order.product_name} ended{when}; the units went back on sale"
