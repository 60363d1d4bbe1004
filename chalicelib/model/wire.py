"""The wire forms the records share: DynamoDB attribute values read back into
Python, and the JSON form of a DynamoDB number."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from chalicelib import instants

Item = dict[str, dict[str, Any]]


def text(item: Item, name: str) -> str | None:
    """The string stored in attribute `name`, if any."""
    value = item.get(name)
    return None if value is None else str(value["S"])


def integer(item: Item, name: str) -> int | None:
    """The whole number stored in attribute `name`, if any."""
    value = item.get(name)
    return None if value is None else int(value["N"])


def instant(item: Item, name: str) -> datetime | None:
    """The instant stored in attribute `name`, if any."""
    value = item.get(name)
    return None if value is None else instants.parse(value["S"])


def number(value: Decimal | int) -> int | float:
    """A JSON number for a DynamoDB number: int when whole, else float."""
    if isinstance(value, int) or value == value.to_integral_value():
        return int(value)
    return float(value)
