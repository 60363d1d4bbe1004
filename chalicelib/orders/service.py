"""The order writer: one DynamoDB TransactWriteItems per attempt, a bounded
number of requests per order whatever happens.

How an order is placed (docs/orders.md, "How an order is placed", has the why):

1. The product comes from the container's cache (filled by one consistent read
   of the product and its stock items) with a per-item stock *hint*.
2. `plan` picks the stock items from the hints: one item that holds the whole
   quantity when there is one (chosen at random, weighted by units, so
   concurrent buyers spread over the shards), else the fewest items that do.
   The planned units are reserved in the hints until the answer comes back, so
   threads of one container do not plan on the same units.
3. One TransactWriteItems: the stock decrements (each conditional on enough
   units, the product's version and price and the sale window), the order put
   (conditional on the order not existing: a replay finds its own order) and,
   for limited products, the shopper's purchase counter.
4. A cancelled transaction is turned into a `Verdict` by `judge` (orders.verdicts), a pure
   function of DynamoDB's answer (`ALL_OLD` on every item says why with no
   extra read), and `OrderService._place` acts on it: return the replayed
   order, refuse (key reused, gone, window, limit, sold out), re-read and
   re-plan (stale product, short stock), or back off and retry (conflict,
   throttling).

Retries live in one layer: this loop. The client it uses has botocore's own
retries switched off, and every order request makes at most `MAX_CALLS`
DynamoDB requests in total (reads included) before it answers 503 BUSY.
"""

from __future__ import annotations

import functools
import random
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import aws, instants, observability, retry
from chalicelib.catalog import Catalog, Snapshot
from chalicelib.catalog import read as read_product
from chalicelib.errors import (
    Busy,
    FlashSaleError,
    IdempotencyKeyReused,
    OrderNotCancellable,
    OrderNotFound,
    ProductNotFound,
    PurchaseLimitExceeded,
    SaleNotActive,
)
from chalicelib.model import CANCELLED, Order, OrderRequest, Product
from chalicelib.orders import queries
from chalicelib.orders.stock import StockView
from chalicelib.orders.transactions import cancellation_items, order_items, return_to
from chalicelib.orders.verdicts import (
    AlreadyCancelled,
    Attempt,
    CounterGone,
    KeyReused,
    LimitReached,
    ProductGone,
    Replayed,
    Short,
    Stale,
    Transient,
    Unexplained,
    WindowClosed,
    judge,
    judge_cancel,
    window_message,
)
from chalicelib.settings import Settings

# Order ids derived from an Idempotency-Key live in their own UUID namespace.
_KEYED_ORDERS = uuid.UUID("5b0f4a5e-8f55-4c6e-9d8e-0d6f1a5e7c21")
# DynamoDB requests one order request may make, all attempts and reads included.
MAX_CALLS = 6

T = TypeVar("T")
# Refusals the console counts by reason (an unknown product is not a sale's refusal).
COUNTED_REFUSALS = frozenset(
    {"OUT_OF_STOCK", "SALE_NOT_ACTIVE", "PURCHASE_LIMIT_EXCEEDED", "BUSY", "IDEMPOTENCY_KEY_REUSED"}
)


class Tally(Protocol):
    """Where refusals are counted (chalicelib.sales.RejectionTally)."""

    def add(self, product_id: str, code: str, moment: datetime) -> None: ...

    def flush(self, force: bool = False) -> None: ...


