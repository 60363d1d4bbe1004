"""Order confirmations: Orders stream -> notifier -> SNS, read back through SQS;
the local event source mapping (retries, bisection, dead letters) and the replay."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import app as application
from chalicelib import notifications, settings, wiring
from chalicelib.model import Order
from chalicelib.notifications import OrderNotifier
from deploy import replay_dlq
from local import resources
from local.delivery import MAPPING, NOTIFY_DLQ, DeadLetterQueue, Mailbox, StreamPoller
from tests.conftest import Shop

# botocore sends stream calls to account-based endpoints that moto's in-process
# mock does not route yet; the classic endpoint it does.
CLASSIC_ENDPOINT = Config(account_id_endpoint_mode="disabled")


class Delivery:
    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        config = settings.load()
        resources.create_topic(boto3.client("sns"))
        self.mailbox = Mailbox(
            boto3.client("sns"), boto3.client("sqs"), config.order_topic_arn, "test-emails"
        )
        self.dead_letters = DeadLetterQueue(boto3.client("sqs"), NOTIFY_DLQ)
        self.poller = self.new_poller()

    def new_poller(self, **options: Any) -> StreamPoller:
        return StreamPoller(
            self.shop.dynamodb,
            boto3.client("dynamodbstreams", config=CLASSIC_ENDPOINT),
            self.shop.config.orders_table,
            application.notify_orders,
            self.dead_letters,
            sleep=lambda seconds: None,
            **options,
        )

    def replay(self, streams: Any = None, dry_run: bool = False) -> replay_dlq.Report:
        notifier = OrderNotifier(
            self.shop.dynamodb,
            boto3.client("sns"),
            self.shop.config.orders_table,
            self.shop.config.order_topic_arn,
            sleep=lambda seconds: None,
        )
        return replay_dlq.replay(
            boto3.client("sqs"),
            streams or boto3.client("dynamodbstreams", config=CLASSIC_ENDPOINT),
            self.shop.dynamodb,
            notifier,
            self.dead_letters.url,
            self.shop.config.orders_table,
            dry_run=dry_run,
            visibility=0,
        )

    def messages(self) -> list[dict[str, Any]]:
        received: list[dict[str, Any]] = []
        while batch := self.mailbox.receive():
            received += batch
        return received


class NoCounters:
    """The console's counters left out of a test that is not about them."""

    def count(self, placed: Any, cancelled: Any) -> int:
        return 0


@pytest.fixture
def delivery(shop: Shop) -> Iterator[Delivery]:
    shop.put_product(stock=4, maxPerUser=2)
    yield Delivery(shop)


class FlakySNS:
    """Real (moto) SNS that fails the first `failures` publishes for one order."""

    def __init__(self, client: Any, order_id: str | None, failures: int) -> None:
        self._client = client
        self.order_id = order_id
        self.failures = failures
        self.injected = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def publish(self, **kwargs: Any) -> Any:
        target = kwargs["MessageAttributes"]["orderId"]["StringValue"]
        if self.failures > 0 and self.order_id in (None, target):
            self.failures -= 1
            self.injected += 1
            raise self._client.exceptions.InternalErrorException(
                {"Error": {"Code": "InternalError", "Message": "injected"}}, "Publish"
            )
        return self._client.publish(**kwargs)


def test_one_message_per_committed_order_and_none_for_rejected(
    shop: Shop, delivery: Delivery
) -> None:
    placed = [shop.order(quantity=2).json_body, shop.order(userId="bob").json_body]
    assert shop.order(quantity=1).json_body["code"] == "PURCHASE_LIMIT_EXCEEDED"
    assert shop.order(userId="carol", quantity=2).json_body["code"] == "OUT_OF_STOCK"
    assert shop.order(userId="dave", quantity=0).status_code == 400

    delivery.poller.drain()
    messages = delivery.messages()

    assert sorted(m["Message"]["order"]["orderId"] for m in messages) == sorted(
        o["orderId"] for o in placed
    )
    by_id = {m["Message"]["order"]["orderId"]: m for m in messages}
    for order in placed:
        envelope = by_id[order["orderId"]]
        assert envelope["Subject"] == "Order Placed Successfully"
        assert envelope["Message"] == {"type": "OrderPlaced", "order": order}
        attributes = envelope["MessageAttributes"]
        assert attributes["productId"]["Value"] == "p1"
        assert attributes["userId"]["Value"] == order["userId"]


