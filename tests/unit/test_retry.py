"""The shared backoff and the UnprocessedKeys loop."""

from __future__ import annotations

import random
from typing import Any

import pytest

from chalicelib import retry


@pytest.mark.parametrize(
    ("attempt", "ceiling"), [(0, 0.02), (1, 0.04), (3, 0.16), (4, 0.32), (5, 0.4), (30, 0.4)]
)
def test_backoff_ceiling_doubles_up_to_its_cap(attempt: int, ceiling: float) -> None:
    assert retry.ORDER.ceiling(attempt) == pytest.approx(ceiling)


def test_backoff_delay_is_drawn_within_the_ceiling() -> None:
    rng = random.Random(7)
    delays = [retry.DELIVERY.delay(3, rng) for _ in range(500)]
    assert all(0 <= d <= retry.DELIVERY.ceiling(3) for d in delays)
    # Full jitter spreads over the whole range, not a fixed pause.
    assert (
        min(delays)
        < 0.1 * retry.DELIVERY.ceiling(3)
        < 0.9 * retry.DELIVERY.ceiling(3)
        < max(delays)
    )


class Batches:
    """A BatchGetItem that leaves the last key unprocessed `stubborn` times."""

    def __init__(self, stubborn: int) -> None:
        self.stubborn = stubborn
        self.requests: list[dict[str, Any]] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(RequestItems)
        keys = RequestItems["t"]["Keys"]
        if self.stubborn > 0:
            self.stubborn -= 1
            done, left = keys[:-1], keys[-1:]
            return {"Responses": {"t": done}, "UnprocessedKeys": {"t": {"Keys": left}}}
        return {"Responses": {"t": keys}, "UnprocessedKeys": {}}


def test_batch_get_resends_unprocessed_keys_after_a_pause() -> None:
    client, pauses = Batches(stubborn=2), []
    found = retry.batch_get(client, {"t": {"Keys": [{"k": 1}, {"k": 2}]}}, sleep=pauses.append)
    assert found == {"t": [{"k": 1}, {"k": 2}]}
    assert [r["t"]["Keys"] for r in client.requests] == [
        [{"k": 1}, {"k": 2}],
        [{"k": 2}],
        [{"k": 2}],
    ]
    assert len(pauses) == 2 and all(p >= 0 for p in pauses)


def test_batch_get_gives_up_when_keys_stay_unprocessed() -> None:
    client = Batches(stubborn=100)
    with pytest.raises(retry.Unprocessed):
        retry.batch_get(client, {"t": {"Keys": [{"k": 1}]}}, sleep=lambda _: None, rounds=3)
    assert len(client.requests) == 3
