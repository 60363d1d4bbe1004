"""The emulator's SQS attribute reads (local/fast_queues.py) behave like moto's
own, without building every queue attribute per message."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sqs import models
from moto.sqs.models import Queue, SQSBackend

from local import fast_queues, moto_pin


def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """The emulator's reads, for this test only."""
    monkeypatch.setattr(Queue, "messages", property(fast_queues.visible_messages))
    monkeypatch.setattr(SQSBackend, "send_message", fast_queues.send_message)
    monkeypatch.setattr(Queue, "delete_message", fast_queues.delete_message)
    monkeypatch.setattr(models, "generate_receipt_handle", fast_queues.receipt_handle)
    monkeypatch.setattr(
        SQSBackend,
        "is_message_valid_based_on_retention_period",
        fast_queues.is_message_valid_based_on_retention_period,
    )


@pytest.fixture(params=["moto", "fast"])
def sqs(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An SQS client on moto as shipped, and on moto with the emulator's reads."""
    if request.param == "fast":
        fast(monkeypatch)
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def bodies(sqs: Any, url: str) -> list[str]:
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return sorted(m["Body"] for m in got.get("Messages", []))


def test_messages_come_after_their_delay_and_not_before(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="holds")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=3)
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "now"}, {"Id": "2", "MessageBody": "too"}]
    )
    assert bodies(sqs, url) == ["now", "too"]
    time.sleep(3.1)
    assert bodies(sqs, url) == ["later"]


def test_fifo_content_based_deduplication_still_drops_the_copy(sqs: Any) -> None:
    url = sqs.create_queue(
        QueueName="q.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    assert bodies(sqs, url) == ["same"]


def test_a_message_past_its_retention_is_not_delivered(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="short", Attributes={"MessageRetentionPeriod": "60"})[
        "QueueUrl"
    ]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    for queue in _queues():
        for message in queue._messages:
            message.sent_timestamp -= 61_000  # sent 61 s ago
    assert bodies(sqs, url) == []


def test_a_delay_over_sqs_limit_is_refused(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="holds")["QueueUrl"]
    with pytest.raises(sqs.exceptions.ClientError, match="DelaySeconds"):
        sqs.send_message(QueueUrl=url, MessageBody="x", DelaySeconds=901)


def test_sending_and_receiving_build_no_queue_attributes(monkeypatch: pytest.MonkeyPatch) -> None:
    # moto built every attribute (counting every message) for each message sent
    # and each one received: with a thousand holds queued, receiving ten took
    # 400 ms and the releases fell a minute behind.
    fast(monkeypatch)
    built: list[str] = []
    attributes = Queue.attributes

    def counted(queue: Queue) -> dict[str, Any]:
        built.append(queue.name)
        return attributes.fget(queue)  # type: ignore[attr-defined,no-any-return]

    monkeypatch.setattr(Queue, "attributes", property(counted))
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="holds")["QueueUrl"]
        built.clear()
        for n in range(30):
            sqs.send_message(QueueUrl=url, MessageBody=str(n))
        assert len(bodies(sqs, url)) == 10
    assert built == []


def test_receiving_looks_at_the_clock_once_not_twice_per_queued_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # moto asked the clock twice per queued message on every receive: with the
    # holds queue full, picking ten messages cost more than the releases did.
    from moto.sqs import models

    fast(monkeypatch)
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="holds")["QueueUrl"]
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(n), "MessageBody": str(n), "DelaySeconds": 60} for n in range(10)],
        )
        sqs.send_message(QueueUrl=url, MessageBody="due")
        reads: list[int] = []
        clock = models.unix_time_millis

        def counted() -> float:
            reads.append(1)
            return clock()

        monkeypatch.setattr(models, "unix_time_millis", counted)
        monkeypatch.setattr(fast_queues, "unix_time_millis", counted)
        assert bodies(sqs, url) == ["due"]
    assert len(reads) < 11, len(reads)  # fewer than the messages queued


def test_deletes_take_the_message_by_any_of_its_receipts_once(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="holds")["QueueUrl"]
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(3)]
    )
    first = {
        m["Body"]: m["ReceiptHandle"]
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)[
            "Messages"
        ]
    }
    again = {
        m["Body"]: m["ReceiptHandle"]
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    }
    # An older receipt still deletes (moto keeps them), a repeat is taken quietly,
    # and in a batch the deleted ones succeed beside a handle nobody issued.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["m0"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again["m0"])
    answer = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "ReceiptHandle": again["m1"]},
            {"Id": "b", "ReceiptHandle": "not-a-receipt"},
        ],
    )
    assert [e["Id"] for e in answer["Successful"]] == ["a"]
    assert [e["Id"] for e in answer["Failed"]] == ["b"]
    with pytest.raises(sqs.exceptions.ClientError, match="ReceiptHandleIsInvalid"):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-receipt")
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again["m2"], VisibilityTimeout=0)
    assert bodies(sqs, url) == ["m2"]


def test_each_receive_hands_out_a_new_receipt_in_moto_s_shape(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="holds")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    receipts = [
        sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]["ReceiptHandle"]
        for _ in range(5)
    ]
    assert len(set(receipts)) == 5
    assert all(len(r) == 185 and r.isascii() and r.isalpha() and r.islower() for r in receipts)


def test_another_moto_is_refused_loudly() -> None:
    with pytest.raises(moto_pin.WrongMoto, match=r"5\.2\.5"):
        fast_queues.install(version="5.3.0")


def _queues() -> Iterator[Queue]:
    from moto.sqs.models import sqs_backends

    for regions in sqs_backends.values():
        for backend in regions.values():
            yield from backend.queues.values()
