"""The Locust scenario runs headless against a local stack without a failure."""

from __future__ import annotations

from loadtest.local import run


def test_headless_locust_run_against_the_local_stack_has_no_failures() -> None:
    figures = run(users=20, seconds=6)
    assert figures["requests"] > 50
    assert figures["failure_rate"] == 0
    assert 0 < figures["p99_ms"] < 5000
