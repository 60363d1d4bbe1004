"""The holds queue: one delayed SQS message per hold, delivered at its expiry to
the `release_holds` function (docs/payments.md, "Release, on time").

SQS delays a message by whole seconds, up to 15 minutes; a longer hold's message
is sent on again with the rest. The whole-second delay is chosen so that the
message comes at most EARLY_WAIT before the hold's end (the release waits that
out) and at most 1 - EARLY_WAIT after it. Rounding down instead would make it
on time, but a release waiting up to a second keeps its whole batch, and with
it a worker, waiting: when a thousand holds end in one second, that wait,
not DynamoDB, set how late the last one went (bench/holds.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import instants
from chalicelib.model import AWAITING_PAYMENT, Order
from chalicelib.observability import logger
from chalicelib.orders.transactions import Hold

MAX_DELAY_SECONDS = 900  # SQS's limit on DelaySeconds
EARLY_WAIT = 0.25  # seconds a release message may come before its hold's end


# What a message asks: release the hold at its end; retry its refund; or check
# that the request which placed it lived to give it its PaymentIntent.
KINDS = ("release", "refund", "check")
# How long after the stream brings a hold its check comes (or at its end, if
# sooner): longer than the request that placed it can live (the API function's
# 10 s timeout), and for holds of a minute or more before their end, so that a
# thousand holds ending together do not bring a thousand checks with them.
CHECK_SECONDS = 30


def encode(hold: Hold, kind: str = "release") -> str:
    """The message body asking `kind` of `hold`."""
    assert kind in KINDS, kind
    return json.dumps(
        {
            "kind": kind,
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
    if kind not in KINDS:
        raise ValueError(f"unknown hold message kind {kind!r}")
    return kind, hold


def delay_until(due: datetime, now: datetime) -> int:
    """The DelaySeconds that delivers a message in [due - EARLY_WAIT, due + 1 - EARLY_WAIT)."""
    seconds = (due - now).total_seconds()
    return max(0, min(MAX_DELAY_SECONDS, math.ceil(seconds - EARLY_WAIT)))


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
            QueueUrl=self._url, MessageBody=encode(hold, "refund"), DelaySeconds=seconds
        )

    def watch(self, new_holds: list[Hold], now: datetime) -> list[Hold]:
        """Check each new hold a little later: a request that died between the
        hold's transaction and its release message (a container killed, a
        timeout) left units that nothing would release. The Orders stream
        brings every committed hold here, whatever became of its request.
        The holds whose checks SQS did not take (the stream brings them again)."""
        unwatched: list[Hold] = []
        for start in range(0, len(new_holds), 10):
            batch = new_holds[start : start + 10]
            try:
                answer = self._sqs.send_message_batch(
                    QueueUrl=self._url,
                    Entries=[
                        {
                            "Id": str(n),
                            "MessageBody": encode(hold, "check"),
                            "DelaySeconds": delay_until(
                                min(hold.expires_at, now + timedelta(seconds=CHECK_SECONDS)), now
                            ),
                        }
                        for n, hold in enumerate(batch)
                    ],
                )
            except (ClientError, BotoCoreError):
                logger.warning("hold checks not sent", holds=len(batch))
                unwatched += batch
                continue
            failed = {int(entry["Id"]) for entry in answer.get("Failed") or []}
            if failed:
                logger.warning("hold checks not sent", holds=len(failed))
            unwatched += [hold for n, hold in enumerate(batch) if n in failed]
        return unwatched


def watch_stream(
    queue: Callable[[], HoldQueue], records: list[dict[str, Any]], now: datetime
) -> list[str]:
    """Put a check of each hold a batch of Orders stream records committed on the
    holds queue; the sequence numbers of the records whose checks were not sent,
    to be reported as the batch's item failures, so that the stream resumes at
    the first of them rather than at the batch's start (a check sent twice
    finds the hold ready, or released, the second time)."""
    found = new_holds(records)
    if not found:
        return []  # no holds: no SQS client built for this batch
    unwatched = {hold.order_id for hold in queue().watch([hold for _, hold in found], now)}
    return [sequence for sequence, hold in found if hold.order_id in unwatched]


def new_holds(records: list[dict[str, Any]]) -> list[tuple[str, Hold]]:
    """The holds committed in a batch of Orders stream records, each with its
    record's sequence number."""
    found: list[tuple[str, Hold]] = []
    for record in records:
        change = record.get("dynamodb") or {}
        image = change.get("NewImage") or {}
        if (
            record.get("eventName") != "INSERT"
            or image.get("status", {}).get("S") != AWAITING_PAYMENT
        ):
            continue
        try:
            found.append((str(change.get("SequenceNumber", "")), Hold.of(Order.from_item(image))))
        except (KeyError, ValueError, ArithmeticError, AssertionError, TypeError):
            logger.error("stream record is not a hold", order_id=image.get("orderId"))
    return found
