"""What one container knows about products' stock between DynamoDB's answers:
the cached product, a stock *hint* per stock item (less this container's
reservations in flight), the last consistent read, and *beliefs* (a sold-out or
closed sale answered from memory for `belief_ttl` seconds). Every transaction
re-checks what this assumed, so a stale entry can cost a retry but never a
wrong order. Thread-safe: one lock for the maps, one per product for reads."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import NamedTuple

from chalicelib import instants
from chalicelib.catalog import Snapshot
from chalicelib.errors import FlashSaleError, OutOfStock, SaleNotActive
from chalicelib.model import Allocation, Product
from chalicelib.orders.plan import plan


class _Belief(NamedTuple):
    """What this container answers without asking DynamoDB, until `until`."""

    until: float
    remaining: int | None = None  # units left, when short
    closed: str | None = None  # why the sale is not open, when it is not


class StockView:
    def __init__(self, clock: Callable[[], float], belief_ttl: float, rng: random.Random) -> None:
        self._clock = clock
        self.belief_ttl = belief_ttl
        self._rng = rng
        # This container's own order of stock items for orders that need several.
        self._salt = rng.random()
        self._lock = threading.Lock()
        self._products: dict[str, Product] = {}
        self._hints: dict[str, dict[str, int]] = {}
        self._beliefs: dict[str, _Belief] = {}
        self._reading: dict[str, threading.Lock] = {}
        # The last consistent read of each product: when, and what it said.
        self._last_read: dict[str, tuple[float, Snapshot]] = {}

    def forget(self, product_id: str) -> None:
        """Drop everything known about a product (it was just changed)."""
        with self._lock:
            self._products.pop(product_id, None)
            self._hints.pop(product_id, None)
            self._beliefs.pop(product_id, None)
            self._last_read.pop(product_id, None)

    def cached(self, product_id: str) -> Product | None:
        return self._products.get(product_id)

    def reading_lock(self, product_id: str) -> threading.Lock:
        """Held while a product is read: threads that miss together read once."""
        with self._lock:
            return self._reading.setdefault(product_id, threading.Lock())

    def read_since(self, product_id: str, asked: float) -> Snapshot | None:
        """The last consistent read, if it was made after `asked` (clock time)."""
        last = self._last_read.get(product_id)
        return last[1] if last is not None and last[0] > asked else None

    def record_read(self, snapshot: Snapshot) -> None:
        """Replace the cached product and its hints with a consistent read."""
        product_id = snapshot.product.product_id
        with self._lock:
            self._products[product_id] = snapshot.product
            self._hints[product_id] = dict(snapshot.stocks)
            self._last_read[product_id] = (self._clock(), snapshot)

    def reserve(
        self, product: Product, quantity: int, stocks: Mapping[str, int] | None = None
    ) -> Allocation | None:
        """Plan an order on the hints (on `stocks` instead, when given) and take
        the planned units out of the hints until `release` or a commit."""
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

    def release(self, product_id: str, allocation: Allocation) -> None:
        """Give a failed attempt's reserved units back to the hints."""
        self._add(product_id, dict(allocation))

    def restock(self, product_id: str, returned: Mapping[str, int]) -> None:
        """Add the units a cancellation returned, and drop any sold-out belief."""
        with self._lock:
            self._beliefs.pop(product_id, None)
        self._add(product_id, returned)

    def _add(self, product_id: str, units_by_key: Mapping[str, int]) -> None:
        with self._lock:
            hints = self._hints.get(product_id)
            if hints is not None:
                for key, units in units_by_key.items():
                    hints[key] = hints.get(key, 0) + units

    def overwrite_hints(self, product_id: str, seen: Mapping[str, int]) -> None:
        """Set the hints of the stock items DynamoDB just reported short."""
        with self._lock:
            self._hints.setdefault(product_id, {}).update(seen)

    def sold(self, product_id: str) -> None:
        """An order committed: whatever was believed about the sale is over."""
        with self._lock:
            self._beliefs.pop(product_id, None)

    def refusal_or_look(self, product: Product, quantity: int) -> FlashSaleError | None:
        """A refusal from memory, if DynamoDB said so less than `belief_ttl` ago;
        None: go and look. When a belief runs out, the first request renews it and
        goes to look; the others keep the answer meanwhile (one look per product
        per second)."""
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
                        until=now + self.belief_ttl
                    )
                    return None
                belief = current
        if belief.closed is not None:
            return SaleNotActive(belief.closed)
        if belief.remaining is not None and quantity > belief.remaining:
            return out_of_stock(product, belief.remaining)
        return None

    def believe_sold_out(self, product: Product, left: int) -> OutOfStock:
        """Remember that only `left` units remain; the refusal to give."""
        with self._lock:
            self._beliefs[product.product_id] = _Belief(
                until=self._clock() + self.belief_ttl, remaining=left
            )
        return out_of_stock(product, left)

    def believe_closed(self, product_id: str, message: str, opens_at: datetime | None) -> None:
        """Remember that a sale is not open (never past its opening)."""
        ttl = self.belief_ttl
        if opens_at is not None:
            ttl = min(ttl, (opens_at - instants.now()).total_seconds())
        if ttl > 0:
            with self._lock:
                self._beliefs[product_id] = _Belief(until=self._clock() + ttl, closed=message)


def out_of_stock(product: Product, left: int) -> OutOfStock:
    if left <= 0:
        return OutOfStock(f"{product.name} is sold out")
    return OutOfStock(f"only {left} of {product.name} left", remaining=left)
