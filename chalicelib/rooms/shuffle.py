"""The pre-queue's order: a documented, deterministic function of the revealed
seed and the frozen entries, so any shopper can recompute it (tools.verify_queue).

    ids     = sorted(entryIds)                     # by their UTF-8 bytes
    digest  = SHA-256("\\n".join(ids) as UTF-8)     # published with the seed
    key(e)  = SHA-256(seed ‖ digest ‖ UTF-8(e))
    order   = sorted(ids, by (key(e), e))          # rank 1 = first

The digest in every key binds each position to the whole list: adding or
removing one entry after the freeze moves everybody (docs/waiting-room.md has
the threat model). Stdlib only, so the verifier needs nothing installed.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable


def commitment(seed: bytes) -> str:
    """What the room publishes before the start: SHA-256 of the seed, hex."""
    return hashlib.sha256(seed).hexdigest()


def canonical(entry_ids: Iterable[str]) -> list[str]:
    """The entries in their published order (by UTF-8 bytes), duplicates refused."""
    ids = sorted(entry_ids, key=lambda e: e.encode())
    for before, after in itertools.pairwise(ids):
        if before == after:
            raise ValueError(f"entry {before!r} appears twice")
    return ids


def digest(entry_ids: Iterable[str]) -> bytes:
    """SHA-256 of the sorted entries joined by newlines."""
    return hashlib.sha256("\n".join(canonical(entry_ids)).encode()).digest()


def order(seed: bytes, entry_ids: Iterable[str]) -> list[str]:
    """The shuffled pre-queue: element 0 has rank 1."""
    ids = canonical(entry_ids)
    bound = seed + hashlib.sha256("\n".join(ids).encode()).digest()
    return sorted(ids, key=lambda e: (hashlib.sha256(bound + e.encode()).digest(), e.encode()))
