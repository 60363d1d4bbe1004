"""Order events on SNS: one "Order Placed Successfully" message per order and
one "Order Cancelled" per cancellation.

Fed by the Orders table stream, off the request path, through an event source
mapping with ReportBatchItemFailures (infra/app). Each new order (an INSERT)
and each cancellation (a MODIFY to CANCELLED) is checked against the stored
order, published, then marked on the order (`notifiedAt`,
`cancellationNotifiedAt`), so a redelivered record finds the mark and sends
nothing, and a crash before the publish leaves the order unmarked for the retry.
"""

from __future__ import annotations

import json
import random
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import instants
from chalicelib.model import CANCELLED, Order, number
from chalicelib.observability import logger

SUBJECT = "Order Placed Successfully"
CANCELLED_SUBJECT = "Order Cancelled"
PUBLISH_ATTEMPTS = 3
MARK_ATTEMPTS = 5
# Published-but-unmarked orders a container remembers; each entry stays only
# until its mark succeeds, so this bound is reached only in a long outage.
REMEMBERED_PUBLISHES = 10_000


class Event(NamedTuple):
    """One kind of order event: its subject, message type and mark on the order."""

    subject: str
    type: str
    mark: str
    message_id: str


PLACED = Event(SUBJECT, "OrderPlaced", "notifiedAt", "notificationId")
CANCELLATION = Event(
    CANCELLED_SUBJECT, "OrderCancelled", "cancellationNotifiedAt", "cancellationNotificationId"
)


def message_text(order: Order, event: Event = PLACED) -> str:
    """The text an email subscriber of the topic reads."""
    lead = (
        "Thank you for your order! It is confirmed."
        if event is PLACED
        else "Your order has been cancelled."
    )
    return "\n".join(
        [
            lead,
            "",
            f"Order:      {order.order_id}",
            f"Product:    {order.product_name} ({order.product_id})",
            f"Quantity:   {order.quantity}",
            f"Unit price: {order.unit_price}",
            f"Total:      {order.total_amount}",
            f"Placed at:  {instants.canonical(order.created_at)}",
        ]
    )


def message(order: Order, event: Event = PLACED) -> str:
    """SNS message structure: readable text by default, the order as JSON for queues."""
    data = json.dumps({"type": event.type, "order": order.to_json()}, default=number)
    return json.dumps({"default": message_text(order, event), "sqs": data, "lambda": data})


def new_order_id(record: dict[str, Any]) -> str | None:
    """The order id a stream record announces, or None for anything but a new order."""
    if record.get("eventName") != "INSERT":
        return None  # our own notifiedAt marks arrive as MODIFY
    order_id = ((record.get("dynamodb") or {}).get("NewImage") or {}).get("orderId", {}).get("S")
    return order_id if isinstance(order_id, str) and order_id else None


def cancelled_order_id(record: dict[str, Any]) -> str | None:
    """The order id of a cancellation not yet announced, or None."""
    if record.get("eventName") != "MODIFY":
        return None
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    if image.get("status", {}).get("S") != CANCELLED or CANCELLATION.mark in image:
        return None  # not a cancellation, or its announcement's own mark
    order_id = image.get("orderId", {}).get("S")
    return order_id if isinstance(order_id, str) and order_id else None


