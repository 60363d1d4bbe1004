"""Waiting rooms at work (docs/waiting-room.md): joins, polls, the personal call
that hands out the pass, and the operator's view (the ticks: rooms.admitter).

Costs, by design: a join is one conditional write; a poll of the public state
is answered from the container's copy of the room (at most one read a second
per container, however many poll); the personal call reads the shopper's entry
only when the rank or the redemption is not yet known; a tick is a fixed
handful of requests plus the ranks it writes (rooms.admitter).
"""

from __future__ import annotations

import math
import os
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib import instants
from chalicelib.catalog import Catalog
from chalicelib.errors import Forbidden, InvalidRequest, NotFound, SaleNotActive
from chalicelib.model import Product
from chalicelib.observability import logger
from chalicelib.rooms import admission, shuffle, tokens
from chalicelib.rooms.admission import CLOSED, PREQUEUE, SOLD_OUT
from chalicelib.rooms.admitter import WATCHDOG, Admitter, TickQueue
from chalicelib.rooms.store import Entry, Room, RoomStore

# How old this container's copy of a room may be: the polls of a whole crowd
# cost one read a second per container.
CACHE_SECONDS = 1.0


class RoomService:
    """One container's view of the stage's waiting rooms."""

    def __init__(
        self,
        store: RoomStore,
        catalog: Catalog,
        client: Any,
        ticks: TickQueue,
        key: Callable[[], bytes],
        now: Callable[[], datetime] | None = None,
        clock: Callable[[], float] = time.monotonic,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._client = client  # the admitter's consistent product reads
        self._ticks = ticks
        self._key = key
        self._now = now or (lambda: instants.now())
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._cached: dict[str, tuple[float, Room]] = {}
        self._reading: dict[str, threading.Lock] = {}  # one per room: a slow one delays no other
        self._nudged: dict[str, float] = {}
        self._admitter = Admitter(store, client, catalog.table, ticks, self._now)

    # --- the shopper's calls ---------------------------------------------------------

    def public(self, product_id: str) -> dict[str, Any]:
        """GET /products/{id}/queue: the same for every shopper (cacheable)."""
        product = self._product(product_id)
        room = self._room(product)
        return _public(product, room)

    def join(self, product_id: str, shopper: str) -> tuple[dict[str, Any], bool]:
        """POST /products/{id}/queue: (the shopper's ticket, whether newly joined)."""
        product = self._product(product_id)
        moment = self._now()
        if product.sale_ends_at is not None and product.sale_ends_at <= moment:
            raise SaleNotActive(f"the sale for {product.name} has ended")
        room = self._room(product)
        entry_id = secrets.token_urlsafe(16)
        fresh = Entry(shopper, entry_id, f"{instants.canonical(moment)}#{entry_id}")
        entry, created = self._store.join(product_id, fresh)
        ticket = tokens.Token(tokens.TICKET, product_id, shopper, entry.entry_id, entry.rank)
        return (
            {
                "ticket": tokens.sign(self._key(), ticket),
                "entryId": entry.entry_id,
                "rank": entry.rank,
                "status": _waiting(room),
            },
            created,
        )

    def me(self, product_id: str, shopper: str | None, ticket_text: str) -> dict[str, Any]:
        """GET /products/{id}/queue/me: the shopper's place, and the pass in turn.
        `shopper` is the signed-in caller (None on the local stage)."""
        try:
            ticket = tokens.read(self._key(), ticket_text, tokens.TICKET)
        except tokens.BadToken as exc:
            raise InvalidRequest(f"ticket: not a ticket of this queue ({exc})") from exc
        if ticket.product_id != product_id:
            raise InvalidRequest("ticket: it is for another product's queue")
        if shopper is not None and ticket.shopper != shopper:
            raise Forbidden("this ticket is another shopper's")
        product = self._product(product_id)
        room = self._room(product)
        assert product.waiting_room is not None
        rank = ticket.rank
        entry: Entry | None = None
        if rank is None and room.frozen:
            entry = self._store.entry(product_id, ticket.shopper)
            if entry is not None and entry.rank is not None:
                rank = entry.rank
            elif entry is not None and entry.arrival <= room.cursor:
                # Its write landed after the tick that passed its arrival:
                # queue it again now, behind those already ranked.
                moment = self._now()
                self._store.restamp(
                    product_id, entry, f"{instants.canonical(moment)}#{entry.entry_id}"
                )
                logger.info("entry restamped", product_id=product_id)
        state = room.state
        answer: dict[str, Any] = {
            "entryId": ticket.entry_id,
            "rank": rank,
            "ahead": None,
            "status": _waiting(room),
            "pass": None,
            "passExpiresAt": None,
        }
        if rank is not None and rank <= state.admitted_through:
            if entry is None:
                entry = self._store.entry(product_id, ticket.shopper)
            expires = admission.pass_expiry(state, rank, product.waiting_room.pass_seconds)
            if expires is not None and expires <= self._now():
                expires = None  # run out since the last tick: the tick has yet to say so
            if entry is not None and entry.redeemed_by is not None:
                answer["status"] = "USED"
            elif expires is None:
                answer["status"] = "EXPIRED"
            else:
                admitted = tokens.Token(
                    tokens.PASS,
                    product_id,
                    ticket.shopper,
                    ticket.entry_id,
                    rank,
                    math.floor(expires.timestamp()),
                )
                answer.update(
                    status="ADMITTED",
                    **{
                        "pass": tokens.sign(self._key(), admitted),
                        "passExpiresAt": instants.canonical(expires),
                    },
                )
        elif rank is not None:
            answer["ahead"] = rank - state.admitted_through - 1
        refreshed = ticket._replace(rank=rank)
        answer["ticket"] = tokens.sign(self._key(), refreshed)
        return answer

    def entries(self, product_id: str, page: int) -> dict[str, Any]:
        """GET /products/{id}/queue/entries: one page of the frozen pre-queue."""
        product = self._product(product_id)
        room = self._room(product)
        if not room.frozen:
            raise SaleNotActive("the queue's list is published when the sale starts")
        ids = self._store.page(product_id, page)
        if ids is None:
            raise NotFound(f"the queue's list has {room.pages} pages (0 to {room.pages - 1})")
        return {"page": page, "pages": room.pages, "entries": ids}

    # --- the operator ----------------------------------------------------------------

    def admin(self, product_id: str) -> dict[str, Any]:
        """GET /admin/rooms/{id}: the room as the admitter last left it."""
        product = self._product(product_id)
        room = self._store.room(product_id, consistent=True) or self._room(product)
        assert product.waiting_room is not None
        redeemed = self._store.redeemed(product_id)
        state = room.state
        return {
            "productId": product_id,
            "phase": PREQUEUE if not room.frozen else state.phase,
            "queueLength": state.ranked,
            "admittedThrough": state.admitted_through,
            "outstanding": admission.outstanding(state, redeemed),
            "redeemed": redeemed,
            "ratePerSecond": product.waiting_room.rate_per_second,
            "passSeconds": product.waiting_room.pass_seconds,
            "unitsLeft": room.units_left if room.updated_at is not None else product.stock,
            "preCount": room.pre_count,
            "updatedAt": None if room.updated_at is None else instants.canonical(room.updated_at),
        }

    def set_rate(self, product_id: str, rate: int) -> dict[str, Any]:
        """PUT /admin/rooms/{id}: change the admission rate; the next tick uses it."""
        self._product(product_id)
        self._catalog.set_room_rate(product_id, rate)
        product = self._product(product_id)
        self._nudge(self._store.room(product_id, consistent=True), product, force=True)
        return self.admin(product_id)

    def tick(self, product_id: str, number: int) -> str:
        """One admitter tick (chalicelib.rooms.admitter)."""
        return self._admitter.tick(product_id, number)

    # --- what this container knows -----------------------------------------------------

    def _product(self, product_id: str) -> Product:
        product = self._catalog.get(product_id)
        if product.waiting_room is None:
            raise NotFound(f"{product.name} has no waiting room")
        return product

    def _room(self, product: Product) -> Room:
        """The room, from this container's copy at most CACHE_SECONDS old (one
        reader refreshes it); created with its seed the first time it is asked for."""
        product_id = product.product_id
        cached = self._cached.get(product_id)
        if cached is None or cached[0] <= self._clock():
            with self._reading.setdefault(product_id, threading.Lock()):
                cached = self._cached.get(product_id)
                if cached is None or cached[0] <= self._clock():
                    room = self._store.room(product_id)
                    if room is None:
                        room = self._create(product)
                    cached = (self._clock() + self._cache_seconds, room)
                    self._cached[product_id] = cached
                    self._nudge(room, product)
        return cached[1]

    def _create(self, product: Product) -> Room:
        seed = os.urandom(32)
        fresh = Room(product.product_id, seed, shuffle.commitment(seed), self._now())
        room = self._store.create(fresh)
        if room.seed == seed:
            logger.info("room opened", product_id=product.product_id)
            self._ticks.send(product.product_id, 0, 0)
        return room

    def _nudge(self, room: Room | None, product: Product, force: bool = False) -> None:
        """Restart a stalled admitter chain (the tick number makes a spare
        harmless), or a closed room's whose product has its room on again and
        a sale not over."""
        if room is None:
            return
        moment = self._now()
        due = room.next_tick_at or room.created_at
        if room.frozen and room.state.phase == CLOSED:
            ends = product.sale_ends_at
            if ends is not None and ends <= moment:
                return
            due = moment - WATCHDOG  # its chain ended: start it again now
        if not force and moment < due + WATCHDOG:
            return
        last = self._nudged.get(room.product_id)
        if not force and last is not None and self._clock() - last < WATCHDOG.total_seconds():
            return
        self._nudged[room.product_id] = self._clock()
        logger.warning("admitter nudged", product_id=room.product_id, tick=room.tick)
        self._ticks.send(room.product_id, room.tick, 0)


def _waiting(room: Room) -> str:
    phase = room.state.phase if room.frozen else PREQUEUE
    return {SOLD_OUT: "SOLD_OUT", CLOSED: "CLOSED"}.get(phase, "WAITING")


def _public(product: Product, room: Room) -> dict[str, Any]:
    assert product.waiting_room is not None
    state = room.state
    return {
        "productId": product.product_id,
        "phase": state.phase if room.frozen else PREQUEUE,
        "startsAt": None
        if product.sale_starts_at is None
        else instants.canonical(product.sale_starts_at),
        "commitment": room.commitment,
        "seed": room.seed.hex() if room.frozen else None,
        "digest": room.digest,
        "preCount": room.pre_count,
        "queueLength": state.ranked,
        "admittedThrough": state.admitted_through,
        "expiredThrough": state.expired_through,
        "ratePerSecond": product.waiting_room.rate_per_second,
        "unitsLeft": room.units_left if room.updated_at is not None else product.stock,
        "pages": room.pages,
        "updatedAt": instants.canonical(room.updated_at or room.created_at),
        "pollAfterSeconds": 2,
    }
