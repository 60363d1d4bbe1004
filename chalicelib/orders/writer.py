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
   (conditional on the order not existing: a replay finds its own order),
   for limited products the shopper's purchase counter, and while the
   product's waiting room is on the pass's redemption (chalicelib.rooms.gate).
4. A cancelled transaction is turned into a `Verdict` by `judge` (orders.verdicts), a pure
   function of DynamoDB's answer (`ALL_OLD` on every item says why with no
   extra read), and `OrderWriter._place` acts on it: return the replayed
   order, refuse (key reused, gone, window, limit, sold out), re-read and
   re-plan (stale product, short stock), or back off and retry (conflict,
   throttling).

Retries live in one layer: this loop, through its request's `Budget`
(orders.budget). The client it uses has botocore's own retries switched off,
and every order request makes at most `MAX_CALLS` DynamoDB requests in total
(reads included) before it answers 503 BUSY.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import instants
from chalicelib.catalog import Snapshot
from chalicelib.catalog import read as read_product
from chalicelib.errors import (
    AdmissionRequired,
    FlashSaleError,
    IdempotencyKeyReused,
    ProductNotFound,
    PurchaseLimitExceeded,
    SaleNotActive,
)
from chalicelib.model import Order, OrderRequest, Product
from chalicelib.orders import queries
from chalicelib.orders.budget import MAX_CALLS, Budget
from chalicelib.orders.stock import StockView
from chalicelib.orders.transactions import order_items
from chalicelib.orders.verdicts import (
    Attempt,
    KeyReused,
    LimitReached,
    PassUsed,
    ProductGone,
    Replayed,
    Short,
    Stale,
    Transient,
    Unexplained,
    WindowClosed,
    judge,
    window_message,
)
from chalicelib.rooms.gate import admitted, redemption_items
from chalicelib.rooms.tokens import Token
from chalicelib.settings import Settings

# Order ids derived from an Idempotency-Key live in their own UUID namespace.
_KEYED_ORDERS = uuid.UUID("5b0f4a5e-8f55-4c6e-9d8e-0d6f1a5e7c21")


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


class OrderWriter:
    """The place loop of one container (`OrderService` extends it): products
    come from `stock` (the container's cache and hints), each attempt is one
    TransactWriteItems, and every read and write is counted against the
    request's `Budget`."""

    def __init__(
        self,
        client: Any,
        settings: Settings,
        table: str,
        stock: StockView,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        belief_ttl: float,
        rng: random.Random,
        room_key: Callable[[], bytes],
    ) -> None:
        self._room_key = room_key  # the waiting rooms' signing key, read on first use
        self._client = client  # botocore retries off: each request's Budget retries
        self._settings = settings
        self._table = table  # the Products table
        self.stock = stock
        self._sleep = sleep
        self._clock = clock
        self._belief_ttl = belief_ttl
        self._rng = rng

    def _place(self, request: OrderRequest, key: str | None, email: str | None) -> Placed:
        order_id = order_id_for(request.user_id, key)
        budget = Budget(MAX_CALLS, self._sleep, self._rng)
        product = self._product(request.product_id, budget)
        refusal = self.stock.refusal_or_look(product, request.quantity)
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
            items = order_items(self._settings, order, product, moment)
            try:
                admission = self._gate(product, request, moment)
            except FlashSaleError as refused:
                self.stock.release(product.product_id, allocation)
                return self._unless_replayed(refused, order_id, request, key, budget)
            if admission is not None:
                items += redemption_items(self._settings.rooms_table, admission, order_id)
            try:
                budget.spend()
                self._client.transact_write_items(TransactItems=items)
            except ClientError as exc:
                self.stock.release(product.product_id, allocation)
                failure: Exception = exc
                attempt = Attempt(request, product, allocation, moment, admission is not None)
                verdict = judge(exc.response, attempt)
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
                case PassUsed():
                    raise AdmissionRequired("this admission pass has already bought an order")
                case Short(seen=seen):
                    self.stock.overwrite_hints(product.product_id, seen)
                    if product.shards == 1:
                        # The one item's ALL_OLD is the whole truth: no read needed.
                        raise self.stock.believe_sold_out(product, seen[product.product_id])
                    # After the first short shard, fresh numbers for all of them.
                    product = self._read_fresh(product, budget).product
                case Transient():
                    budget.back_off(failure)
                case Unexplained():
                    raise failure

    # --- what this container knows ---------------------------------------------------

    def _product(self, product_id: str, budget: Budget) -> Product:
        cached = self.stock.cached(product_id)
        if cached is not None:
            return cached
        # When a sale opens every thread misses at once; one read fills the cache.
        with self.stock.reading_lock(product_id):
            cached = self.stock.cached(product_id)
            if cached is not None:
                return cached
            snapshot = budget.read(lambda: read_product(self._client, self._table, product_id))
            if snapshot is None:
                raise ProductNotFound(f"product {product_id} does not exist")
            self.stock.record_read(snapshot)
            return snapshot.product

    def _read_fresh(self, product: Product, budget: Budget, max_age: float = 0.0) -> Snapshot:
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
            snapshot = budget.read(
                lambda: read_product(self._client, self._table, product.product_id, product.shards),
            )
            if snapshot is None:
                self.stock.forget(product.product_id)
                raise ProductNotFound(f"product {product.product_id} does not exist")
            self.stock.record_read(snapshot)
            return snapshot

    def _gate(self, product: Product, request: OrderRequest, moment: datetime) -> Token | None:
        """The waiting room's pass this order redeems (None: the product has no
        room on). Checked at each attempt: a re-read product may have one now."""
        if product.waiting_room is None:
            return None
        return admitted(product, request, self._room_key(), moment)

    def _unless_replayed(
        self,
        refusal: FlashSaleError,
        order_id: str,
        request: OrderRequest,
        key: str | None,
        budget: Budget,
    ) -> Placed:
        """Refuse, unless this is the replay of an order placed before: a replay
        returns its order whatever changed since (one read of its own item)."""
        if key is None:
            raise refusal
        existing = budget.read(lambda: queries.find(self._client, self._settings, order_id))
        if existing is None:
            raise refusal
        if not existing.answers(request):
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used for a different order"
            )
        return Placed(existing, replayed=True)