def test_email_text_is_readable() -> None:
    order = Order.from_item(
        {
            "orderId": {"S": "o-1"},
            "userId": {"S": "alice"},
            "productId": {"S": "p1"},
            "productName": {"S": "Headphones"},
            "quantity": {"N": "2"},
            "unitPrice": {"N": "79.99"},
            "totalAmount": {"N": "159.98"},
            "status": {"S": "CONFIRMED"},
            "createdAt": {"S": "2026-11-27T00:00:01.000Z"},
        }
    )
    text = notifications.message_text(order)
    for line in (
        "Order:        o-1",
        "Product:      Headphones (p1)",
        "Quantity:     2",
        "Unit price:   79.99",
        "Total:        159.98",
        "Placed at:    2026-11-27T00:00:01.000000Z",
    ):
        assert line in text.splitlines()
    structure = json.loads(notifications.message(order))
    assert structure["default"] == text
    assert json.loads(structure["sqs"])["order"]["totalAmount"] == 159.98


def test_redelivered_stream_records_send_nothing_twice(shop: Shop, delivery: Delivery) -> None:
    shop.order()
    shop.order(userId="bob")
    delivery.poller.drain()
    assert len(delivery.messages()) == 2

    # Lambda delivers the whole stream again (e.g. a retried batch).
    delivery.new_poller().drain()
    # ...and the same record twice within one batch.
    records = delivery.new_poller()._read()
    assert application.notify_orders({"Records": records + records}, None) == {
        "batchItemFailures": []
    }

    assert delivery.messages() == []


