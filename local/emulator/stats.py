"""What the emulator served and refused: the counters GET /_flashsale/stats shows."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Stats:
    """What the emulator served and refused since it started or was reset."""

    calls: Counter[str] = field(default_factory=Counter)
    calls_by_app: dict[str, Counter[str]] = field(default_factory=dict)
    # Which tables each app's requests named (a transaction counts once per table).
    calls_by_app_table: dict[str, dict[str, Counter[str]]] = field(default_factory=dict)
    conflicts_injected: int = 0
    faults_injected: Counter[str] = field(default_factory=Counter)
    throttled_by_app: Counter[str] = field(default_factory=Counter)
    restarts: int = 0

    def reset(self) -> None:
        """Every counter back to zero (a field added above is reset too)."""
        fresh = Stats()
        for counter in dataclasses.fields(self):
            setattr(self, counter.name, getattr(fresh, counter.name))

    def to_json(self) -> dict[str, Any]:
        return {
            "dynamodb": dict(self.calls),
            "dynamodbByApp": {app: dict(calls) for app, calls in self.calls_by_app.items()},
            "dynamodbByAppTable": {
                app: {table: dict(calls) for table, calls in tables.items()}
                for app, tables in self.calls_by_app_table.items()
            },
            "transactionConflictsInjected": self.conflicts_injected,
            "faultsInjected": dict(self.faults_injected),
            "throttledByApp": dict(self.throttled_by_app),
            "restarts": self.restarts,
        }
