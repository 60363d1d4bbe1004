"""Pay checkout's releases (docs/payments.md, "Release, on time"): the holds
queue's messages (a hold's end, a check of a new hold, a refund retried), holds
of one product ending together released in shared transactions, and the one
hold's release the lazy check and a cancellation use."""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import catalog, observability
from chalicelib.errors import Busy
from chalicelib.model import AWAITING_PAYMENT, Order
from chalicelib.orders.transactions import (
    Hold,
    batch_release_items,
    release_batches,
    release_items,
    units_back,
)
from chalicelib.payments import holds
from chalicelib.payments.base import RELEASE_ATTEMPTS
from chalicelib.payments.refunds import Refunds
from chalicelib.payments.stripe_gateway import PAYING, Unavailable

# A release message may arrive this early (its delay is whole seconds); the
# release waits the rest. Earlier than this, it is sent on again.
EARLY_SECONDS = 2.0


class Releases(Refunds):
    """Holds released at their end, or now."""

    def release_batch(self, event: dict[str, Any]) -> dict[str, Any]:
        """The `release_holds` function: a batch of holds-queue messages; the
        messages to deliver again, as a partial batch response. Built here, not
        by Powertools' batch processor: that hands its handler one record at a
        time, and the holds of one product are released together, in one
        transaction, only when the whole batch is seen at once."""
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
