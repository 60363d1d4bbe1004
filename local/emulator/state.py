"""What the layers share: the faults in force and the counters."""

from __future__ import annotations

import threading

from local.emulator.faults import Faults
from local.emulator.stats import Stats


class State:
    """The faults in force and the counters, one lock for both. The admin API
    replaces `faults` whole; a layer reads it once per request."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.faults = Faults()
        self.stats = Stats()
