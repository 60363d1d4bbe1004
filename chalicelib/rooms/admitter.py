"""The waiting rooms' admitter (docs/waiting-room.md, "Admission that follows
the stock"): one tick per SQS message, each sending the next, a room at a time.
A tick freezes and shuffles the pre-queue at the start, ranks the arrivals
since, admits by `admission.decide` and saves the room, conditionally on its
tick number, so a message delivered twice does its work once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from chalicelib import instants
from chalicelib.catalog import read as read_product
from chalicelib.observability import logger
from chalicelib.rooms import admission, shuffle
from chalicelib.rooms.admission import CLOSED, OPEN, SOLD_OUT
from chalicelib.rooms.store import Room, RoomStore

# Entries whose writes are still in flight land within this window: the
# admitter ranks arrivals only once they are this old (and freezes the
# pre-queue this long after the start).
SETTLE = timedelta(seconds=2)
# How often the admitter ticks while the room is open, and while it is sold out
# (held units that go unpaid come back).
TICK = 1
SOLD_OUT_TICK = 5
# Before the start the admitter looks every few seconds (a tick is a handful of
# requests), so a start the operator moves is noticed, not slept through.
PREQUEUE_TICK = 5
# A tick that should have come this long ago is sent again by the next poll:
# a chain whose message was lost (or dead-lettered) restarts by itself.
WATCHDOG = timedelta(seconds=10)
# What one tick ranks at most of the arrivals after the start.
RANKS_PER_TICK = 5_000
# How long a claimed tick keeps the watchdog away: longer than the admitter's
# Lambda timeout (60 s, .chalice/config.json), so a tick still at work is never
# doubled by the watchdog (a live tick is dead by then, if it is not done).
LEASE = timedelta(seconds=75)
# Rank writes in flight at once: a freeze of 100,000 entries is 4,000
# BatchWriteItems, which one after another would not fit in the timeout.
RANK_WRITERS = 8
MAX_DELAY = 900  # SQS's limit on DelaySeconds


class TickQueue:
    """The admitter's self-rescheduling SQS messages."""

    def __init__(self, sqs: Any, url: str) -> None:
        self._sqs = sqs
        self._url = url

    def send(self, product_id: str, tick: int, delay: int) -> None:
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=json.dumps({"productId": product_id, "tick": tick}),
            DelaySeconds=max(0, min(MAX_DELAY, delay)),
        )


def decode_tick(body: str) -> tuple[str, int]:
    """(productId, tick) from a tick message; ValueError for anything else."""
    try:
        data = json.loads(body)
        return str(data["productId"]), int(data["tick"])
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a tick message: {body[:200]!r}") from exc


def _delay(until: datetime, now: datetime) -> int:
    return max(0, math.ceil((until - now).total_seconds()))


class Admitter:
    """Runs the ticks of the stage's rooms."""

    def __init__(
        self,
        store: RoomStore,
        client: Any,
        products_table: str,
        ticks: TickQueue,
        now: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._client = client  # consistent reads of the product and its stock
        self._products_table = products_table
        self._ticks = ticks
        self._now = now

    def tick(self, product_id: str, number: int) -> str:
        """One admitter tick (an SQS message): freeze and shuffle the pre-queue at
        the start, rank new arrivals, admit, and send the next tick."""
        moment = self._now()
        room = self._store.claim(product_id, number, moment + LEASE)
        if room is None:
            return "not this tick"
        try:
            return self._work(room, moment)
        except Exception:
            # The claim has moved the room on: SQS's retry of this message would
            # be refused, and the chain would wait for the watchdog. Send the
            # next number now instead (a spare is refused by its claim).
            self._ticks.send(product_id, room.tick, TICK)
            raise

    def _work(self, room: Room, moment: datetime) -> str:
        product_id = room.product_id
        # Passes used, then the stock: an order that commits between the two reads
        # is then counted in neither (or in the stock only), so the passes still
        # out are never under-counted against the units. The other order of reads
        # admitted one shopper too many for each order committed in between.
        redeemed = self._store.redeemed(product_id)
        snapshot = read_product(self._client, self._products_table, product_id)
        product = None if snapshot is None else snapshot.product
        if product is None or product.waiting_room is None:
            closed = room._replace(state=room.state._replace(phase=CLOSED), updated_at=moment)
            self._store.save(closed)
            return "closed"
        assert snapshot is not None
        units = sum(snapshot.stocks.values())
        opens = max(product.sale_starts_at or room.created_at, room.created_at)
        if not room.frozen and moment < opens + SETTLE:
            wake = min(opens + SETTLE, moment + timedelta(seconds=PREQUEUE_TICK))
            waiting = room._replace(
                units_left=units,
                rate=product.waiting_room.rate_per_second,
                pass_seconds=product.waiting_room.pass_seconds,
                updated_at=moment,
                next_tick_at=wake,
            )
            if self._store.save(waiting):
                self._ticks.send(product_id, room.tick, _delay(wake, moment))
            return "before the start"
        if not room.frozen:
            room = self._freeze(room, opens)
        room = self._rank_arrivals(room, moment)
        ended = product.sale_ends_at is not None and product.sale_ends_at <= moment
        state = admission.decide(
            room.state,
            moment,
            product.waiting_room.rate_per_second,
            product.waiting_room.pass_seconds,
            units,
            redeemed,
            ended,
        )
        after = {OPEN: TICK, SOLD_OUT: SOLD_OUT_TICK}.get(state.phase)
        room = room._replace(
            state=state,
            units_left=units,
            rate=product.waiting_room.rate_per_second,
            pass_seconds=product.waiting_room.pass_seconds,
            updated_at=moment,
            next_tick_at=moment + timedelta(seconds=after or 0),
        )
        if not self._store.save(room):
            return "lost the tick"
        if after is not None:
            self._ticks.send(product_id, room.tick, after)
        return state.phase

    def _freeze(self, room: Room, opens: datetime) -> Room:
        """The pre-queue, shuffled once by the published rule and ranked 1..n."""
        pre = list(self._store.arrivals(room.product_id, None, instants.canonical(opens)))
        ids = [entry.entry_id for entry in pre]
        ranks = {entry_id: n for n, entry_id in enumerate(shuffle.order(room.seed, ids), 1)}
        ranked = [e._replace(rank=ranks[e.entry_id]) for e in pre]
        self._store.rank(room.product_id, ranked, writers=RANK_WRITERS)
        pages = self._store.write_pages(room.product_id, shuffle.canonical(ids))
        logger.info("pre-queue frozen", product_id=room.product_id, entries=len(ids))
        return room._replace(
            frozen=True,
            pre_count=len(ids),
            digest=shuffle.digest(ids).hex(),
            pages=pages,
            cursor=instants.canonical(opens),
            state=room.state._replace(ranked=len(ids)),
        )

    def _rank_arrivals(self, room: Room, moment: datetime) -> Room:
        """Rank, in arrival order, who arrived after the start and has settled."""
        upto = instants.canonical(moment - SETTLE)
        late = list(self._store.arrivals(room.product_id, room.cursor, upto, limit=RANKS_PER_TICK))
        if not late:
            return room
        first = room.state.ranked + 1
        self._store.rank(room.product_id, [e._replace(rank=first + n) for n, e in enumerate(late)])
        return room._replace(
            cursor=late[-1].arrival,
            state=room.state._replace(ranked=room.state.ranked + len(late)),
        )
