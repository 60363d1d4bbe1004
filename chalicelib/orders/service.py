"""`OrderService`, the facade wiring.py builds: the order writer (orders.writer)
with what it refused logged and counted, the cancel loop, and reads of orders
(orders.queries).
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import ClientError

from chalicelib import instants, observability
from chalicelib.catalog import Catalog
from chalicelib.catalog import read as read_product
from chalicelib.errors import (
    Busy,
    FlashSaleError,
    OrderNotCancellable,
    OrderNotFound,
)
from chalicelib.model import CANCELLED, Order, OrderRequest
from chalicelib.orders import queries
from chalicelib.orders.budget import MAX_CALLS, Budget
from chalicelib.orders.stock import StockView
from chalicelib.orders.transactions import cancellation_items, return_to
from chalicelib.orders.verdicts import (
    AlreadyCancelled,
    CounterGone,
    Stale,
    Transient,
    Unexplained,
    judge_cancel,
)
from chalicelib.orders.writer import OrderWriter, Placed
from chalicelib.settings import Settings

# Refusals the console counts by reason (an unknown product is not a sale's refusal).
COUNTED_REFUSALS = frozenset(
    {"OUT_OF_STOCK", "SALE_NOT_ACTIVE", "PURCHASE_LIMIT_EXCEEDED", "BUSY", "IDEMPOTENCY_KEY_REUSED"}
)


class Tally(Protocol):
    """Where refusals are counted (chalicelib.sales.RejectionTally)."""

    def add(self, product_id: str, code: str, moment: datetime) -> None: ...

    def flush(self, force: bool = False) -> None: ...


def _stage_room_key() -> bytes:
    from chalicelib import wiring  # built services live there; imported when a room needs it

    return wiring.room_key()


class OrderService(OrderWriter):
    """Places and reads orders. Products are cached per container with a stock
    hint per item; every transaction re-checks what the cache assumed, so a
    stale entry can cost a retry but never a wrong order. What DynamoDB last
    said about a sold-out or closed sale is answered from memory for
    `belief_ttl` seconds (one request a second looks again)."""

    def __init__(
        self,
        client: Any,
        settings: Settings,
        products: Catalog,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        belief_ttl: float = 1.0,
        reader: Any = None,
        rng: random.Random | None = None,
        tally: Tally | None = None,
        room_key: Callable[[], bytes] | None = None,
    ) -> None:
        rng = rng or random.Random()
        stock = StockView(clock, belief_ttl, rng)
        super().__init__(
            client,
            settings,
            products.table,
            stock,
            sleep,
            clock,
            belief_ttl,
            rng,
            room_key or _stage_room_key,
        )
        self._reader = reader if reader is not None else client  # plain reads of orders
        self._tally = tally
        products.on_change(self.stock.forget)

    def place(
        self, request: OrderRequest, idempotency_key: str | None = None, email: str | None = None
    ) -> Placed:
        """Place an order atomically: stock, per-user count and order in one write."""
        try:
            placed = self._place(request, idempotency_key, email)
        except FlashSaleError as error:
            observability.logger.info(
                "order rejected", reason=error.code, product_id=request.product_id
            )
            observability.count("OrdersRejected", reason=error.code)
            if self._tally is not None and error.code in COUNTED_REFUSALS:
                self._tally.add(request.product_id, error.code, instants.now())
                if not isinstance(error, Busy):  # never add load to a busy table
                    self._tally.flush()
            raise
        if self._tally is not None:
            self._tally.flush()
        observability.logger.info(
            "order placed",
            order_id=placed.order.order_id,
            product_id=placed.order.product_id,
            quantity=placed.order.quantity,
            replayed=placed.replayed,
        )
        if not placed.replayed:
            observability.count("OrdersPlaced")
        return placed

    # --- cancellations -----------------------------------------------------------------

    def cancel(self, order_id: str, shopper: str | None = None) -> Order:
        """Cancel a confirmed order: a shopper (`shopper`) their own within the
        product's cancel window, an operator (None) any. One TransactWriteItems
        marks the order CANCELLED, puts its units back where they came from and
        frees the shopper's purchase count; a second cancel returns the order."""
        budget = Budget(MAX_CALLS, self._sleep, self._rng)
        keep_counter = True
        while True:
            order = budget.read(lambda: queries.find(self._client, self._settings, order_id))
            if order is None or (shopper is not None and order.user_id != shopper):
                raise OrderNotFound(f"order {order_id} does not exist")
            if order.status == CANCELLED:
                return order
            snapshot = budget.read(
                functools.partial(read_product, self._client, self._table, order.product_id),
            )
            if snapshot is None:
                raise OrderNotCancellable(f"{order.product_name} is no longer sold here")
            product = snapshot.product
            moment = instants.now()
            if shopper is not None:
                deadline = order.created_at + timedelta(minutes=product.cancel_window_minutes)
                if moment > deadline:
                    raise OrderNotCancellable(
                        f"orders of {product.name} can be cancelled for "
                        f"{product.cancel_window_minutes} minutes; this one was placed at "
                        f"{instants.canonical(order.created_at)}"
                    )
            returned = return_to(order, product)
            items = cancellation_items(
                self._settings, order, product, returned, moment, keep_counter
            )
            try:
                budget.spend()
                self._client.transact_write_items(TransactItems=items)
            except ClientError as exc:
                match judge_cancel(exc.response, keep_counter and order.counted):
                    case AlreadyCancelled(order=cancelled):
                        return cancelled  # cancelled meanwhile: same answer
                    case CounterGone():
                        keep_counter = False  # the counter expired (TTL): nothing to free
                    case Stale():
                        pass  # changed or re-sharded meanwhile: read where the units go now
                    case Transient():
                        budget.back_off(exc)
                    case Unexplained():
                        raise
                continue
            self.stock.restock(product.product_id, returned)
            observability.count("OrdersCancelled")
            return order._replace(status=CANCELLED, cancelled_at=moment)

    # --- reads ---------------------------------------------------------------------------

    def get(self, order_id: str, owner: str | None = None) -> Order:
        """One order, or OrderNotFound; with an `owner`, only that shopper's (another
        shopper's order is reported missing, so order ids reveal nothing)."""
        order = queries.find(self._reader, self._settings, order_id)
        if order is None or (owner is not None and order.user_id != owner):
            raise OrderNotFound(f"order {order_id} does not exist")
        return order

    def for_user(self, user_id: str, limit: int, token: str | None) -> dict[str, Any]:
        """A user's orders, newest first, a page at a time."""
        return queries.for_user(self._reader, self._settings, user_id, limit, token)
