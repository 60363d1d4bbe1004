"""When a hold's release message is delivered (chalicelib/payments/holds.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.payments import holds

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("seconds", [0.3, 0.9, 1.0, 1.24, 1.26, 59.5, 60.0, 600.1, 899.7])
def test_a_release_message_comes_at_most_a_quarter_second_early_and_never_a_second_late(
    seconds: float,
) -> None:
    # GIVEN a hold ending `seconds` from now
    due = NOW + timedelta(seconds=seconds)
    # WHEN its message is sent with delay_until's delay
    delivered = NOW + timedelta(seconds=holds.delay_until(due, NOW))
    # THEN it comes within [due - EARLY_WAIT, due + 1 - EARLY_WAIT)
    early = (due - delivered).total_seconds()
    assert -(1 - holds.EARLY_WAIT) < early <= holds.EARLY_WAIT, (seconds, early)


@pytest.mark.parametrize(
    ("seconds", "delay"), [(-5.0, 0), (0.0, 0), (0.2, 0), (3600.0, holds.MAX_DELAY_SECONDS)]
)
def test_a_release_delay_stays_within_what_sqs_takes(seconds: float, delay: int) -> None:
    assert holds.delay_until(NOW + timedelta(seconds=seconds), NOW) == delay
