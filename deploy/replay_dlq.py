"""Replay what reached the notifier's dead-letter queue.

The stream's event source mapping sends the queue a pointer for every batch it
gave up on (retries exhausted or records too old): the shard and the first and
last sequence numbers, never the records. For each message this reads those
records back from the stream, sends each order's confirmation through the
notifier's own code (which re-reads the order and skips one already marked
`notifiedAt`, so a replay never sends twice), then deletes the message. Stream
records live 24 hours; for an older message it falls back to the orders still
unmarked that were created up to the batch's last record.

    python -m deploy.replay_dlq --stage prod [--dry-run]
    python -m deploy.replay_dlq --stage local [--endpoint http://127.0.0.1:4566]

Deployed stages use the notifier function's own settings (its environment),
read with lambda:GetFunctionConfiguration; see docs/confirmations-and-email.md,
"Replaying the dead-letter queue".
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib import settings
from chalicelib.notifications import CANCELLATION, OrderNotifier, new_order_id
from deploy import stage as stages

# Stream records a batch pointer covers are read in pages of this size.
PAGE = 1000
# Consecutive empty pages after which an open shard has nothing more for us.
EMPTY_PAGES = 5
# Unmarked orders created this long after a batch's last record are left alone:
# they belong to batches the mapping may still be delivering.
CLOCK_SLACK = timedelta(seconds=1)


@dataclass
class Report:
    messages: int = 0
    sent: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    failed_messages: int = 0
    from_table: int = 0  # messages whose records had left the stream


def stream_order_ids(streams: Any, info: dict[str, Any]) -> list[str] | None:
    """Order ids of the new orders between the pointer's first and last records,
    or None when the stream no longer has them."""
    start, end = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=info["streamArn"],
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=info["startSequenceNumber"],
        )["ShardIterator"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] in (
            "TrimmedDataAccessException",
            "ResourceNotFoundException",
        ):
            return None
        raise
    found: list[str] = []
    seen_start = False
    empty = 0
    while iterator and empty < EMPTY_PAGES:
        page = streams.get_records(ShardIterator=iterator, Limit=PAGE)
        records = page.get("Records", [])
        empty = 0 if records else empty + 1
        for record in records:
            sequence = int(record["dynamodb"]["SequenceNumber"])
            if sequence > end:
                return found if seen_start else None
            seen_start = seen_start or sequence == start
            order_id = new_order_id(record)
            if order_id is not None:
                found.append(order_id)
        iterator = page.get("NextShardIterator")
    return found if seen_start else None


def unmarked_order_ids(dynamodb: Any, table: str, created_until: datetime) -> list[str]:
    """Orders without a confirmation mark, created no later than `created_until`."""
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="attribute_not_exists(notifiedAt)",
        ProjectionExpression="orderId, createdAt",
        ConsistentRead=True,
    )
    return [
        item["orderId"]["S"]
        for page in pages
        for item in page["Items"]
        if _instant(item["createdAt"]["S"]) <= created_until + CLOCK_SLACK
    ]


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def messages(sqs: Any, queue_url: str, visibility: int) -> Iterator[dict[str, Any]]:
    """Every message now in the queue, once each; each is hidden from other readers
    for `visibility` seconds while it is handled."""
    seen: set[str] = set()
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            VisibilityTimeout=visibility,
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            return  # empty, or only messages already handled (kept or dry run)
        seen.update(m["MessageId"] for m in fresh)
        yield from fresh


def replay(
    sqs: Any,
    streams: Any,
    dynamodb: Any,
    notifier: OrderNotifier,
    queue_url: str,
    orders_table: str,
    dry_run: bool = False,
    visibility: int = 300,
) -> Report:
    """Send the confirmations the dead-letter queue points at; delete what was replayed.
    A message that fails stays in the queue (visible again after `visibility` s)."""
    report = Report()
    for message in messages(sqs, queue_url, visibility):
        report.messages += 1
        try:
            info = json.loads(message["Body"])["DDBStreamBatchInfo"]
            order_ids = stream_order_ids(streams, info)
            if order_ids is None:
                report.from_table += 1
                until = _instant(info["approximateArrivalOfLastRecord"])
                order_ids = unmarked_order_ids(dynamodb, orders_table, until)
            for order_id in order_ids:
                if dry_run or notifier.notify(order_id):
                    report.sent.append(order_id)
                else:
                    report.already_sent.append(order_id)
                if not dry_run:
                    # An order cancelled since is announced too (once, as ever).
                    notifier.notify(order_id, CANCELLATION)
            if not dry_run:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        except Exception as exc:  # one bad message must not stop the others
            report.failed_messages += 1
            print(f"message {message.get('MessageId')} not replayed: {exc!r}", file=sys.stderr)
    return report


def stage_settings(stage: str, lambda_client: Any | None) -> settings.Settings:
    """The notifier's settings: its deployed environment, or the local stage's config."""
    if stage == "local" or lambda_client is None:
        return settings.load(stages.config_environment(stage))
    configuration = lambda_client.get_function_configuration(
        FunctionName=stages.function_name(stage, "notify_orders")
    )
    return settings.load(configuration["Environment"]["Variables"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, choices=["local", "dev", "prod"])
    parser.add_argument("--endpoint", help="AWS emulator URL (local stage: http://127.0.0.1:4566)")
    parser.add_argument("--dry-run", action="store_true", help="list, send and delete nothing")
    args = parser.parse_args(argv)
    if args.stage == "local":
        stages.use_emulator(args.endpoint or "http://127.0.0.1:4566")
    elif args.endpoint:
        stages.use_emulator(args.endpoint)
    config = stage_settings(args.stage, None if args.stage == "local" else stages.client("lambda"))
    sqs = stages.client("sqs")
    dynamodb = stages.client("dynamodb")
    queue_url = sqs.get_queue_url(QueueName=stages.notify_dlq_name(args.stage))["QueueUrl"]
    notifier = OrderNotifier(
        dynamodb, stages.client("sns"), config.orders_table, config.order_topic_arn
    )
    report = replay(
        sqs,
        stages.client("dynamodbstreams", config=Config(retries={"mode": "standard"})),
        dynamodb,
        notifier,
        queue_url,
        config.orders_table,
        dry_run=args.dry_run,
    )
    verb = "would replay" if args.dry_run else "sent"
    print(
        f"{report.messages} dead-letter message(s): {verb} {len(report.sent)} confirmation(s), "
        f"{len(report.already_sent)} already sent, {report.from_table} read from the table "
        f"(stream records expired), {report.failed_messages} left in the queue"
    )
    return 1 if report.failed_messages else 0


if __name__ == "__main__":
    sys.exit(main())
