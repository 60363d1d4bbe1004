"""The holds queue: one delayed SQS message per hold, delivered at its expiry to
the `release_holds` function (docs/payments.md, "Release, on time").

SQS delays a message by whole seconds, up to 15 minutes; a longer hold's message
is sent on again with the rest. Messages are sent a little early (the delay is
rounded down) and the release waits out the fraction, so it is on time to
within the queue's delivery latency rather than a second late.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from chalicelib import instants
from chalicelib.orders.transactions import Hold

MAX_DELAY_SECONDS = 900  # SQS's limit on DelaySeconds


def encode(hold: Hold, refund: bool = False) -> str:
    """The message body for `hold` (`refund`: retry a refund, not a release)."""
    return json.dumps(
        {
            "kind": "refund" if refund else "release",
            "orderId": hold.order_id,
            "userId": hold.user_id,
            "productId": hold.product_id,
            "quantity": hold.quantity,
            "allocation": [list(taken) for taken in hold.allocation],
            "counted": hold.counted,
            "expiresAt": instants.canonical(hold.expires_at),
            "paymentIntentId": hold.intent_id,
        },
        separators=(",", ":"),
    )


def decode(body: str) -> tuple[str, Hold]:
    """(kind, hold) from a message body; ValueError for anything else."""
    try:
        data = json.loads(body)
        hold = Hold(
            order_id=str(data["orderId"]),
            user_id=str(data["userId"]),
            product_id=str(data["productId"]),
            quantity=int(data["quantity"]),
            allocation=tuple((str(key), int(units)) for key, units in data["allocation"]),
            counted=bool(data["counted"]),
            expires_at=instants.parse(str(data["expiresAt"])),
            intent_id=None if data.get("paymentIntentId") is None else str(data["paymentIntentId"]),
        )
        kind = str(data.get("kind", "release"))
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a hold message: {body[:200]!r}") from exc
    if kind not in ("release", "refund"):
        raise ValueError(f"unknown hold message kind {kind!r}")
    return kind, hold


def delay_until(due: datetime, now: datetime) -> int:
    """The DelaySeconds that delivers a message at (just before) `due`."""
    seconds = (due - now).total_seconds()
    return max(0, min(MAX_DELAY_SECONDS, math.floor(seconds)))


class HoldQueue:
    """Sends hold messages to the holds queue."""

    def __init__(self, sqs: Any, url: str) -> None:
        self._sqs = sqs
        self._url = url

    def schedule(self, hold: Hold, now: datetime) -> None:
        """Deliver `hold`'s release at its expiry (or as near as SQS's 15 minutes reach)."""
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=encode(hold),
            DelaySeconds=delay_until(hold.expires_at, now),
        )

    def retry_refund(self, hold: Hold, seconds: int = 30) -> None:
        """Try a refund again in `seconds` (Stripe did not answer)."""
        self._sqs.send_message(
            QueueUrl=self._url, MessageBody=encode(hold, refund=True), DelaySeconds=seconds
        )
