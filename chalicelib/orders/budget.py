"""The order path's one retry layer: the DynamoDB requests one order request
(or cancellation) may make, all attempts and reads included, and the backoff
between them. The client it guards has botocore's own retries switched off."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import aws, retry
from chalicelib.errors import Busy

# DynamoDB requests one order request may make, all attempts and reads included.
MAX_CALLS = 6

T = TypeVar("T")


class Budget:
    """The DynamoDB requests an order request may still make, and how many of
    them DynamoDB asked to come back later (the backoff grows with those)."""

    def __init__(
        self,
        calls: int,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.left = calls
        self.transient = 0
        self._sleep = sleep
        self._rng = rng

    def spend(self) -> None:
        """Count one request about to be sent; 503 BUSY when none is left."""
        if self.left <= 0:
            raise Busy("too many shoppers at once; try again")
        self.left -= 1

    def back_off(self, failure: Exception) -> None:
        """Sleep before trying again after `failure`; 503 BUSY when no request is left."""
        if self.left == 0:
            raise Busy("too many shoppers at once; try again") from failure
        self.transient += 1
        # Full jitter keeps colliding buyers from retrying in lockstep.
        self._sleep(retry.ORDER.delay(self.transient, self._rng))

    def read(self, read: Callable[[], T]) -> T:
        """One read of the order path, retried here (never by botocore) when
        DynamoDB is busy, within the order's budget."""
        while True:
            self.spend()
            try:
                return read()
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in aws.THROTTLING:
                    raise
                self.back_off(exc)
            except BotoCoreError as exc:
                self.back_off(exc)