def order_id_for(user_id: str, idempotency_key: str | None) -> str:
    """A fresh order id, or the one a shopper's Idempotency-Key always maps to.
    Keys are scoped to the shopper: two shoppers using the same key never meet."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    # User ids never contain a newline, so the pair is unambiguous.
    return str(uuid.uuid5(_KEYED_ORDERS, f"{user_id}\n{idempotency_key}"))


class Placed(NamedTuple):
    order: Order
    replayed: bool


class _Budget:
    """The DynamoDB requests an order request may still make, and how many of
    them DynamoDB asked to come back later (the backoff grows with those)."""

    def __init__(self, calls: int) -> None:
        self.left = calls
        self.transient = 0

    def spend(self) -> None:
        if self.left <= 0:
            raise Busy("too many shoppers at once; try again")
        self.left -= 1


class OrderService:
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
    ) -> None:
        self._client = client  # botocore retries off: this loop is the retry layer
        self._reader = reader if reader is not None else client  # plain reads of orders
        self._settings = settings
        self._catalog = products
        self._sleep = sleep
        self._clock = clock
        self._belief_ttl = belief_ttl
        self._rng = rng or random.Random()
        self._tally = tally
        self.stock = StockView(clock, belief_ttl, self._rng)
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

    def _place(self, request: OrderRequest, key: str | None, email: str | None) -> Placed:
        order_id = order_id_for(request.user_id, key)
        budget = _Budget(MAX_CALLS)
        product = self._product(request.product_id, budget)
        refusal = self.stock.believed_refusal(product, request.quantity)
        if refusal is not None:
            return self._unless_replayed(refusal, order_id, request, key, budget)
        unsure = False  # an earlier attempt may have committed (the answer was lost)
        while True:
            if product.max_per_user is not None and request.quantity > product.max_per_user:
                # The limit may have been raised elsewhere: look (at most once a
                # belief period per container) before refusing.
                product = self._read_fresh(product, budget, max_age=self._belief_ttl).product
                if product.max_per_user is not None and request.quantity > product.max_per_user:
                    limit = PurchaseLimitExceeded(
                        f"at most {product.max_per_user} per customer for this product"
                    )
                    return self._unless_replayed(limit, order_id, request, key, budget)
            allocation = self.stock.reserve(product, request.quantity)
            if allocation is None:
                snapshot = self._read_fresh(product, budget)
                product = snapshot.product
                left = sum(snapshot.stocks.values())
                if left < request.quantity:
                    moment = instants.now()
                    if not product.sale_active(moment):
                        # A closed sale says so, whatever stock it has left.
                        message = window_message(product, moment)
                        starts = product.sale_starts_at
                        opens = starts if starts is not None and moment < starts else None
                        self.stock.believe_closed(product.product_id, message, opens)
                        closed = SaleNotActive(message)
                        return self._unless_replayed(closed, order_id, request, key, budget)
                    short = self.stock.believe_sold_out(product, left)
                    return self._unless_replayed(short, order_id, request, key, budget)
                # DynamoDB has the units; plan on its numbers, whatever this
                # container has reserved meanwhile (a collision costs a retry).
                allocation = self.stock.reserve(product, request.quantity, snapshot.stocks)
                if allocation is None:
                    continue
            moment = instants.now()
            order = Order.confirm(order_id, request, product, moment, allocation, email)
            try:
                budget.spend()
                self._client.transact_write_items(
                    TransactItems=order_items(self._settings, order, product, moment)
                )
            except ClientError as exc:
                self.stock.release(product.product_id, allocation)
                failure: Exception = exc
                verdict = judge(exc.response, Attempt(request, product, allocation, moment))
            except BotoCoreError as exc:
                # No answer (timeout, connection reset): the write may or may not
                # have happened. Trying again with the same order id is safe.
                self.stock.release(product.product_id, allocation)
                unsure, failure = True, exc
                verdict = Transient("no answer")
            else:
                self.stock.sold(product.product_id)
                return Placed(order, replayed=False)

            match verdict:
                case Replayed(order=existing):
                    return Placed(existing, replayed=not (unsure and existing == order))
                case KeyReused():
                    raise IdempotencyKeyReused(
                        "this Idempotency-Key was already used for a different order"
                    )
                case ProductGone():
                    self.stock.forget(product.product_id)
                    raise ProductNotFound(f"product {request.product_id} does not exist")
                case Stale():
                    product = self._read_fresh(product, budget).product
                case WindowClosed(message=message, opens_at=opens_at):
                    self.stock.believe_closed(product.product_id, message, opens_at)
                    raise SaleNotActive(message)
                case LimitReached(bought=bought):
                    raise PurchaseLimitExceeded(
                        f"at most {product.max_per_user} per customer; you already have {bought}"
                    )
                case Short(seen=seen):
                    self.stock.overwrite_hints(product.product_id, seen)
                    if product.shards == 1:
                        # The one item's ALL_OLD is the whole truth: no read needed.
                        raise self.stock.believe_sold_out(product, seen[product.product_id])
                    # After the first short shard, fresh numbers for all of them.
                    product = self._read_fresh(product, budget).product
                case Transient():
                    self._back_off(budget, failure)
                case Unexplained():
                    raise failure

    def _back_off(self, budget: _Budget, failure: Exception) -> None:
        if budget.left == 0:
            raise Busy("too many shoppers at once; try again") from failure
        budget.transient += 1
        # Full jitter keeps colliding buyers from retrying in lockstep.
        self._sleep(retry.ORDER.delay(budget.transient, self._rng))

    def _read(self, budget: _Budget, read: Callable[[], T]) -> T:
        """One read of the order path, retried here (never by botocore) when
        DynamoDB is busy, within the order's budget."""
        while True:
            budget.spend()
            try:
                return read()
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in aws.THROTTLING:
                    raise
                self._back_off(budget, exc)
            except BotoCoreError as exc:
                self._back_off(budget, exc)

    # --- what this container knows ---------------------------------------------------

    def _product(self, product_id: str, budget: _Budget) -> Product:
        cached = self.stock.cached(product_id)
        if cached is not None:
            return cached
        # When a sale opens every thread misses at once; one read fills the cache.
        with self.stock.reading_lock(product_id):
            cached = self.stock.cached(product_id)
            if cached is not None:
                return cached
            snapshot = self._read(
                budget, lambda: read_product(self._client, self._catalog.table, product_id)
            )
            if snapshot is None:
                raise ProductNotFound(f"product {product_id} does not exist")
            self.stock.record_read(snapshot)
            return snapshot.product

    def _read_fresh(self, product: Product, budget: _Budget, max_age: float = 0.0) -> Snapshot:
        """The product and its stock items now (one consistent read). Threads that
        ask while a read is on its way share its answer instead of reading again,
        as do those content with one at most `max_age` seconds old."""
        asked = self._clock() - max_age
        with self.stock.reading_lock(product.product_id):
            last = self.stock.read_since(product.product_id, asked)
            if last is not None:
                # What DynamoDB said, not the hints: those hold this container's
                # reservations, which may yet be given back.
                return last
            snapshot = self._read(
                budget,
                lambda: read_product(
                    self._client, self._catalog.table, product.product_id, product.shards
                ),
            )
            if snapshot is None:
                self.stock.forget(product.product_id)
                raise ProductNotFound(f"product {product.product_id} does not exist")
            self.stock.record_read(snapshot)
            return snapshot

    def _unless_replayed(
        self,
        refusal: FlashSaleError,
        order_id: str,
        request: OrderRequest,
        key: str | None,
        budget: _Budget,
    ) -> Placed:
        """Refuse, unless this is the replay of an order placed before: a replay
        returns its order whatever changed since (one read of its own item)."""
        if key is None:
            raise refusal
        existing = self._read(budget, lambda: queries.find(self._client, self._settings, order_id))
        if existing is None:
            raise refusal
        if not existing.answers(request):
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used for a different order"
            )
        return Placed(existing, replayed=True)

    # --- the transaction ---------------------------------------------------------------
    def cancel(self, order_id: str, shopper: str | None = None) -> Order:
        """Cancel a confirmed order: a shopper (`shopper`) their own within the
        product's cancel window, an operator (None) any. One TransactWriteItems
        marks the order CANCELLED, puts its units back where they came from and
        frees the shopper's purchase count; a second cancel returns the order."""
        budget = _Budget(MAX_CALLS)
        keep_counter = True
        while True:
            order = self._read(budget, lambda: queries.find(self._client, self._settings, order_id))
            if order is None or (shopper is not None and order.user_id != shopper):
                raise OrderNotFound(f"order {order_id} does not exist")
            if order.status == CANCELLED:
                return order
            snapshot = self._read(
                budget,
                functools.partial(
                    read_product, self._client, self._catalog.table, order.product_id
                ),
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
                        self._back_off(budget, exc)
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
