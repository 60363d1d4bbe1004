"""What one admitter tick decides, as a pure function of what it read
(docs/waiting-room.md, "Admission that follows the stock"); tested by table.

Ranks 1..admitted_through have been admitted, in `batches` (the rank each
batch reached and when); a batch older than the pass's life has expired and
its unused passes with it. `redeemed` counts the passes ever used (the order
transaction adds to it), so the passes still able to buy are at most
`admitted_through - redeemed`, and at most those of the unexpired batches:
the smaller of the two is never an under-estimate. New admissions never take
the outstanding passes past the units left.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import NamedTuple

# A batch counts as expired this long after its passes do: an order checked its
# pass just before the end may still be committing, and until it has, its pass
# is in neither the redeemed count nor the stock.
EXPIRY_GRACE = timedelta(seconds=5)

PREQUEUE = "PREQUEUE"
OPEN = "OPEN"
SOLD_OUT = "SOLD_OUT"
CLOSED = "CLOSED"


class Batch(NamedTuple):
    through: int  # the last rank it admitted
    at: datetime


class Admission(NamedTuple):
    phase: str = PREQUEUE
    ranked: int = 0  # ranks given so far (the queue's length)
    admitted_through: int = 0
    expired_through: int = 0
    batches: tuple[Batch, ...] = ()
    credit: float = 0.0
    last_tick_at: datetime | None = None


def outstanding(room: Admission, redeemed: int) -> int:
    """Passes that may still buy (never an under-estimate)."""
    unexpired = room.admitted_through - room.expired_through
    return max(0, min(unexpired, room.admitted_through - redeemed))


def decide(
    room: Admission,
    now: datetime,
    rate: int,
    pass_seconds: int,
    units_left: int,
    redeemed: int,
    ended: bool,
) -> Admission:
    """The room after one tick at `now` (its ranks already counted in `room.ranked`)."""
    elapsed = (
        1.0 if room.last_tick_at is None else max(0.0, (now - room.last_tick_at).total_seconds())
    )
    # At most one second's worth: a late tick does not admit a burst.
    credit = min(room.credit + rate * elapsed, float(rate))
    life = timedelta(seconds=pass_seconds) + EXPIRY_GRACE
    live = tuple(b for b in room.batches if b.at + life > now)
    gone = [b.through for b in room.batches if b.at + life <= now]
    expired_through = max([room.expired_through, *gone])
    room = room._replace(batches=live, expired_through=expired_through, last_tick_at=now)
    if ended:
        return room._replace(phase=CLOSED, credit=0.0)
    if units_left <= 0:
        # Held units that go unpaid come back: the room reopens if they do.
        return room._replace(phase=SOLD_OUT, credit=credit)
    room_for = units_left - outstanding(room, redeemed)
    admit = max(0, min(math.floor(credit), room.ranked - room.admitted_through, room_for))
    if admit == 0:
        return room._replace(phase=OPEN, credit=credit)
    through = room.admitted_through + admit
    return room._replace(
        phase=OPEN,
        credit=credit - admit,
        admitted_through=through,
        batches=(*live, Batch(through, now)),
    )


def pass_expiry(room: Admission, rank: int, pass_seconds: int) -> datetime | None:
    """When the pass of an admitted `rank` expires; None if not admitted or expired."""
    if rank > room.admitted_through or rank <= room.expired_through:
        return None
    for batch in room.batches:
        if rank <= batch.through:
            return batch.at + timedelta(seconds=pass_seconds)
    return None
