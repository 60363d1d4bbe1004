"""One backoff for every retry loop in chalicelib, and the one loop that drains
a BatchGetItem's UnprocessedKeys.

Full jitter (a delay drawn from [0, min(cap, base * 2**attempt)]) keeps callers
that collided from colliding again in lockstep; the ceiling grows with each
attempt so a throttled table gets room. Each loop picks a `Backoff` that fits
the time it may spend: an order request answers within API Gateway's timeout,
a stream batch has minutes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, NamedTuple


class Backoff(NamedTuple):
    """Full-jitter exponential backoff: `base` seconds at attempt 0, doubling, at
    most `cap`."""

    base: float
    cap: float

    def ceiling(self, attempt: int) -> float:
        """The longest pause before retry number `attempt + 1`."""
        return min(self.cap, self.base * 2.0 ** max(attempt, 0))

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """A pause drawn uniformly from [0, ceiling(attempt)]."""
        return (rng or _RNG).uniform(0, self.ceiling(attempt))


# The order path: a shopper is waiting and the request has a budget of calls.
ORDER = Backoff(base=0.02, cap=0.4)
# Writes a sale operator (or a stream batch) retries after losing a race.
RACE = Backoff(base=0.01, cap=0.05)
# Stream and queue consumers: publish, send and mark loops have seconds to spare.
DELIVERY = Backoff(base=0.05, cap=1.0)
# BatchGetItem's UnprocessedKeys: DynamoDB returned part of the batch for load.
BATCH = Backoff(base=0.02, cap=0.5)
# A batch read gives up after this many rounds with keys still unprocessed.
BATCH_ROUNDS = 8

_RNG = random.Random()


class Unprocessed(Exception):
    """DynamoDB kept returning keys unprocessed; the caller's retry layer decides."""


def batch_get(
    client: Any,
    request: dict[str, Any],
    backoff: Backoff = BATCH,
    sleep: Callable[[float], None] = time.sleep,
    rounds: int = BATCH_ROUNDS,
) -> dict[str, list[dict[str, Any]]]:
    """Every item a BatchGetItem `request` names, per table, resending what
    DynamoDB left unprocessed after a backoff (it leaves keys for load, and an
    immediate resend meets the same load)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for attempt in range(rounds):
        response = client.batch_get_item(RequestItems=request)
        for table, items in response.get("Responses", {}).items():
            found.setdefault(table, []).extend(items)
        request = response.get("UnprocessedKeys") or {}
        if not request:
            return found
        sleep(backoff.delay(attempt))
    raise Unprocessed(f"{sum(len(r['Keys']) for r in request.values())} keys left unprocessed")
