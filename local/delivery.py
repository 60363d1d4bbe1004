"""What AWS does around the notifier, done locally against the emulator.

StreamPoller plays the event source mapping infra/app gives notify_orders, with
the settings it reads from the same file (infra/app/notify_mapping.json): it
reads new records in order, calls the app's handler with a Lambda-shaped event,
honours `batchItemFailures` (delivers again from the first failed record),
splits a batch in two when the handler raises, gives up on records after
`maximum_retry_attempts` retries or `maximum_record_age_in_seconds`, and then
sends Lambda's on-failure record (the stream positions, never the records) to a
dead-letter queue. It drops the records none of the mapping's filter patterns
match (infra/app/notify_filters.json), as Lambda does, before they make a
batch. Mailbox subscribes an SQS queue to the topic and shows each
confirmation as it is sent, since email subscriptions deliver nothing here.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger("flashsale.local")
Handler = Callable[[dict[str, Any], Any], Any]
Record = dict[str, Any]
MAPPING_FILE = Path(__file__).resolve().parent.parent / "infra" / "app" / "notify_mapping.json"
MAPPING: dict[str, Any] = json.loads(MAPPING_FILE.read_text())
# The mapping's filter criteria, the same file infra/app gives Lambda.
FILTERS_FILE = MAPPING_FILE.with_name("notify_filters.json")
FILTERS: list[dict[str, Any]] = json.loads(FILTERS_FILE.read_text())
# The local stage's notifier dead-letter queue, named as infra/core names each stage's.
NOTIFY_DLQ = "flashsale-local-notify-dlq"
LOCAL_FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:flashsale-local-notify_orders"


class DeadLetterQueue:
    """The mapping's on-failure destination: an SQS queue in the emulator."""

    def __init__(self, sqs: Any, name: str) -> None:
        self._sqs = sqs
        self.url = sqs.create_queue(QueueName=name)["QueueUrl"]

    def send(self, body: dict[str, Any]) -> None:
        self._sqs.send_message(QueueUrl=self.url, MessageBody=json.dumps(body))

    def receive(self) -> list[dict[str, Any]]:
        """The waiting messages, parsed, left in the queue (for tests and checks)."""
        response = self._sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=0
        )
        return [json.loads(m["Body"]) for m in response.get("Messages", [])]


