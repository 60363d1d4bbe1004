"""What AWS does around the notifier, done locally against the emulator.

StreamPoller plays Lambda's event source mapping for the Orders stream: it
reads new records in order, calls the app's handler with a Lambda-shaped event,
honours `batchItemFailures` (delivers again from the first failed record, with
backoff) and, like a mapping with MaximumRetryAttempts, gives up on a record
after `max_attempts`. Mailbox subscribes an SQS queue to the topic and shows
each confirmation as it is sent, since email subscriptions deliver nothing here.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("flashsale.local")
Handler = Callable[[dict[str, Any], Any], Any]


class StreamPoller:
    def __init__(
        self,
        dynamodb: Any,
        streams: Any,
        table: str,
        handler: Handler,
        batch_size: int = 100,
        max_attempts: int = 10,
        backoff: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._dynamodb = dynamodb
        self._streams = streams
        self._table = table
        self._handler = handler
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._sleep = sleep
        self._stream: tuple[str, str] | None = None
        self._last: str | None = None
        self.delivered = 0
        self.abandoned: list[str] = []

    def _shard(self) -> tuple[str, str]:
        if self._stream is None:
            arn = self._dynamodb.describe_table(TableName=self._table)["Table"]["LatestStreamArn"]
            shards = self._streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
            self._stream = (arn, shards[0]["ShardId"])
        return self._stream

    def _read(self) -> list[dict[str, Any]]:
        arn, shard = self._shard()
        # A fresh iterator each time: the emulator swaps its shard object when it
        # rolls back a cancelled transaction, which strands older iterators.
        position: dict[str, str] = {"ShardIteratorType": "TRIM_HORIZON"}
        if self._last is not None:
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._last}
        iterator = self._streams.get_shard_iterator(StreamArn=arn, ShardId=shard, **position)
        records: list[dict[str, Any]] = self._streams.get_records(
            ShardIterator=iterator["ShardIterator"], Limit=self._batch_size
        )["Records"]
        for record in records:
            created = record["dynamodb"]["ApproximateCreationDateTime"]
            record["dynamodb"]["ApproximateCreationDateTime"] = created.timestamp()
            record["eventSourceARN"] = arn
        return records

    def poll_once(self) -> int:
        """Deliver one batch of new records; return how many records it held."""
        records = self._read()
        count = len(records)
        attempts = 0
        while records:
            failed = self._invoke(records)
            if failed is None:
                self._advance(records[-1])
                break
            done = [r for r in records if int(_seq(r)) < int(failed)]
            if done:
                self._advance(done[-1])
                attempts = 0
            records = records[len(done) :]
            attempts += 1
            if attempts >= self._max_attempts:
                logger.error("giving up on stream record %s after %d attempts", failed, attempts)
                self.abandoned.append(failed)
                self._advance(records[0])
                records, attempts = records[1:], 0
                continue
            self._sleep(self._backoff * 2 ** min(attempts, 5))
        return count

    def drain(self) -> None:
        """Deliver until the stream has nothing new."""
        while self.poll_once():
            pass

    def _invoke(self, records: list[dict[str, Any]]) -> str | None:
        """Call the handler; the first sequence number to deliver again, or None."""
        try:
            result = self._handler({"Records": records}, None)
        except Exception:
            logger.exception("stream handler failed; the whole batch will be delivered again")
            return _seq(records[0])
        failures = (result or {}).get("batchItemFailures") or []
        if not failures:
            return None
        return min((f["itemIdentifier"] for f in failures), key=int)

    def _advance(self, record: dict[str, Any]) -> None:
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

    def receive(self) -> list[dict[str, Any]]:
        """Take the waiting messages: SNS envelopes with the Message parsed."""
        # Short polls only: a long poll would hold the emulator's global lock.
        response = self._sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        envelopes = []
        for raw in response.get("Messages", []):
            envelope = json.loads(raw["Body"])
            envelope["Message"] = json.loads(envelope["Message"])
            envelopes.append(envelope)
            self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=raw["ReceiptHandle"])
        return envelopes

    def print_forever(self, stop: threading.Event, idle: float = 0.5) -> None:
        """Print each confirmation as it arrives, until `stop` is set."""
        while not stop.is_set():
            try:
                envelopes = self.receive()
            except Exception:
                logger.exception("mailbox poll failed")
                envelopes = []
            for envelope in envelopes:
                order = envelope["Message"]["order"]
                print(
                    f'==> email "{envelope["Subject"]}" to {order["userId"]}: '
                    f"{order['quantity']} x {order['productName']} = {order['totalAmount']}"
                    f" (order {order['orderId']})",
                    flush=True,
                )
            if not envelopes:
                stop.wait(idle)
