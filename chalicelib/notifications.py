"""Order confirmations: one SNS "Order Placed Successfully" message per order.

Fed by the Orders table stream, off the request path. Each new order is
checked, published, then marked `notifiedAt` on its Orders item, so a
redelivered stream batch finds the mark and sends nothing, and a crash before
the publish leaves the order unmarked for the retry to send.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import instants
from chalicelib.catalog import number
from chalicelib.observability import logger
from chalicelib.orders import Order

SUBJECT = "Order Placed Successfully"
PUBLISH_ATTEMPTS = 3


class StreamRecord(Protocol):
    """What the handler reads of a DynamoDB stream record (Chalice's DynamoDBRecord)."""

    event_name: str
    new_image: Any
    sequence_number: str


class Outcome(NamedTuple):
    sent: list[str]
    skipped: list[str]
    failed: list[str]  # sequence numbers of records to deliver again


class NotificationsFailed(Exception):
    """Some orders of a batch could not be notified; the batch must be retried."""


def message_text(order: Order) -> str:
    """The email a shopper reads."""
    return "\n".join(
        [
            "Thank you for your order! It is confirmed.",
            "",
            f"Order:      {order.order_id}",
            f"Product:    {order.product_name} ({order.product_id})",
            f"Quantity:   {order.quantity}",
            f"Unit price: {order.unit_price}",
            f"Total:      {order.total_amount}",
            f"Placed at:  {instants.canonical(order.created_at)}",
        ]
    )


def message(order: Order) -> str:
    """SNS message structure: readable text by default, the order as JSON for queues."""
    data = json.dumps({"type": "OrderPlaced", "order": order.to_json()}, default=number)
    return json.dumps({"default": message_text(order), "sqs": data, "lambda": data})


class OrderNotifier:
    """Publishes one confirmation per committed order."""

    def __init__(
        self,
        dynamodb: Any,
        sns: Any,
        orders_table: str,
        topic_arn: str,
        report_item_failures: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._dynamodb = dynamodb
        self._sns = sns
        self._orders_table = orders_table
        self._topic_arn = topic_arn
        self._report_item_failures = report_item_failures
        self._sleep = sleep

    def handle_stream(self, records: Iterable[StreamRecord]) -> dict[str, Any]:
        """The Lambda answer for a stream batch: the failed records to deliver again.

        Chalice cannot switch an event source mapping to ReportBatchItemFailures;
        where it is not switched on, a returned list would be taken as success and
        the emails lost, so such stages raise instead and the whole batch is
        delivered again (the notifiedAt marks make that cheap and duplicate-free).
        """
        outcome = self.handle(records)
        logger.info(
            "order confirmations: %d sent, %d already sent, %d failed",
            len(outcome.sent),
            len(outcome.skipped),
            len(outcome.failed),
        )
        if outcome.failed and not self._report_item_failures:
            raise NotificationsFailed(f"{len(outcome.failed)} confirmation(s) not sent yet")
        return {"batchItemFailures": [{"itemIdentifier": seq} for seq in outcome.failed]}

    def handle(self, records: Iterable[StreamRecord]) -> Outcome:
        """Notify every new order in a stream batch; a failure never stops the others."""
        outcome = Outcome([], [], [])
        for record in records:
            if record.event_name != "INSERT" or not record.new_image:
                continue  # our own notifiedAt marks arrive as MODIFY
            try:
                order = Order.from_item(record.new_image)
            except (KeyError, ValueError, ArithmeticError):
                logger.error(
                    "stream record %s is not an order: %r", record.sequence_number, record.new_image
                )
                continue
            try:
                sent = self.notify(order)
            except (ClientError, BotoCoreError):
                outcome.failed.append(record.sequence_number)
                continue
            (outcome.sent if sent else outcome.skipped).append(order.order_id)
        return outcome

    def notify(self, order: Order) -> bool:
        """Publish `order`'s confirmation unless it was sent already; True if sent now."""
        # The stored order is the truth: it says whether this confirmation went out,
        # and a record without a stored order (never the case on AWS; moto's
        # rolled-back transactions can leave one in its stream) sends nothing.
        stored = self._dynamodb.get_item(
            TableName=self._orders_table,
            Key={"orderId": {"S": order.order_id}},
            ConsistentRead=True,
        ).get("Item")
        if stored is None or "notifiedAt" in stored:
            return False
        message_id = self._publish(Order.from_item(stored))
        # A crash between publish and this mark is the one window in which a
        # redelivered record sends a second email: at least once, never zero.
        self._dynamodb.update_item(
            TableName=self._orders_table,
            Key={"orderId": {"S": order.order_id}},
            UpdateExpression="SET notifiedAt = :now, notificationId = :id",
            ConditionExpression="attribute_exists(orderId)",
            ExpressionAttributeValues={":now": {"S": _now()}, ":id": {"S": message_id}},
        )
        return True

    def _publish(self, order: Order) -> str:
        for attempt in range(1, PUBLISH_ATTEMPTS + 1):
            try:
                response = self._sns.publish(
                    TopicArn=self._topic_arn,
                    Subject=SUBJECT,
                    Message=message(order),
                    MessageStructure="json",
                    MessageAttributes={
                        "productId": {"DataType": "String", "StringValue": order.product_id},
                        "userId": {"DataType": "String", "StringValue": order.user_id},
                        "orderId": {"DataType": "String", "StringValue": order.order_id},
                    },
                )
                return str(response["MessageId"])
            except (ClientError, BotoCoreError):
                if attempt == PUBLISH_ATTEMPTS:
                    raise
                self._sleep(random.uniform(0, 0.1 * 2**attempt))
        raise AssertionError("unreachable")


def _now(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
