"""One delivery pipeline for every message about an order: the SNS confirmation
(notifications.py) and the shopper's SES email (mailer.py).

    check the mark -> take the lease -> call AWS -> remember the id -> mark

The marks (`notifiedAt`, `emailedAt`, ... with the message id beside them) and
the leases live on the order item, and `Ledger` is the only code that writes
them. A message is delivered once per order and channel, with one window of
duplicates, the same for every channel: AWS took the message but its mark was
never written (the process died, AWS's answer never came back, or every mark
attempt failed) and the retried record or message then reached a process that
does not remember the id (another container; for a leased channel, only after
the lease ran out). Inside one process the id is remembered until the mark is
written, so a redelivery there only marks. A process that dies before the call
delays the message (by the lease, where there is one) and never loses it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import instants, retry
from chalicelib.observability import logger

MARK_ATTEMPTS = 5
# Delivered-but-unmarked messages a process remembers; each entry stays only
# until its mark is written, so this bound is reached only in a long outage.
REMEMBERED = 10_000


class Channel(NamedTuple):
    """One kind of message and where the order records it."""

    name: str  # what is delivered, for errors and logs: "confirmation", "email"
    sender: str  # who delivers it: "notifier", "mailer"
    mark: str  # set when delivered (or decided): "notifiedAt"
    outcome: str  # the message id, or why there is none: "notificationId"
    # Held while a copy is at work, for channels whose copies run at once.
    lease: str | None = None


class Failed(Exception):
    """This message was not delivered (or not marked) now: it must come back."""


class Unsure(Failed):
    """AWS gave no answer after the request was sent: it may have taken the
    message. The lease stays until it runs out, so no other copy sends at once."""


class Ledger:
    """The delivery marks and leases on the Orders table."""

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        lease_seconds: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        backoff: retry.Backoff = retry.DELIVERY,
    ) -> None:
        self._dynamodb = dynamodb
        self._table = table
        self._lease = lease_seconds
        self._sleep = sleep
        self._backoff = backoff

    def read(self, order_id: str) -> Mapping[str, Any] | None:
        """The stored order, marks included (a consistent read: the marks decide)."""
        try:
            item: Mapping[str, Any] | None = self._dynamodb.get_item(
                TableName=self._table, Key={"orderId": {"S": order_id}}, ConsistentRead=True
            ).get("Item")
            return item
        except (ClientError, BotoCoreError) as exc:
            raise Failed(f"order {order_id} could not be read") from exc

    def claim(self, order_id: str, channel: Channel) -> bool:
        """Take the channel's lease; False if the message was marked meanwhile.
        Raises Failed while another copy holds the lease (it is at work)."""
        assert channel.lease is not None
        now = instants.now()
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={"orderId": {"S": order_id}},
                UpdateExpression="SET #lease = :until",
                ConditionExpression=(
                    "attribute_exists(orderId) AND attribute_not_exists(#mark)"
                    " AND (attribute_not_exists(#lease) OR #lease < :now)"
                ),
                ExpressionAttributeNames={"#mark": channel.mark, "#lease": channel.lease},
                ExpressionAttributeValues={
                    ":now": {"S": instants.canonical(now)},
                    ":until": {"S": instants.canonical(now + timedelta(seconds=self._lease))},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise Failed(f"order {order_id}'s {channel.name} could not be claimed") from exc
            if channel.mark in (exc.response.get("Item") or {}):
                return False
            raise Failed(
                f"order {order_id}'s {channel.name} is being sent by another {channel.sender}"
            ) from exc
        except BotoCoreError as exc:
            raise Failed(f"order {order_id}'s {channel.name} could not be claimed") from exc

    def release(self, order_id: str, channel: Channel) -> None:
        """Give the lease back (best effort: it runs out by itself anyway)."""
        assert channel.lease is not None
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={"orderId": {"S": order_id}},
                UpdateExpression="REMOVE #lease",
                ConditionExpression="attribute_exists(orderId)",
                ExpressionAttributeNames={"#lease": channel.lease},
            )
        except (ClientError, BotoCoreError):
            logger.warning("lease on order %s's %s not released", order_id, channel.name)

    def mark(self, order_id: str, channel: Channel, outcome: str) -> None:
        """Record the message as delivered, with its id (or why there is none).
        Retried on its own, apart from the call: a failed mark must never lead to
        a second call. Raises Failed if every attempt failed."""
        failure: Exception | None = None
        for attempt in range(MARK_ATTEMPTS):
            try:
                self._dynamodb.update_item(
                    TableName=self._table,
                    Key={"orderId": {"S": order_id}},
                    UpdateExpression="SET #mark = :now, #outcome = :id",
                    # The first mark stands: a concurrent copy's is not written over.
                    ConditionExpression="attribute_exists(orderId) AND attribute_not_exists(#mark)",
                    ExpressionAttributeNames={"#mark": channel.mark, "#outcome": channel.outcome},
                    ExpressionAttributeValues={
                        ":now": {"S": instants.canonical(instants.now())},
                        ":id": {"S": outcome},
                    },
                )
                return
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    return  # marked already (a concurrent copy), or the order is gone
                failure = exc
            except BotoCoreError as exc:
                failure = exc
            if attempt < MARK_ATTEMPTS - 1:
                self._sleep(self._backoff.delay(attempt))
        raise Failed(f"order {order_id}'s {channel.name} was sent but not marked yet") from failure


class Memo:
    """Outcomes delivered but not yet marked, (order id, mark) -> id; bounded,
    oldest forgotten first, safe across threads."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> str | None:
        """The remembered outcome, if any."""
        with self._lock:
            return self._entries.get(key)

    def remember(self, key: tuple[str, str], outcome: str) -> None:
        """Keep `outcome` until it is marked."""
        with self._lock:
            self._entries[key] = outcome
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def forget(self, key: tuple[str, str]) -> None:
        """Drop the entry: its mark is written."""
        with self._lock:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class Pipeline:
    """Delivers each order's message on a channel once (see the module docstring)."""

    def __init__(self, ledger: Ledger, memo: Memo | None = None) -> None:
        self.ledger = ledger
        self._memo = memo or Memo()

    def deliver(
        self,
        order_id: str,
        stored: Mapping[str, Any],
        channel: Channel,
        call: Callable[[], str],
    ) -> str | None:
        """Run `call` (which returns the message id, or why nothing was sent) unless
        `stored` (the order, read consistently) is marked; then mark it. Returns
        the outcome, or None when it was delivered before."""
        key = (order_id, channel.mark)
        if channel.mark in stored:
            self._memo.forget(key)
            return None
        outcome = self._memo.get(key)
        if outcome is None:
            if channel.lease is not None and not self.ledger.claim(order_id, channel):
                self._memo.forget(key)
                return None
            try:
                outcome = call()
            except Unsure:
                raise  # the lease stays: AWS may have taken it
            except Exception:
                if channel.lease is not None:
                    self.ledger.release(order_id, channel)  # not taken: free to retry now
                raise
            self._memo.remember(key, outcome)
        else:
            logger.info(
                "order %s's %s went out as %s; marking only", order_id, channel.name, outcome
            )
        self.ledger.mark(order_id, channel, outcome)
        self._memo.forget(key)
        return outcome