class StreamPoller:
    def __init__(
        self,
        dynamodb: Any,
        streams: Any,
        table: str,
        handler: Handler,
        dead_letters: DeadLetterQueue | None = None,
        mapping: dict[str, Any] | None = None,
        filters: list[dict[str, Any]] | None = None,
        backoff: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._dynamodb = dynamodb
        self._streams = streams
        self._table = table
        self._handler = handler
        self._dead_letters = dead_letters
        settings = {**MAPPING, **(mapping or {})}
        assert settings["function_response_types"] == ["ReportBatchItemFailures"]
        self._batch_size = int(settings["batch_size"])
        self._max_retries = int(settings["maximum_retry_attempts"])
        self._bisect = bool(settings["bisect_batch_on_function_error"])
        self._max_age = float(settings["maximum_record_age_in_seconds"])
        self._start = str(settings["starting_position"])
        self._filters = FILTERS if filters is None else filters
        self._backoff = backoff
        self._sleep = sleep
        self._clock = clock
        self._stream: tuple[str, str] | None = None
        self._last: str | None = None
        self.invocations = 0
        self.read = 0  # stream records read
        self.delivered = 0  # records handed to the function (retries counted again)
        self.abandoned: list[str] = []  # sequence numbers handed to the dead-letter queue

    def _shard(self) -> tuple[str, str]:
        if self._stream is None:
            arn = self._dynamodb.describe_table(TableName=self._table)["Table"]["LatestStreamArn"]
            shards = self._streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
            self._stream = (arn, shards[0]["ShardId"])
        return self._stream

    def _read(self) -> list[Record]:
        arn, shard = self._shard()
        # A fresh iterator each time: the emulator swaps its shard object when it
        # rolls back a cancelled transaction, which strands older iterators.
        position: dict[str, str] = {"ShardIteratorType": self._start}
        if self._last is not None:
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._last}
        iterator = self._streams.get_shard_iterator(StreamArn=arn, ShardId=shard, **position)
        records: list[Record] = self._streams.get_records(
            ShardIterator=iterator["ShardIterator"], Limit=self._batch_size
        )["Records"]
        for record in records:
            created = record["dynamodb"]["ApproximateCreationDateTime"]
            if isinstance(created, datetime):
                record["dynamodb"]["ApproximateCreationDateTime"] = created.timestamp()
            record["eventSourceARN"] = arn
        return records

    def poll_once(self) -> int:
        """Deliver one batch of new records; return how many records it held."""
        records = self._read()
        self.read += len(records)
        wanted = [r for r in records if passes(self._filters, r)]
        if wanted:
            self._deliver(wanted)
        if records:
            self._advance(records[-1])  # what the filters dropped is behind us too
        return len(records)

    def _deliver(self, records: list[Record]) -> None:
        pending = [records]  # batches still to deliver, in stream order
        retries = 0
        while pending:
            batch = self._expire(pending[0])
            if not batch:
                pending.pop(0)
                continue
            failed_at, raised = self._invoke(batch)
            if failed_at is None:
                self._advance(batch[-1])
                pending.pop(0)
                retries = 0
                continue
            done = [r for r in batch if int(_seq(r)) < int(failed_at)]
            if done:
                # A partial answer checkpoints what went through.
                self._advance(done[-1])
                retries = 0
            rest = batch[len(done) :]
            if retries >= self._max_retries:
                self._give_up(rest, "RetryAttemptsExhausted", retries + 1)
                pending.pop(0)
                retries = 0
                continue
            retries += 1
            if raised and self._bisect and len(rest) > 1:
                # A function error splits the batch (a partial answer needs no split:
                # the mapping already retries from the returned record).
                half = len(rest) // 2
                pending[0:1] = [rest[:half], rest[half:]]
            else:
                pending[0] = rest
            self._sleep(self._backoff * 2 ** min(retries, 5))

    def _expire(self, batch: list[Record]) -> list[Record]:
        """Records older than the mapping's maximum age go to the dead letters unseen."""
        now = self._clock()
        expired = [now - _created(r) > self._max_age for r in batch]
        if any(expired):
            self._give_up(
                [r for r, x in zip(batch, expired, strict=True) if x], "RecordAgeExceeded", 0
            )
        return [r for r, x in zip(batch, expired, strict=True) if not x]

    def drain(self) -> None:
        """Deliver until the stream has nothing new."""
        while self.poll_once():
            pass

    def _invoke(self, records: list[Record]) -> tuple[str | None, bool]:
        """Call the handler: the first sequence number to deliver again (or None),
        and whether the handler raised (a function error) rather than answered."""
        self.invocations += 1
        self.delivered += len(records)
        try:
            result = self._handler({"Records": records}, None)
        except Exception:
            logger.exception("stream handler failed; the batch will be delivered again")
            return _seq(records[0]), True
        failures = (result or {}).get("batchItemFailures") or []
        if not failures:
            return None, False
        return min((f["itemIdentifier"] for f in failures), key=int), False

    def _give_up(self, records: list[Record], condition: str, invocations: int) -> None:
        logger.error(
            "stream records %s..%s go to the dead-letter queue (%s)",
            _seq(records[0]),
            _seq(records[-1]),
            condition,
        )
        self.abandoned += [_seq(r) for r in records]
        if self._dead_letters is not None:
            self._dead_letters.send(self._failure_record(records, condition, invocations))
        self._advance(records[-1])

    def _failure_record(
        self, records: list[Record], condition: str, invocations: int
    ) -> dict[str, Any]:
        """What Lambda sends an on-failure destination for a stream batch."""
        arn, shard = self._shard()
        return {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": LOCAL_FUNCTION_ARN,
                "condition": condition,
                "approximateInvokeCount": invocations,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": _iso(self._clock()),
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": _seq(records[0]),
                "endSequenceNumber": _seq(records[-1]),
                "approximateArrivalOfFirstRecord": _iso(_created(records[0])),
                "approximateArrivalOfLastRecord": _iso(_created(records[-1])),
                "batchSize": len(records),
                "streamArn": arn,
            },
        }

    def _advance(self, record: Record) -> None:
        if self._last is None or int(_seq(record)) > int(self._last):
            self._last = _seq(record)

    def run(self, stop: threading.Event, idle: float = 0.2) -> None:
        """Poll until `stop` is set."""
        while not stop.is_set():
            try:
                if not self.poll_once():
                    stop.wait(idle)
            except Exception:
                logger.exception("stream poll failed")
                stop.wait(1)


