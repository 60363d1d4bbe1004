"""The order writer: one DynamoDB TransactWriteItems per attempt, a bounded
number of requests per order whatever happens.

How an order is placed (README, "How an order is placed", has the why):

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
4. A cancelled transaction is turned into a `Verdict` by `judge`, a pure
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

import base64
import binascii
import functools
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple, Protocol, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import aws, catalog, instants, observability
from chalicelib.catalog import Catalog, Item, Product, Snapshot, number
from chalicelib.errors import (
    Busy,
    FlashSaleError,
    IdempotencyKeyReused,
    InvalidRequest,
    OrderNotCancellable,
    OrderNotFound,
    OutOfStock,
    ProductNotFound,
    PurchaseLimitExceeded,
    SaleNotActive,
)
from chalicelib.settings import Settings
from chalicelib.validation import OrderRequest

# Order ids derived from an Idempotency-Key live in their own UUID namespace.
_KEYED_ORDERS = uuid.UUID("5b0f4a5e-8f55-4c6e-9d8e-0d6f1a5e7c21")
_FAILED = "ConditionalCheckFailed"
# DynamoDB requests one order request may make, all attempts and reads included.
MAX_CALLS = 6
BACKOFF_BASE = 0.02
BACKOFF_CAP = 0.4
PURCHASE_COUNTER_LIFETIME = timedelta(days=30)
CONFIRMED = "CONFIRMED"
CANCELLED = "CANCELLED"

T = TypeVar("T")
# Refusals the console counts by reason (an unknown product is not a sale's refusal).
COUNTED_REFUSALS = frozenset(
    {"OUT_OF_STOCK", "SALE_NOT_ACTIVE", "PURCHASE_LIMIT_EXCEEDED", "BUSY", "IDEMPOTENCY_KEY_REUSED"}
)


class Tally(Protocol):
    """Where refusals are counted (chalicelib.sales.RejectionTally)."""

    def add(self, product_id: str, code: str, moment: datetime) -> None: ...

    def flush(self, force: bool = False) -> None: ...


Allocation = tuple[tuple[str, int], ...]  # (stock item key, units taken from it)


def order_id_for(user_id: str, idempotency_key: str | None) -> str:
    """A fresh order id, or the one a shopper's Idempotency-Key always maps to.
    Keys are scoped to the shopper: two shoppers using the same key never meet."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    # User ids never contain a newline, so the pair is unambiguous.
    return str(uuid.uuid5(_KEYED_ORDERS, f"{user_id}\n{idempotency_key}"))


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
        """A confirmed order for `request` at the product's current price."""
        return cls(
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

    @classmethod
    def from_item(cls, item: Item) -> Order:
        """Build an Order from a DynamoDB item in wire format."""
        taken = item.get("allocation", {}).get("M", {})
        cancelled = item.get("cancelledAt")
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
            cancelled_at=None if cancelled is None else instants.parse(cancelled["S"]),
            counted=bool(item.get("counted", {}).get("BOOL", False)),
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
        return item

    def to_json(self) -> dict[str, Any]:
        """The contract's Order representation."""
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
        return body

    def answers(self, request: OrderRequest) -> bool:
        """Whether this stored order is what `request` asked for (a true replay)."""
        return (self.user_id, self.product_id, self.quantity) == (
            request.user_id,
            request.product_id,
            request.quantity,
        )


class Placed(NamedTuple):
    order: Order
    replayed: bool


# --- planning: which stock items an order takes its units from -----------------


def plan(
    hints: Mapping[str, int],
    quantity: int,
    rng: random.Random,
    rank: Callable[[str], float] = lambda key: 0.0,
) -> Allocation | None:
    """The stock items to take `quantity` units from, by what `hints` believes
    they hold; None when they hold too little in all. When no single item
    suffices, the fullest items are taken (the fewest items, the fewest chances
    to meet another order); `rank` breaks ties, and each container ranks items
    its own way, so containers taking the last units spread over them."""
    if sum(max(units, 0) for units in hints.values()) < quantity:
        return None
    whole = [key for key, units in hints.items() if units >= quantity]
    if whole:
        # Weighted by units: shards drain evenly, so the last units are spread
        # thin late rather than early, and buyers rarely meet on one item.
        (key,) = rng.choices(whole, weights=[hints[key] for key in whole])
        return ((key, quantity),)
    taken: list[tuple[str, int]] = []
    needed = quantity
    for key in sorted(hints, key=lambda k: (-hints[k], rank(k))):
        take = min(hints[key], needed)
        if take > 0:
            taken.append((key, take))
            needed -= take
        if not needed:
            break
    return tuple(taken)


# --- judging: why a transaction was cancelled -------------------------------------


class Attempt(NamedTuple):
    request: OrderRequest
    product: Product
    allocation: Allocation
    moment: datetime


class _Verdict:
    """A value object: equal when of one class with equal fields. (Plain classes:
    nine frozen dataclasses cost ~7 ms of every cold start to create.)"""

    __slots__: tuple[str, ...] = ()

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash((type(self), self._fields()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"{type(self).__name__}({fields})"


class Replayed(_Verdict):
    """The order already exists and is what was asked for."""

    __slots__ = ("order",)

    def __init__(self, order: Order) -> None:
        self.order = order


class KeyReused(_Verdict):
    """The Idempotency-Key's order exists with another product or quantity."""


class ProductGone(_Verdict):
    """The product's item does not exist."""


class Stale(_Verdict):
    """The cached product (version, price, shards) is out of date."""


class WindowClosed(_Verdict):
    """The sale is not open at the attempt's moment."""

    __slots__ = ("message", "opens_at")

    def __init__(self, message: str, opens_at: datetime | None) -> None:
        self.message = message
        self.opens_at = opens_at  # when a not-yet-open sale opens


class LimitReached(_Verdict):
    """The shopper's purchases plus this order pass the per-user limit."""

    __slots__ = ("bought",)

    def __init__(self, bought: int) -> None:
        self.bought = bought


class Short(_Verdict):
    """These stock items held fewer units than the attempt took (units seen)."""

    __slots__ = ("seen",)

    def __init__(self, seen: dict[str, int]) -> None:
        self.seen = seen

    def __hash__(self) -> int:
        return hash((Short, tuple(sorted(self.seen.items()))))


class Transient(_Verdict):
    """DynamoDB asked us to come back (conflict, throttling)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class Unexplained(_Verdict):
    """An answer this module does not understand: a bug or an outage, not a no."""

    __slots__ = ("code",)

    def __init__(self, code: str) -> None:
        self.code = code


Verdict = (
    Replayed
    | KeyReused
    | ProductGone
    | Stale
    | WindowClosed
    | LimitReached
    | Short
    | Transient
    | Unexplained
)


def judge(response: Mapping[str, Any], attempt: Attempt) -> Verdict:
    """What a failed TransactWriteItems answer means for this attempt. Pure."""
    code = str(response.get("Error", {}).get("Code", ""))
    if code in aws.THROTTLING:
        return Transient(code)
    if code != "TransactionCanceledException":
        return Unexplained(code)
    count = len(attempt.allocation)
    reasons = list(response.get("CancellationReasons") or [])
    reasons += [{}] * (count + 2 - len(reasons))
    stock, order, purchase = reasons[:count], reasons[count], reasons[count + 1]
    # The order already exists: a replay (or a key reused) whatever else changed.
    if order.get("Code") == _FAILED and "Item" in order:
        existing = Order.from_item(order["Item"])
        return Replayed(existing) if existing.answers(attempt.request) else KeyReused()
    seen: dict[str, int] = {}
    for (key, units), reason in zip(attempt.allocation, stock, strict=True):
        if reason.get("Code") != _FAILED:
            continue
        item = reason.get("Item")
        if item is None:
            # A shard that is gone was resharded away; a product item that is
            # gone means the product is.
            return Stale() if attempt.product.shards > 1 else ProductGone()
        cached = attempt.product
        if (int(item["version"]["N"]), Decimal(item["price"]["N"])) != (
            cached.version,
            cached.price,
        ):
            return Stale()
        window = _window(item, cached)
        if not window.sale_active(attempt.moment):
            return WindowClosed(_window_message(window, attempt.moment), _opens(window, attempt))
        held = int(item["stock"]["N"])
        if held >= units:
            return Stale()  # failed for no reason we can see: re-read, never guess
        seen[key] = held
    if seen:
        return Short(seen)
    if purchase.get("Code") == _FAILED:
        return LimitReached(int(purchase.get("Item", {}).get("purchased", {}).get("N", "0")))
    for reason in reasons:
        if reason.get("Code") in aws.TRANSIENT_CANCELLATIONS:
            return Transient(str(reason["Code"]))
    return Unexplained(code)


def _window(item: Item, cached: Product) -> Product:
    return cached._replace(
        sale_starts_at=catalog.optional_instant(item, "saleStartsAt"),
        sale_ends_at=catalog.optional_instant(item, "saleEndsAt"),
    )


def _opens(window: Product, attempt: Attempt) -> datetime | None:
    starts = window.sale_starts_at
    return starts if starts is not None and attempt.moment < starts else None


def _window_message(product: Product, moment: datetime) -> str:
    if product.sale_starts_at is not None and moment < product.sale_starts_at:
        return f"the sale for {product.name} starts at {instants.canonical(product.sale_starts_at)}"
    return f"the sale for {product.name} has ended"


# --- acting: the order loop ----------------------------------------------------------


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


class _Belief(NamedTuple):
    """What this container answers without asking DynamoDB, until `until`."""

    until: float
    remaining: int | None = None  # units left, when short
    closed: str | None = None  # why the sale is not open, when it is not


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
        catalog: Catalog,
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
        self._catalog = catalog
        self._sleep = sleep
        self._clock = clock
        self._belief_ttl = belief_ttl
        self._rng = rng or random.Random()
        self._tally = tally
        # This container's own order of stock items for orders that need several.
        self._salt = self._rng.random()
        self._lock = threading.Lock()
        self._products: dict[str, Product] = {}
        self._hints: dict[str, dict[str, int]] = {}
        self._beliefs: dict[str, _Belief] = {}
        self._reading: dict[str, threading.Lock] = {}
        # The last consistent read of each product: when, and what it said.
        self._last_read: dict[str, tuple[float, Snapshot]] = {}
        catalog.on_change(self.forget)

    def forget(self, product_id: str) -> None:
        """Drop what this container believes about a product (it was just changed)."""
        with self._lock:
            self._products.pop(product_id, None)
            self._hints.pop(product_id, None)
            self._beliefs.pop(product_id, None)
            self._last_read.pop(product_id, None)

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
        refusal = self._believed_refusal(product, request)
        if refusal is not None:
            return self._unless_replayed(refusal, order_id, request, key, budget)
        unsure = False  # an earlier attempt may have committed (the answer was lost)
        while True:
            if product.max_per_user is not None and request.quantity > product.max_per_user:
                # The limit may have been raised elsewhere: look (at most once a
                # belief period per container) before refusing.
                product = self._fresh(product, budget, max_age=self._belief_ttl).product
                if product.max_per_user is not None and request.quantity > product.max_per_user:
                    limit = PurchaseLimitExceeded(
                        f"at most {product.max_per_user} per customer for this product"
                    )
                    return self._unless_replayed(limit, order_id, request, key, budget)
            allocation = self._reserve(product, request.quantity)
            if allocation is None:
                snapshot = self._fresh(product, budget)
                product = snapshot.product
                left = sum(snapshot.stocks.values())
                if left < request.quantity:
                    moment = instants.now()
                    if not product.sale_active(moment):
                        # A closed sale says so, whatever stock it has left.
                        message = _window_message(product, moment)
                        starts = product.sale_starts_at
                        opens = starts if starts is not None and moment < starts else None
                        self._believe_closed(product.product_id, message, opens)
                        closed = SaleNotActive(message)
                        return self._unless_replayed(closed, order_id, request, key, budget)
                    short = self._sold_out(product, left)
                    return self._unless_replayed(short, order_id, request, key, budget)
                # DynamoDB has the units; plan on its numbers, whatever this
                # container has reserved meanwhile (a collision costs a retry).
                allocation = self._reserve(product, request.quantity, snapshot.stocks)
                if allocation is None:
                    continue
            moment = instants.now()
            order = Order.confirm(order_id, request, product, moment, allocation, email)
            try:
                budget.spend()
                self._client.transact_write_items(
                    TransactItems=self._transaction(order, product, moment)
                )
            except ClientError as exc:
                self._release(product.product_id, allocation)
                failure: Exception = exc
                verdict = judge(exc.response, Attempt(request, product, allocation, moment))
            except BotoCoreError as exc:
                # No answer (timeout, connection reset): the write may or may not
                # have happened. Trying again with the same order id is safe.
                self._release(product.product_id, allocation)
                unsure, failure = True, exc
                verdict = Transient("no answer")
            else:
                with self._lock:
                    self._beliefs.pop(product.product_id, None)
                return Placed(order, replayed=False)

            match verdict:
                case Replayed(order=existing):
                    return Placed(existing, replayed=not (unsure and existing == order))
                case KeyReused():
                    raise IdempotencyKeyReused(
                        "this Idempotency-Key was already used for a different order"
                    )
                case ProductGone():
                    self.forget(product.product_id)
                    raise ProductNotFound(f"product {request.product_id} does not exist")
                case Stale():
                    product = self._fresh(product, budget).product
                case WindowClosed(message=message, opens_at=opens_at):
                    self._believe_closed(product.product_id, message, opens_at)
                    raise SaleNotActive(message)
                case LimitReached(bought=bought):
                    raise PurchaseLimitExceeded(
                        f"at most {product.max_per_user} per customer; you already have {bought}"
                    )
                case Short(seen=seen):
                    self._learn(product.product_id, seen)
                    if product.shards == 1:
                        # The one item's ALL_OLD is the whole truth: no read needed.
                        raise self._sold_out(product, seen[product.product_id])
                    # After the first short shard, fresh numbers for all of them.
                    product = self._fresh(product, budget).product
                case Transient():
                    self._back_off(budget, failure)
                case Unexplained():
                    raise failure

    def _back_off(self, budget: _Budget, failure: Exception) -> None:
        if budget.left == 0:
            raise Busy("too many shoppers at once; try again") from failure
        budget.transient += 1
        # Full jitter keeps colliding buyers from retrying in lockstep.
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2**budget.transient)
        self._sleep(self._rng.uniform(0, ceiling))

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
        cached = self._products.get(product_id)
        if cached is not None:
            return cached
        # When a sale opens every thread misses at once; one read fills the cache.
        with self._reading_lock(product_id):
            cached = self._products.get(product_id)
            if cached is not None:
                return cached
            snapshot = self._read(
                budget, lambda: catalog.read(self._client, self._catalog.table, product_id)
            )
            if snapshot is None:
                raise ProductNotFound(f"product {product_id} does not exist")
            self._remember(snapshot)
            return snapshot.product

    def _fresh(self, product: Product, budget: _Budget, max_age: float = 0.0) -> Snapshot:
        """The product and its stock items now (one consistent read). Threads that
        ask while a read is on its way share its answer instead of reading again,
        as do those content with one at most `max_age` seconds old."""
        asked = self._clock() - max_age
        with self._reading_lock(product.product_id):
            last = self._last_read.get(product.product_id)
            if last is not None and last[0] > asked:
                # What DynamoDB said, not the hints: those hold this container's
                # reservations, which may yet be given back.
                return last[1]
            snapshot = self._read(
                budget,
                lambda: catalog.read(
                    self._client, self._catalog.table, product.product_id, product.shards
                ),
            )
            if snapshot is None:
                self.forget(product.product_id)
                raise ProductNotFound(f"product {product.product_id} does not exist")
            self._remember(snapshot)
            return snapshot

    def _reading_lock(self, product_id: str) -> threading.Lock:
        with self._lock:
            return self._reading.setdefault(product_id, threading.Lock())

    def _remember(self, snapshot: Snapshot) -> None:
        product_id = snapshot.product.product_id
        with self._lock:
            self._products[product_id] = snapshot.product
            self._hints[product_id] = dict(snapshot.stocks)
            self._last_read[product_id] = (self._clock(), snapshot)

    def _reserve(
        self, product: Product, quantity: int, stocks: Mapping[str, int] | None = None
    ) -> Allocation | None:
        with self._lock:
            if stocks is not None:
                self._hints[product.product_id] = dict(stocks)
            hints = self._hints.setdefault(product.product_id, {})
            allocation = plan(hints, quantity, self._rng, self._rank)
            for key, units in allocation or ():
                hints[key] = hints.get(key, 0) - units
            return allocation

    def _rank(self, key: str) -> float:
        return random.Random(f"{self._salt}:{key}").random()

    def _release(self, product_id: str, allocation: Allocation) -> None:
        with self._lock:
            hints = self._hints.get(product_id)
            if hints is not None:
                for key, units in allocation:
                    hints[key] = hints.get(key, 0) + units

    def _learn(self, product_id: str, seen: Mapping[str, int]) -> None:
        with self._lock:
            self._hints.setdefault(product_id, {}).update(seen)

    def _believed_refusal(self, product: Product, request: OrderRequest) -> FlashSaleError | None:
        """A refusal from memory, if DynamoDB said so less than `belief_ttl` ago.
        When a belief runs out, the first request renews it and goes to look; the
        others keep the answer meanwhile (one look per product per second)."""
        belief = self._beliefs.get(product.product_id)
        if belief is None:
            return None
        now = self._clock()
        if belief.until <= now:
            with self._lock:
                current = self._beliefs.get(product.product_id)
                if current is None:
                    return None
                if current.until <= now:
                    self._beliefs[product.product_id] = current._replace(
                        until=now + self._belief_ttl
                    )
                    return None
                belief = current
        if belief.closed is not None:
            return SaleNotActive(belief.closed)
        if belief.remaining is not None and request.quantity > belief.remaining:
            return _out_of_stock(product, belief.remaining)
        return None

    def _sold_out(self, product: Product, left: int) -> OutOfStock:
        with self._lock:
            self._beliefs[product.product_id] = _Belief(
                until=self._clock() + self._belief_ttl, remaining=left
            )
        return _out_of_stock(product, left)

    def _believe_closed(self, product_id: str, message: str, opens_at: datetime | None) -> None:
        ttl = self._belief_ttl
        if opens_at is not None:
            # Never keep a sale shut past its opening on the strength of memory.
            ttl = min(ttl, (opens_at - instants.now()).total_seconds())
        if ttl > 0:
            with self._lock:
                self._beliefs[product_id] = _Belief(until=self._clock() + ttl, closed=message)

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
        existing = self._read(budget, lambda: self._find(order_id, self._client))
        if existing is None:
            raise refusal
        if not existing.answers(request):
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used for a different order"
            )
        return Placed(existing, replayed=True)

    # --- the transaction ---------------------------------------------------------------

    def _transaction(
        self, order: Order, product: Product, moment: datetime
    ) -> list[dict[str, Any]]:
        now = instants.canonical(moment)
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._settings.products_table,
                    "Key": {"productId": {"S": key}},
                    "UpdateExpression": "SET stock = stock - :q",
                    # Never oversell; never sell outside the window; never record an
                    # order at a price or name the product no longer has (version
                    # pins every field the order copies, price guards writers that
                    # do not bump it). Shards carry copies of all of these. Times
                    # are canonical strings, which compare as the instants they are.
                    "ConditionExpression": (
                        "stock >= :q AND version = :v AND price = :p"
                        " AND (attribute_not_exists(saleStartsAt) OR saleStartsAt <= :now)"
                        " AND (attribute_not_exists(saleEndsAt) OR saleEndsAt > :now)"
                    ),
                    "ExpressionAttributeValues": {
                        ":q": {"N": str(units)},
                        ":v": {"N": str(product.version)},
                        ":p": {"N": str(product.price)},
                        ":now": {"S": now},
                    },
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
            for key, units in order.allocation
        ]
        items.append(
            {
                "Put": {
                    "TableName": self._settings.orders_table,
                    "Item": order.to_item(),
                    # A replay finds its own order here and gets it back, unwritten.
                    "ConditionExpression": "attribute_not_exists(orderId)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        )
        if product.max_per_user is not None:
            items.append(self._count_purchase(order, product))
        return items

    def _count_purchase(self, order: Order, product: Product) -> dict[str, Any]:
        assert product.max_per_user is not None
        update = "ADD purchased :q"
        values = {
            ":q": {"N": str(order.quantity)},
            ":room": {"N": str(product.max_per_user - order.quantity)},
        }
        expires = _counter_expiry(product)
        if expires is not None:
            # The counter matters until the sale is over; TTL clears it a month later.
            update += " SET expiresAt = :expires"
            values[":expires"] = {"N": str(expires)}
        return {
            "Update": {
                "TableName": self._settings.purchases_table,
                "Key": {"userId": {"S": order.user_id}, "productId": {"S": order.product_id}},
                "UpdateExpression": update,
                # purchased + q <= maxPerUser, rearranged: no arithmetic in conditions.
                "ConditionExpression": "attribute_not_exists(purchased) OR purchased <= :room",
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    # --- cancellation --------------------------------------------------------------------

    def cancel(self, order_id: str, shopper: str | None = None) -> Order:
        """Cancel a confirmed order: a shopper (`shopper`) their own within the
        product's cancel window, an operator (None) any. One TransactWriteItems
        marks the order CANCELLED, puts its units back where they came from and
        frees the shopper's purchase count; a second cancel returns the order."""
        budget = _Budget(MAX_CALLS)
        keep_counter = True
        while True:
            order = self._read(budget, lambda: self._find(order_id, self._client))
            if order is None or (shopper is not None and order.user_id != shopper):
                raise OrderNotFound(f"order {order_id} does not exist")
            if order.status == CANCELLED:
                return order
            snapshot = self._read(
                budget,
                functools.partial(
                    catalog.read, self._client, self._catalog.table, order.product_id
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
            returned = _return_to(order, product)
            items = self._cancellation(order, product, returned, moment, keep_counter)
            try:
                budget.spend()
                self._client.transact_write_items(TransactItems=items)
            except ClientError as exc:
                reasons = exc.response.get("CancellationReasons") or []
                code = exc.response.get("Error", {}).get("Code")
                if code in aws.THROTTLING or any(
                    r.get("Code") in aws.TRANSIENT_CANCELLATIONS for r in reasons
                ):
                    self._back_off(budget, exc)
                    continue
                if code != "TransactionCanceledException":
                    raise
                first = reasons[0] if reasons else {}
                if first.get("Code") == _FAILED:
                    now_stored = first.get("Item")
                    if now_stored is not None and now_stored["status"]["S"] == CANCELLED:
                        return Order.from_item(now_stored)  # cancelled meanwhile: same answer
                    continue  # changed meanwhile: look again
                if keep_counter and order.counted and reasons[-1].get("Code") == _FAILED:
                    keep_counter = False  # the counter expired (TTL): nothing to free
                    continue
                continue  # re-sharded meanwhile: read where the units go now
            self._restocked(product.product_id, returned)
            observability.count("OrdersCancelled")
            return order._replace(status=CANCELLED, cancelled_at=moment)

    def _cancellation(
        self,
        order: Order,
        product: Product,
        returned: Mapping[str, int],
        moment: datetime,
        keep_counter: bool,
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._settings.orders_table,
                    "Key": {"orderId": {"S": order.order_id}},
                    "UpdateExpression": "SET #status = :cancelled, cancelledAt = :now",
                    # Only once: a second cancel finds it cancelled and returns it.
                    "ConditionExpression": "#status = :confirmed",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":cancelled": {"S": CANCELLED},
                        ":confirmed": {"S": CONFIRMED},
                        ":now": {"S": instants.canonical(moment)},
                    },
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        ]
        for key, units in returned.items():
            items.append(
                {
                    "Update": {
                        "TableName": self._settings.products_table,
                        "Key": {"productId": {"S": key}},
                        "UpdateExpression": "SET stock = stock + :u",
                        # The stock items read a moment ago, still this incarnation
                        # of the product: never create an item, never an orphan.
                        "ConditionExpression": "attribute_exists(stock) AND version = :v",
                        "ExpressionAttributeValues": {
                            ":u": {"N": str(units)},
                            ":v": {"N": str(product.version)},
                        },
                    }
                }
            )
        if order.counted and keep_counter:
            items.append(
                {
                    "Update": {
                        "TableName": self._settings.purchases_table,
                        "Key": {
                            "userId": {"S": order.user_id},
                            "productId": {"S": order.product_id},
                        },
                        "UpdateExpression": "ADD purchased :minus",
                        "ConditionExpression": "purchased >= :q",
                        "ExpressionAttributeValues": {
                            ":minus": {"N": str(-order.quantity)},
                            ":q": {"N": str(order.quantity)},
                        },
                    }
                }
            )
        return items

    def _restocked(self, product_id: str, returned: Mapping[str, int]) -> None:
        """This container learns of the units a cancellation returned at once."""
        with self._lock:
            self._beliefs.pop(product_id, None)
            hints = self._hints.get(product_id)
            if hints is not None:
                for key, units in returned.items():
                    hints[key] = hints.get(key, 0) + units

    # --- reads ---------------------------------------------------------------------------

    def get(self, order_id: str, owner: str | None = None) -> Order:
        """One order, or OrderNotFound; with an `owner`, only that shopper's (another
        shopper's order is reported missing, so order ids reveal nothing)."""
        order = self._find(order_id, self._reader)
        if order is None or (owner is not None and order.user_id != owner):
            raise OrderNotFound(f"order {order_id} does not exist")
        return order

    def _find(self, order_id: str, client: Any) -> Order | None:
        response = client.get_item(
            TableName=self._settings.orders_table,
            Key={"orderId": {"S": order_id}},
            # Read-your-write: a shopper opens the confirmation right after paying.
            ConsistentRead=True,
        )
        return Order.from_item(response["Item"]) if "Item" in response else None

    def for_user(self, user_id: str, limit: int, token: str | None) -> dict[str, Any]:
        """A user's orders, newest first, a page at a time."""
        query: dict[str, Any] = {
            "TableName": self._settings.orders_table,
            "IndexName": self._settings.orders_by_user_index,
            "KeyConditionExpression": "userId = :u",
            "ExpressionAttributeValues": {":u": {"S": user_id}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if token is not None:
            query["ExclusiveStartKey"] = decode_token(token, {"userId": user_id})
        response = self._reader.query(**query)
        page: dict[str, Any] = {
            "orders": [Order.from_item(item).to_json() for item in response["Items"]]
        }
        if "LastEvaluatedKey" in response:
            page["nextToken"] = encode_token(response["LastEvaluatedKey"])
        return page


def _return_to(order: Order, product: Product) -> dict[str, int]:
    """Where a cancelled order's units go: the stock items they came from, or,
    for items re-sharded away since (or an order that predates allocations), the
    product's first stock item."""
    current = set(product.stock_keys)
    taken = order.allocation or ((product.stock_keys[0], order.quantity),)
    returned: dict[str, int] = {}
    for key, units in taken:
        target = key if key in current else product.stock_keys[0]
        returned[target] = returned.get(target, 0) + units
    return returned


def _out_of_stock(product: Product, left: int) -> OutOfStock:
    if left <= 0:
        return OutOfStock(f"{product.name} is sold out")
    return OutOfStock(f"only {left} of {product.name} left", remaining=left)


def _counter_expiry(product: Product) -> int | None:
    if product.sale_ends_at is None:
        return None
    try:
        return instants.epoch_seconds(product.sale_ends_at + PURCHASE_COUNTER_LIFETIME)
    except OverflowError:
        return None  # a sale that ends near year 9999 keeps its counters


# --- page tokens -------------------------------------------------------------------------

_TOKEN_KEYS = frozenset({"orderId", "userId", "productId", "createdAt"})


def encode_token(key: Mapping[str, Any]) -> str:
    """A page token for DynamoDB's LastEvaluatedKey."""
    raw = json.dumps(key, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_token(token: str, pinned: Mapping[str, str]) -> Item:
    """The ExclusiveStartKey a page token carries, checked to be one this API
    made: string attributes of our key schema only, with `pinned` values (the
    token of one shopper's list cannot page through another's)."""
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error, UnicodeError, RecursionError) as exc:
        raise InvalidRequest("nextToken is not valid") from exc
    valid = (
        isinstance(key, dict)
        and "orderId" in key
        and set(key) <= _TOKEN_KEYS
        and all(
            isinstance(value, dict)
            and set(value) == {"S"}
            and isinstance(value["S"], str)
            and 0 < len(value["S"]) <= 256
            for value in key.values()
        )
        and all(key.get(name, {}).get("S") == value for name, value in pinned.items())
    )
    if not valid:
        raise InvalidRequest("nextToken is not valid")
    return dict(key)
