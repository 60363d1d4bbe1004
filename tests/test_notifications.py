"""Order confirmations: Orders stream -> notifier -> SNS, read back through SQS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

import app as application
from chalicelib import notifications, settings, wiring
from chalicelib.notifications import NotificationsFailed
from chalicelib.orders import Order
from local import resources
from local.delivery import Mailbox, StreamPoller
from tests.conftest import Shop


class Delivery:
    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        config = settings.load()
        resources.create_topic(boto3.client("sns"))
        self.mailbox = Mailbox(
            boto3.client("sns"), boto3.client("sqs"), config.order_topic_arn, "test-emails"
        )
        self.poller = self.new_poller()

    def new_poller(self) -> StreamPoller:
        return StreamPoller(
            self.shop.dynamodb,
            # botocore sends stream calls to account-based endpoints that moto's
            # in-process mock does not route yet; the classic endpoint it does.
            boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled")),
            self.shop.config.orders_table,
            application.notify_orders,
            sleep=lambda seconds: None,
        )

    def messages(self) -> list[dict[str, Any]]:
        received: list[dict[str, Any]] = []
        while batch := self.mailbox.receive():
            received += batch
        return received


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
        "Order:      o-1",
        "Product:    Headphones (p1)",
        "Quantity:   2",
        "Unit price: 79.99",
        "Total:      159.98",
        "Placed at:  2026-11-27T00:00:01.000000Z",
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


def test_stage_without_item_failure_reports_raises_and_still_sends_once(
    shop: Shop, delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.order()
    shop.order(userId="bob")
    notifier = wiring.notifier()
    monkeypatch.setattr(notifier, "_report_item_failures", False)
    monkeypatch.setattr(notifier, "_sns", FlakySNS(notifier._sns, None, failures=3))
    monkeypatch.setattr(notifier, "_sleep", lambda seconds: None)

    with pytest.raises(NotificationsFailed):
        application.notify_orders({"Records": delivery.poller._read()}, None)
    delivery.poller.drain()

    assert len(delivery.messages()) == 2


def test_a_persistently_failing_record_is_abandoned_after_max_attempts(
    shop: Shop, delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed = shop.order().json_body
    notifier = wiring.notifier()
    monkeypatch.setattr(notifier, "_sns", FlakySNS(notifier._sns, None, failures=10**6))
    monkeypatch.setattr(notifier, "_sleep", lambda seconds: None)

    delivery.poller.drain()

    assert len(delivery.poller.abandoned) == 1
    assert delivery.messages() == []
    stored = shop.orders()[0]
    assert stored["orderId"] == placed["orderId"]
    assert "notifiedAt" not in stored  # still visibly unsent, for replay from a DLQ


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

    def dying_publish(order: Order) -> str:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Crash()
        return real_publish(order)

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