def passes(filters: list[dict[str, Any]], record: Record) -> bool:
    """Whether Lambda's event filtering lets `record` through: no filters, or one
    pattern matching it (the subset of the pattern syntax the mapping uses:
    nested keys, a list of values, `{"exists": bool}` on a leaf)."""
    return not filters or any(_matches(pattern, record) for pattern in filters)


def _matches(pattern: dict[str, Any], value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    for key, wanted in pattern.items():
        if isinstance(wanted, dict):
            # An absent key matches a pattern of absences (`exists: false`) below it.
            if not _matches(wanted, value.get(key, {})):
                return False
            continue
        present = key in value and not isinstance(value[key], dict | list)
        if not any(_matches_one(rule, present, value.get(key)) for rule in wanted):
            return False
    return True


def _matches_one(rule: Any, present: bool, value: Any) -> bool:
    if isinstance(rule, dict):
        if set(rule) != {"exists"}:
            raise ValueError(f"filter rule {rule} is not one the local poller plays")
        return bool(rule["exists"]) == present
    return present and rule == value


def _created(record: Record) -> float:
    return float(record["dynamodb"]["ApproximateCreationDateTime"])


def _iso(seconds: float) -> str:
    return (
        datetime.fromtimestamp(seconds, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _seq(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


class Mailbox:
    """An SQS queue subscribed to the order topic: the messages SNS sent."""

    def __init__(
        self,
        sns: Any,
        sqs: Any,
        topic_arn: str,
        name: str,
        filter_policy: dict[str, list[str]] | None = None,
    ) -> None:
        self._sqs = sqs
        self.url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        attributes = {"FilterPolicy": json.dumps(filter_policy)} if filter_policy else {}
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes)

    def receive(self, wait: int = 0) -> list[dict[str, Any]]:
        """Take the waiting messages (waiting up to `wait` s for one): SNS
        envelopes with the Message parsed."""
        response = self._sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=wait
        )
        envelopes = []
        for raw in response.get("Messages", []):
            envelope = json.loads(raw["Body"])
            envelope["Message"] = json.loads(envelope["Message"])
            envelopes.append(envelope)
            self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=raw["ReceiptHandle"])
        return envelopes

    def print_forever(self, stop: threading.Event, wait: int = 1) -> None:
        """Print each confirmation as it arrives, until `stop` is set (long
        polls of `wait` s: the emulator waits them out outside its lock)."""
        while not stop.is_set():
            try:
                envelopes = self.receive(wait)
            except Exception:
                logger.exception("mailbox poll failed")
                stop.wait(1)
                envelopes = []
            for envelope in envelopes:
                order = envelope["Message"]["order"]
                print(
                    f'==> SNS "{envelope["Subject"]}" for {order["userId"]}: '
                    f"{order['quantity']} x {order['productName']} = {order['totalAmount']}"
                    f" (order {order['orderId']})",
                    flush=True,
                )