def test_failed_publish_is_retried_then_delivered_without_blocking_others(
    shop: Shop, delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = shop.order().json_body
    second = shop.order(userId="bob").json_body
    notifier = wiring.notifier()
    # More failures than the notifier's own attempts: the record must come back.
    flaky = FlakySNS(notifier._sns, first["orderId"], failures=notifications.PUBLISH_ATTEMPTS + 1)
    monkeypatch.setattr(notifier, "_sns", flaky)
    monkeypatch.setattr(notifier, "_sleep", lambda seconds: None)
    handled: list[list[str]] = []
    real = application.notify_orders

    def spy(event: dict[str, Any], context: Any) -> Any:
        handled.append([r["dynamodb"]["NewImage"]["orderId"]["S"] for r in event["Records"]])
        return real(event, context)

    delivery.poller._handler = spy
    delivery.poller.drain()

    assert flaky.injected == notifications.PUBLISH_ATTEMPTS + 1
    messages = delivery.messages()
    sent = [m["Message"]["order"]["orderId"] for m in messages]
    assert sorted(sent) == sorted([first["orderId"], second["orderId"]])
    # The second order went out on the first pass, while the first was failing.
    assert handled[0] == [first["orderId"], second["orderId"]]
    assert handled[1] == [first["orderId"], second["orderId"]]
    assert delivery.poller.abandoned == []


def test_a_batch_that_failed_whole_is_answered_not_raised(
    shop: Shop, delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One mode: the mapping reports item failures, so even a batch whose every
    # record failed is an answer listing them all (a raise would bisect needlessly).
    shop.order()
    shop.order(userId="bob")
    notifier = wiring.notifier()
    monkeypatch.setattr(notifier, "_sns", FlakySNS(notifier._sns, None, failures=10**6))
    monkeypatch.setattr(notifier, "_sleep", lambda seconds: None)
    records = delivery.poller._read()

    answer = application.notify_orders({"Records": records}, None)

    assert answer == {
        "batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in records]
    }


def test_a_persistently_failing_record_goes_to_the_dead_letter_queue(
    shop: Shop, delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed = shop.order().json_body
    # No counters: their mark would add a MODIFY record behind the failing one.
    monkeypatch.setattr(wiring, "sales_stats", lambda: NoCounters())
    notifier = wiring.notifier()
    flaky = FlakySNS(notifier._sns, None, failures=10**6)
    monkeypatch.setattr(notifier, "_sns", flaky)
    monkeypatch.setattr(notifier, "_sleep", lambda seconds: None)

    delivery.poller.drain()

    # The first delivery plus the mapping's bounded retries, then the pointer.
    assert delivery.poller.invocations == 1 + MAPPING["maximum_retry_attempts"]
    assert len(delivery.poller.abandoned) == 1
    (letter,) = delivery.dead_letters.receive()
    assert letter["requestContext"]["condition"] == "RetryAttemptsExhausted"
    info = letter["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == delivery.poller.abandoned[0]
    assert info["batchSize"] == 1
    assert delivery.messages() == []
    stored = shop.orders()[0]
    assert stored["orderId"] == placed["orderId"]
    assert "notifiedAt" not in stored  # still visibly unsent, for the replay

    # The stream moved on: a later order is not held up behind the dead letter.
    flaky.failures = 0
    shop.order(userId="bob")
    delivery.poller.drain()
    assert [m["Message"]["order"]["userId"] for m in delivery.messages()] == ["bob"]


def test_replay_sends_what_reached_the_dead_letter_queue_once(
    shop: Shop, delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN two orders whose confirmations SNS refused until the mapping gave up
    placed = [shop.order(userId=user).json_body["orderId"] for user in ("a", "b")]
    notifier = wiring.notifier()
    monkeypatch.setattr(notifier, "_sns", FlakySNS(notifier._sns, None, failures=10**6))
    monkeypatch.setattr(notifier, "_sleep", lambda seconds: None)
    delivery.poller.drain()
    assert delivery.dead_letters.receive() and delivery.messages() == []

    # WHEN SNS is back and the operator replays the queue (a dry run first)
    assert sorted(delivery.replay(dry_run=True).sent) == sorted(placed)
    assert delivery.messages() == []
    report = delivery.replay()

    # THEN each order is confirmed once, marked, and the queue is empty
    assert sorted(report.sent) == sorted(placed) and report.failed_messages == 0
    assert sorted(m["Message"]["order"]["orderId"] for m in delivery.messages()) == sorted(placed)
    assert all("notifiedAt" in order for order in shop.orders())
    assert delivery.dead_letters.receive() == []
    assert delivery.replay().messages == 0


def test_replaying_a_pointer_to_orders_already_confirmed_sends_nothing(
    shop: Shop, delivery: Delivery
) -> None:
    shop.order()
    delivery.poller.drain()
    assert len(delivery.messages()) == 1
    # A pointer to that batch (the mapping can give up on a batch whose sends
    # went through, e.g. after a timeout) is replayed: the mark makes it a no-op.
    records = delivery.new_poller()._read()
    delivery.dead_letters.send(
        delivery.poller._failure_record(records, "RetryAttemptsExhausted", 11)
    )

    report = delivery.replay()

    assert report.sent == [] and len(report.already_sent) == 1
    assert delivery.messages() == []
    assert delivery.dead_letters.receive() == []


class TrimmedStream:
    """A stream whose records for the pointer have passed the 24-hour retention."""

    def get_shard_iterator(self, **kwargs: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "TrimmedDataAccessException", "Message": "trimmed"}},
            "GetShardIterator",
        )


def test_replay_of_expired_stream_records_sends_the_unmarked_orders_up_to_the_batch(
    shop: Shop, delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = shop.order().json_body["orderId"]
    notifier = wiring.notifier()
    monkeypatch.setattr(notifier, "_sns", FlakySNS(notifier._sns, None, failures=10**6))
    monkeypatch.setattr(notifier, "_sleep", lambda seconds: None)
    delivery.poller.drain()
    (letter,) = delivery.dead_letters.receive()
    # An order placed after the dead batch is the live mapping's, never the replay's.
    letter_sent = letter["DDBStreamBatchInfo"]["approximateArrivalOfLastRecord"]
    later = dict(shop.orders()[0], orderId="later", createdAt="2999-01-01T00:00:00.000Z")
    shop.dynamodb.put_item(
        TableName=shop.config.orders_table,
        Item={k: {"N" if k in ("quantity", "unitPrice", "totalAmount") else "S": str(v)}
              for k, v in later.items()},
    )  # fmt: skip

    report = delivery.replay(streams=TrimmedStream())

    assert letter_sent < "2999"
    assert report.from_table == 1 and report.sent == [dead]
    assert [m["Message"]["order"]["orderId"] for m in delivery.messages()] == [dead]


def test_a_function_error_splits_the_batch_and_dead_letters_only_the_culprit(
    shop: Shop, delivery: Delivery
) -> None:
    shop.put_product(stock=10)
    placed = [shop.order(userId=f"u{n}").json_body["orderId"] for n in range(6)]
    poison = placed[3]
    calls: list[list[str]] = []

    def crashing_on_poison(event: dict[str, Any], context: Any) -> Any:
        ids = [r["dynamodb"]["NewImage"]["orderId"]["S"] for r in event["Records"]]
        calls.append(ids)
        if poison in ids:
            raise RuntimeError("the function fails on this record")
        return application.notify_orders(event, context)

    poller = delivery.new_poller()
    poller._handler = crashing_on_poison
    poller.drain()

    sent = sorted(m["Message"]["order"]["orderId"] for m in delivery.messages())
    assert sent == sorted(set(placed) - {poison})
    (letter,) = delivery.dead_letters.receive()
    assert letter["DDBStreamBatchInfo"]["batchSize"] == 1
    assert poller.abandoned == [letter["DDBStreamBatchInfo"]["startSequenceNumber"]]
    assert calls[0] == placed and [poison] in calls  # the whole batch first, then halves


def test_records_older_than_the_maximum_age_go_to_the_dead_letter_queue_unseen(
    shop: Shop, delivery: Delivery
) -> None:
    shop.order()
    created = delivery.new_poller()._read()[0]["dynamodb"]["ApproximateCreationDateTime"]
    late = created + MAPPING["maximum_record_age_in_seconds"] + 1
    poller = delivery.new_poller(clock=lambda: late)

    poller.drain()

    assert poller.invocations == 0 and delivery.messages() == []
    (letter,) = delivery.dead_letters.receive()
    assert letter["requestContext"]["condition"] == "RecordAgeExceeded"


def test_record_without_a_stored_order_sends_nothing_and_writes_nothing(
    shop: Shop, delivery: Delivery
) -> None:
    shop.order()
    records = delivery.poller._read()
    ghost = json.loads(json.dumps(records[0], default=str))
    ghost["dynamodb"]["ApproximateCreationDateTime"] = records[0]["dynamodb"][
        "ApproximateCreationDateTime"
    ]
    ghost["dynamodb"]["NewImage"]["orderId"] = {"S": "never-committed"}

    assert application.notify_orders({"Records": [ghost]}, None) == {"batchItemFailures": []}

    assert delivery.messages() == []
    stored = shop.orders()
    assert len(stored) == 1
    assert stored[0]["orderId"] != "never-committed"


class Crash(BaseException):
    """A process dying mid-batch: not an error any handler catches."""


def test_crash_mid_batch_loses_nothing_and_repeats_nothing(
    shop: Shop, delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN three committed orders and a notifier that dies before its second publish
    placed = [shop.order(userId=user).json_body["orderId"] for user in ("a", "b", "c")]
    notifier = wiring.notifier()
    real_publish = notifier._publish
    calls = 0

    def dying_publish(order: Order, *event: Any) -> str:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Crash()
        return real_publish(order, *event)

    monkeypatch.setattr(notifier, "_publish", dying_publish)
    with pytest.raises(Crash):
        delivery.poller.drain()
    assert len(delivery.messages()) == 1

    # WHEN a fresh worker takes the stream from the last checkpoint (the batch start)
    monkeypatch.setattr(notifier, "_publish", real_publish)
    delivery.new_poller().drain()

    # THEN every order has exactly one confirmation
    assert len(delivery.messages()) == 2
    assert all("notifiedAt" in order for order in shop.orders())
    assert sorted(o["orderId"] for o in shop.orders()) == sorted(placed)


class MarkFailingDynamoDB:
    """One stored, unconfirmed order whose `notifiedAt` mark fails `failures` times
    (throttling: the emulator at 70% showed two confirmations for one order)."""

    def __init__(self, item: dict[str, Any], failures: int) -> None:
        self.item = dict(item)
        self.failures = failures

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        return {"Item": dict(self.item)}

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        if self.failures > 0:
            self.failures -= 1
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "injected"}}, "UpdateItem"
            )
        self.item["notifiedAt"] = kwargs["ExpressionAttributeValues"][":now"]
        self.item["notificationId"] = kwargs["ExpressionAttributeValues"][":id"]
        return {}


class CountingSNS:
    def __init__(self) -> None:
        self.published: list[str] = []

    def publish(self, **kwargs: Any) -> dict[str, str]:
        self.published.append(kwargs["MessageAttributes"]["orderId"]["StringValue"])
        return {"MessageId": f"message-{len(self.published)}"}


ORDER_ITEM = {
    "orderId": {"S": "o-1"},
    "userId": {"S": "alice"},
    "productId": {"S": "p1"},
    "productName": {"S": "Headphones"},
    "quantity": {"N": "1"},
    "unitPrice": {"N": "79.99"},
    "totalAmount": {"N": "79.99"},
    "status": {"S": "CONFIRMED"},
    "createdAt": {"S": "2026-11-27T00:00:01.000Z"},
}
MARKS = notifications.MARK_ATTEMPTS


@pytest.mark.parametrize("failures", [1, MARKS - 1, MARKS, MARKS + 2, 3 * MARKS])
def test_a_failed_mark_never_publishes_the_confirmation_again(
    failures: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a committed order whose notifiedAt mark fails `failures` times
    dynamodb = MarkFailingDynamoDB(ORDER_ITEM, failures)
    sns = CountingSNS()
    notifier = OrderNotifier(dynamodb, sns, "orders", "topic", sleep=lambda seconds: None)
    monkeypatch.setattr(wiring, "notifier", lambda: notifier)
    # The console's counters are not what this test is about (they have their own).
    monkeypatch.setattr(wiring, "sales_stats", lambda: NoCounters())
    record = {
        "eventID": "1",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.1",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:111122223333:table/orders/stream/2026",
        "dynamodb": {
            "ApproximateCreationDateTime": 1795737601.0,
            "SizeBytes": 300,
            "Keys": {"orderId": ORDER_ITEM["orderId"]},
            "NewImage": ORDER_ITEM,
            "SequenceNumber": "100",
            "StreamViewType": "NEW_IMAGE",
        },
    }

    # WHEN the mapping delivers the record until the handler reports no failure
    answers = []
    for _ in range(10):
        answers.append(application.notify_orders({"Records": [record]}, None))
        if answers[-1] == {"batchItemFailures": []}:
            break

    # THEN it was published once, and marked with that one message's id
    assert sns.published == ["o-1"]
    assert dynamodb.item["notificationId"] == {"S": "message-1"}
    assert len(answers) == 1 + failures // MARKS
