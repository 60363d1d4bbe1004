"""Confirmations through the running stack: stream poller -> notifier -> SNS -> SQS."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

from local.delivery import NOTIFY_DLQ, DeadLetterQueue, Mailbox
from local.stack import ROOT, emulator_client
from tests.stack.conftest import Stack
from tests.stack.test_concurrency import assert_invariants, new_product, rush
from tests.stack.test_faults import buy, confirmations, mailbox_for


def test_100_concurrent_orders_send_100_matching_messages(stack: Stack) -> None:
    product_id = new_product(stack, stock=100)
    # Subscribers filter on the message attributes: only this sale's orders.
    mailbox = Mailbox(
        emulator_client("sns", stack.endpoint),
        emulator_client("sqs", stack.endpoint),
        stack.config.order_topic_arn,
        f"test-{uuid.uuid4().hex[:8]}",
        filter_policy={"productId": [product_id]},
    )

    replies = rush(
        110,
        lambda n: stack.api(
            "POST", "/orders", {"userId": f"buyer-{n}", "productId": product_id, "quantity": 1}
        ),
    )
    confirmed = {r.body["orderId"]: r.body for r in replies if r.status == 201}
    assert len(confirmed) == 100
    assert sum(r.status == 409 for r in replies) == 10

    received: dict[str, dict[str, object]] = {}
    duplicates = 0
    deadline = time.monotonic() + 60
    while len(received) < 100 and time.monotonic() < deadline:
        for envelope in mailbox.receive():
            order = envelope["Message"]["order"]
            duplicates += order["orderId"] in received
            received[order["orderId"]] = order
            assert envelope["Subject"] == "Order Placed Successfully"
        time.sleep(0.1)
    time.sleep(1)  # anything still in flight would be a duplicate
    for envelope in mailbox.receive():
        duplicates += envelope["Message"]["order"]["orderId"] in received

    assert received == confirmed
    assert duplicates == 0


def test_heavy_throttling_never_sends_a_confirmation_twice(stack: Stack) -> None:
    # Issue 11 saw 2 of 40 orders confirmed twice at a 70% throttle rate: a failed
    # notifiedAt mark made the retry publish again.
    product_id = new_product(stack, stock=40, maxPerUser=4)
    mailbox = mailbox_for(stack, product_id)
    dead_letters = DeadLetterQueue(emulator_client("sqs", stack.endpoint), NOTIFY_DLQ)
    already_dead = len(dead_letters.receive())
    with stack.faults(throttleRate=0.7) as injected:
        replies = rush(40, buy(stack, product_id))
        # The notifier works through the new orders while the throttling lasts
        # (this test's own reads wait: they would be throttled too).
        early = confirmations(mailbox, sum(r.status == 201 for r in replies), seconds=10)
    assert injected["throttled"] > 0
    assert_invariants(stack, product_id, 40, replies, max_per_user=4)
    stored = {o["orderId"] for o in stack.orders_for(product_id)}
    seen = early + confirmations(mailbox, len(stored) - sum(early.values()))
    assert set(seen) == stored
    assert set(seen.values()) <= {1}
    assert len(dead_letters.receive()) == already_dead


def test_replay_command_against_the_local_stack(stack: Stack) -> None:
    # GIVEN a confirmed order, and a dead-letter pointer to its stream record
    # (as the mapping sends when it gives up on a batch whose send went through)
    product_id = new_product(stack, stock=5)
    mailbox = mailbox_for(stack, product_id)
    order = buy(stack, product_id)(1).body
    assert confirmations(mailbox, 1) == {order["orderId"]: 1}
    streams = emulator_client("dynamodbstreams", stack.endpoint)
    dynamodb = emulator_client("dynamodb", stack.endpoint)
    arn = dynamodb.describe_table(TableName=stack.config.orders_table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        records += page["Records"]
        if not page["Records"]:
            break
        iterator = page.get("NextShardIterator")
    (record,) = [
        r for r in records if r["dynamodb"]["NewImage"]["orderId"]["S"] == order["orderId"]
        and r["eventName"] == "INSERT"
    ]  # fmt: skip
    sequence = record["dynamodb"]["SequenceNumber"]
    sqs = emulator_client("sqs", stack.endpoint)
    dead_letters = DeadLetterQueue(sqs, NOTIFY_DLQ)
    # Only this pointer: the replay takes all that an earlier test left there too.
    sqs.purge_queue(QueueUrl=dead_letters.url)
    dead_letters.send(
        {
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": sequence,
                "endSequenceNumber": sequence,
                "approximateArrivalOfFirstRecord": "2026-01-01T00:00:00Z",
                "approximateArrivalOfLastRecord": "2026-01-01T00:00:00Z",
                "batchSize": 1,
                "streamArn": arn,
            }
        }
    )

    # WHEN the operator runs the replay
    replayed = subprocess.run(
        [sys.executable, "-m", "deploy.replay_dlq", "--stage", "local", "--endpoint", stack.endpoint],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    # THEN it finds the order confirmed, sends nothing, and empties the queue
    assert replayed.returncode == 0, replayed.stderr
    assert "sent 0 confirmation(s), 1 already sent" in replayed.stdout
    assert dead_letters.receive() == []
    assert confirmations(mailbox, 0) == {}
