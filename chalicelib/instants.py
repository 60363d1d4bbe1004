"""Time as instants: aware datetimes inside, one canonical string at the edges.

The canonical form is UTC with a four-digit year and microseconds,
`YYYY-MM-DDTHH:MM:SS.ffffffZ`: fixed width, so for years 0001-9999 two such
strings sort exactly as the instants they name. DynamoDB conditions compare
stored windows with `now` as strings; that is only sound because every stored
time and every `now` has this one shape.
"""

from __future__ import annotations

from datetime import UTC, datetime


class InstantOutOfRange(ValueError):
    """An instant that has no UTC representation between years 0001 and 9999."""


def now() -> datetime:
    """The current instant (UTC)."""
    return datetime.now(UTC)


def to_utc(moment: datetime) -> datetime:
    """`moment` in UTC; an offset that pushes it past year 1 or 9999 is out of range."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime is not an instant")
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise InstantOutOfRange(f"{moment.isoformat()} is outside years 0001-9999 in UTC") from exc


def canonical(moment: datetime) -> str:
    """The stored and answered form of an instant."""
    u = to_utc(moment)
    # strftime("%Y") does not pad years before 1000 on every platform.
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
        f".{u.microsecond:06d}Z"
    )


def parse(text: str) -> datetime:
    """A stored instant (canonical, or any RFC 3339 form an older release wrote)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no zone")
    return to_utc(moment)


def epoch_seconds(moment: datetime) -> int:
    """Whole seconds since 1970 (DynamoDB TTL attributes)."""
    return int(to_utc(moment).timestamp())