class OrderNotifier:
    """Publishes one confirmation per committed order."""

    def __init__(
        self,
        dynamodb: Any,
        sns: Any,
        orders_table: str,
        topic_arn: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._dynamodb = dynamodb
        self._sns = sns
        self._orders_table = orders_table
        self._topic_arn = topic_arn
        self._sleep = sleep
        # One processor per notifier: Lambda runs one batch at a time per container.
        self._processor = BatchProcessor(
            event_type=EventType.DynamoDBStreams,
            # A batch that failed whole is still a partial answer (every record
            # listed), so the mapping always retries from the first failure.
            raise_on_entire_batch_failure=False,
        )
        # (order id, mark) -> SNS message id of events whose mark has not been
        # written yet: a redelivered record then only marks, never republishes.
        self._published: OrderedDict[tuple[str, str], str] = OrderedDict()

    def handle_stream(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """The Lambda answer for a stream batch: the records to deliver again."""
        response = process_partial_response(
            event=event, record_handler=self._record, processor=self._processor, context=context
        )
        failed = len(response.get("batchItemFailures", []))
        logger.info("order confirmations: %d records, %d failed", len(event["Records"]), failed)
        return dict(response)

    def _record(self, record: DynamoDBRecord) -> None:
        if record.event_name is DynamoDBRecordEventName.MODIFY:
            cancelled = cancelled_order_id(record.raw_event)
            if cancelled is not None:
                self.notify(cancelled, CANCELLATION)
            return  # otherwise one of our own marks
        if record.event_name is not DynamoDBRecordEventName.INSERT:
            return
        order_id = new_order_id(record.raw_event)
        if order_id is None:
            # Retrying cannot turn it into an order: log it and let the batch go on.
            sequence = record.raw_event.get("dynamodb", {}).get("SequenceNumber")
            logger.error("stream record %s is not an order", sequence)
            return
        self.notify(order_id)

    def notify(self, order_id: str, event: Event = PLACED) -> bool:
        """Publish `order_id`'s event unless it was sent already; True if sent now."""
        # The stored order is the truth: it says whether this confirmation went out,
        # and a record without a stored order (never the case on AWS; moto's
        # rolled-back transactions can leave one in its stream) sends nothing.
        stored = self._dynamodb.get_item(
            TableName=self._orders_table,
            Key={"orderId": {"S": order_id}},
            ConsistentRead=True,
        ).get("Item")
        key = (order_id, event.mark)
        if stored is None or event.mark in stored:
            self._published.pop(key, None)
            return False
        order = Order.from_item(stored)
        if event is CANCELLATION and order.status != CANCELLED:
            return False
        message_id = self._published.get(key)
        if message_id is None:
            message_id = self._publish(order, event)
            self._remember(key, message_id)
        else:
            logger.info("order %s was published as %s; marking only", order_id, message_id)
        # A crash (or a new container) between the publish and this mark is the
        # one window in which a redelivered record sends a second message.
        self._mark(order_id, message_id, event)
        self._published.pop(key, None)
        return True

    def _remember(self, key: tuple[str, str], message_id: str) -> None:
        self._published[key] = message_id
        while len(self._published) > REMEMBERED_PUBLISHES:
            self._published.popitem(last=False)

    def _mark(self, order_id: str, message_id: str, event: Event = PLACED) -> None:
        # Retried on its own, apart from the publish: a failed mark must never
        # lead to a second publish. If it keeps failing, the record fails and its
        # redelivery finds the message id remembered above.
        for attempt in range(1, MARK_ATTEMPTS + 1):
            try:
                self._dynamodb.update_item(
                    TableName=self._orders_table,
                    Key={"orderId": {"S": order_id}},
                    UpdateExpression="SET #mark = :now, #id = :id",
                    ConditionExpression="attribute_exists(orderId)",
                    ExpressionAttributeNames={"#mark": event.mark, "#id": event.message_id},
                    ExpressionAttributeValues={":now": {"S": _now()}, ":id": {"S": message_id}},
                )
                return
            except (ClientError, BotoCoreError):
                if attempt == MARK_ATTEMPTS:
                    raise
                self._sleep(random.uniform(0, 0.05 * 2**attempt))

    def _publish(self, order: Order, event: Event = PLACED) -> str:
        for attempt in range(1, PUBLISH_ATTEMPTS + 1):
            try:
                response = self._sns.publish(
                    TopicArn=self._topic_arn,
                    Subject=event.subject,
                    Message=message(order, event),
                    MessageStructure="json",
                    MessageAttributes={
                        "productId": {"DataType": "String", "StringValue": order.product_id},
                        "userId": {"DataType": "String", "StringValue": order.user_id},
                        "orderId": {"DataType": "String", "StringValue": order.order_id},
                        "type": {"DataType": "String", "StringValue": event.type},
                    },
                )
                return str(response["MessageId"])
            except (ClientError, BotoCoreError):
                if attempt == PUBLISH_ATTEMPTS:
                    raise
                self._sleep(random.uniform(0, 0.1 * 2**attempt))
        raise AssertionError("unreachable")


def _now(moment: datetime | None = None) -> str:
    return instants.canonical(moment or datetime.now(UTC))
