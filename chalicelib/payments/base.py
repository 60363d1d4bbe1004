"""What every part of pay checkout shares (docs/payments.md): the services it
works with, the clock, and DynamoDB requests retried where DynamoDB asks to come
back. chalicelib/payments/checkout.py builds on it, through the refunds
(refunds.py) and the releases (releases.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import aws, instants, observability, retry
from chalicelib.delivery import Ledger
from chalicelib.errors import Busy
from chalicelib.model import AWAITING_PAYMENT, Order
from chalicelib.orders import queries
from chalicelib.orders.service import OrderService
from chalicelib.payments import holds
from chalicelib.payments.stripe_gateway import Gateway, Unavailable
from chalicelib.settings import Settings

# Attempts at one DynamoDB request, and at a release's transaction.
RELEASE_ATTEMPTS = 5


class CheckoutBase:
    """The services and helpers every part of pay checkout uses."""

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


def failed_condition(exc: ClientError) -> bool:
    """Whether a write was refused by its condition."""
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")
