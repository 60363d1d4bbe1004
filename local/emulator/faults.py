"""The faults the emulator injects: one immutable value, which
PUT /_flashsale/faults replaces whole."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Faults:
    """The faults the emulator injects, as PUT /_flashsale/faults sets them."""

    transaction_conflict_rate: float = 0.0  # TransactWriteItems cancelled at random
    # Hot-item model: a transaction naming an item another one wrote less than
    # this long ago is cancelled, as DynamoDB cancels overlapping transactions.
    hot_item_window_ms: float = 0.0
    throttle_rate: float = 0.0  # DynamoDB calls answered ThrottlingException
    sns_outage: bool = False  # SNS answers 500 InternalError
    ses_throttle_rate: float = 0.0  # SES SendEmail answered "Maximum sending rate exceeded"

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> Faults:
        """The faults a JSON document names (rates clamped to [0, 1]); the rest off.
        An unknown name is refused: a misspelt fault would silently inject nothing."""
        names = {_camel(f.name): f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(document) - set(names))
        if unknown:
            raise ValueError(f"unknown faults {unknown}; known: {sorted(names)}")
        values = {names[key]: value for key, value in document.items()}

        def rate(name: str) -> float:
            return min(max(float(values.get(name, 0.0)), 0.0), 1.0)

        return cls(
            transaction_conflict_rate=rate("transaction_conflict_rate"),
            hot_item_window_ms=max(float(values.get("hot_item_window_ms", 0.0)), 0.0),
            throttle_rate=rate("throttle_rate"),
            sns_outage=bool(values.get("sns_outage", False)),
            ses_throttle_rate=rate("ses_throttle_rate"),
        )

    def to_json(self) -> dict[str, Any]:
        return {_camel(key): value for key, value in dataclasses.asdict(self).items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
