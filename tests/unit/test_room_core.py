"""Waiting rooms' pure parts: the published shuffle, tickets and passes, and what
one admitter tick decides (docs/waiting-room.md)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.rooms import shuffle, tokens
from chalicelib.rooms.admission import (
    CLOSED,
    OPEN,
    SOLD_OUT,
    Admission,
    Batch,
    decide,
    outstanding,
    pass_expiry,
)

SEED = bytes(range(32))
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


# --- the shuffle ---------------------------------------------------------------------


def test_shuffle_is_the_documented_function() -> None:
    ids = ["c", "a", "b"]
    digest = hashlib.sha256(b"a\nb\nc").digest()
    expected = sorted(
        ["a", "b", "c"], key=lambda e: (hashlib.sha256(SEED + digest + e.encode()).digest(), e)
    )
    assert shuffle.order(SEED, ids) == expected
    assert shuffle.digest(ids) == digest
    assert shuffle.commitment(SEED) == hashlib.sha256(SEED).hexdigest()


def test_shuffle_ignores_the_order_entries_arrived_in() -> None:
    ids = [f"e{n:03d}" for n in range(200)]
    assert shuffle.order(SEED, ids) == shuffle.order(SEED, list(reversed(ids)))


def test_shuffle_depends_on_the_seed_and_moves_everyone_when_the_list_changes() -> None:
    ids = [f"e{n:03d}" for n in range(200)]
    first = shuffle.order(SEED, ids)
    assert first != sorted(ids)
    assert shuffle.order(bytes(32), ids) != first
    # One entry slipped in after the freeze changes the digest, so every key.
    slipped = shuffle.order(SEED, [*ids, "intruder"])
    without = [e for e in slipped if e != "intruder"]
    assert without != first


def test_shuffle_refuses_a_duplicate_entry() -> None:
    with pytest.raises(ValueError, match="twice"):
        shuffle.order(SEED, ["a", "b", "a"])


# --- tokens --------------------------------------------------------------------------

KEY = b"k" * 32
PASS = tokens.Token(tokens.PASS, "p1", "alice", "entry", 3, 1_900_000_000)


def test_a_token_reads_back_as_signed() -> None:
    assert tokens.read(KEY, tokens.sign(KEY, PASS), tokens.PASS) == PASS


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # the mac
        lambda t: "v1." + t.split(".")[1][:-1] + "A." + t.split(".")[2],  # the payload
        lambda t: "v2" + t[2:],
        lambda t: t + ".x",
        lambda t: "v1.!!!.???",
    ],
)
def test_a_tampered_token_is_refused(tamper) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(tokens.BadToken):
        tokens.read(KEY, tamper(tokens.sign(KEY, PASS)), tokens.PASS)


def test_another_key_or_kind_is_refused() -> None:
    text = tokens.sign(KEY, PASS)
    with pytest.raises(tokens.BadToken, match="signature"):
        tokens.read(b"other", text, tokens.PASS)
    ticket = tokens.sign(KEY, PASS._replace(kind=tokens.TICKET, expires=None))
    with pytest.raises(tokens.BadToken, match="ticket, not a pass"):
        tokens.read(KEY, ticket, tokens.PASS)


# --- admission -----------------------------------------------------------------------


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("room", "units", "redeemed", "admitted"),
    [
        # The rate bounds a tick (one second's credit).
        (Admission(phase=OPEN, ranked=100, last_tick_at=at(-1)), 1000, 0, 10),
        # No more than are ranked.
        (Admission(phase=OPEN, ranked=4, last_tick_at=at(-1)), 1000, 0, 4),
        # Never more passes outstanding than units left: 6 passes out, 8 units.
        (
            Admission(
                phase=OPEN,
                ranked=100,
                admitted_through=6,
                batches=(Batch(6, at(-5)),),
                last_tick_at=at(-1),
            ),
            8,
            0,
            2,
        ),
        # Passes used no longer count against the units (they took theirs).
        (
            Admission(
                phase=OPEN,
                ranked=100,
                admitted_through=6,
                batches=(Batch(6, at(-5)),),
                last_tick_at=at(-1),
            ),
            8,
            6,
            8,
        ),
        # A late tick gets no burst: credit is capped at one second's worth.
        (Admission(phase=OPEN, ranked=100, last_tick_at=at(-60)), 1000, 0, 10),
    ],
)
def test_a_tick_admits_what_rate_queue_and_units_allow(
    room: Admission, units: int, redeemed: int, admitted: int
) -> None:
    after = decide(room, at(0), 10, 120, units, redeemed, ended=False)
    assert after.admitted_through - room.admitted_through == admitted
    assert after.phase == OPEN
    assert outstanding(after, redeemed) <= units


def test_expired_batches_free_their_places() -> None:
    room = Admission(
        phase=OPEN,
        ranked=100,
        admitted_through=10,
        batches=(Batch(5, at(-130)), Batch(10, at(-20))),
        last_tick_at=at(-1),
    )
    after = decide(room, at(0), 10, 120, 10, 0, ended=False)
    assert after.expired_through == 5
    assert outstanding(after, 0) == 10  # 5 still valid + 5 admitted now
    assert after.admitted_through == 15
    assert pass_expiry(after, 3, 120) is None  # expired
    assert pass_expiry(after, 7, 120) == at(100)
    assert pass_expiry(after, 12, 120) == at(120)
    assert pass_expiry(after, 16, 120) is None  # not admitted


def test_sold_out_and_closed_admit_nobody() -> None:
    room = Admission(phase=OPEN, ranked=100, last_tick_at=at(-1))
    assert decide(room, at(0), 10, 120, 0, 0, ended=False).phase == SOLD_OUT
    assert decide(room, at(0), 10, 120, 0, 0, ended=False).admitted_through == 0
    closed = decide(room, at(0), 10, 120, 50, 0, ended=True)
    assert (closed.phase, closed.admitted_through) == (CLOSED, 0)


def test_admission_resumes_when_units_come_back() -> None:
    sold_out = Admission(phase=SOLD_OUT, ranked=100, admitted_through=10, last_tick_at=at(-5))
    after = decide(sold_out, at(0), 10, 120, 3, 10, ended=False)
    assert after.phase == OPEN
    assert after.admitted_through == 13


def test_fractional_rates_carry_credit_over_ticks() -> None:
    room = Admission(phase=OPEN, ranked=100, last_tick_at=at(0))
    admitted = 0
    for second in range(1, 5):
        room = decide(room, at(second * 0.5), 1, 120, 100, 0, ended=False)
        admitted = room.admitted_through
    assert admitted == 2  # 1 a second over two seconds
