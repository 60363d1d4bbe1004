"""Order confirmations: one SNS "Order Placed Successfully" message per order.

Fed by the Orders table stream, off the request path, through an event source
mapping with ReportBatchItemFailures (infra/app). Each new order is checked,
published, then marked `notifiedAt` on its Orders item, so a redelivered record
finds the mark and sends nothing, and a crash before the publish leaves the
order unmarked for the retry to send.
"""

from __future__ import annotations

import json
import random
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

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
from chalicelib.catalog import number
from chalicelib.observability import logger
from chalicelib.orders import Order

SUBJECT = "Order Placed Successfully"
PUBLISH_ATTEMPTS = 3
MARK_ATTEMPTS = 5
# Published-but-unmarked orders a container remembers; each entry stays only
# until its mark succeeds, so this bound is reached only in a long outage.
REMEMBERED_PUBLISHES = 10_000


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


def new_order_id(record: dict[str, Any]) -> str | None:
    """The order id a stream record announces, or None for anything but a new order."""
    if record.get("eventName") != "INSERT":
        return None  # our own notifiedAt marks arrive as MODIFY
    order_id = ((record.get("dynamodb") or {}).get("NewImage") or {}).get("orderId", {}).get("S")
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
        # order id -> SNS message id of confirmations whose mark has not been
        # written yet: a redelivered record then only marks, never republishes.
        self._published: OrderedDict[str, str] = OrderedDict()

    def handle_stream(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """The Lambda answer for a stream batch: the records to deliver again."""
        response = process_partial_response(
            event=event, record_handler=self._record, processor=self._processor, context=context
        )
        failed = len(response.get("batchItemFailures", []))
        logger.info("order confirmations: %d records, %d failed", len(event["Records"]), failed)
        return dict(response)

    def _record(self, record: DynamoDBRecord) -> None:
        if record.event_name is not DynamoDBRecordEventName.INSERT:
            return
        order_id = new_order_id(record.raw_event)
        if order_id is None:
            # Retrying cannot turn it into an order: log it and let the batch go on.
            sequence = record.raw_event.get("dynamodb", {}).get("SequenceNumber")
            logger.error("stream record %s is not an order", sequence)
            return
        self.notify(order_id)

    def notify(self, order_id: str) -> bool:
        """Publish `order_id`'s confirmation unless it was sent already; True if sent now."""
        # The stored order is the truth: it says whether this confirmation went out,
        # and a record without a stored order (never the case on AWS; moto's
        # rolled-back transactions can leave one in its stream) sends nothing.
        stored = self._dynamodb.get_item(
            TableName=self._orders_table,
            Key={"orderId": {"S": order_id}},
            ConsistentRead=True,
        ).get("Item")
        if stored is None or "notifiedAt" in stored:
            self._published.pop(order_id, None)
            return False
        message_id = self._published.get(order_id)
        if message_id is None:
            message_id = self._publish(Order.from_item(stored))
            self._remember(order_id, message_id)
        else:
            logger.info("order %s was published as %s; marking only", order_id, message_id)
        # A crash (or a new container) between the publish and this mark is the
        # one window in which a redelivered record sends a second email.
        self._mark(order_id, message_id)
        self._published.pop(order_id, None)
        return True

    def _remember(self, order_id: str, message_id: str) -> None:
        self._published[order_id] = message_id
        while len(self._published) > REMEMBERED_PUBLISHES:
            self._published.popitem(last=False)

    def _mark(self, order_id: str, message_id: str) -> None:
        # Retried on its own, apart from the publish: a failed mark must never
        # lead to a second publish. If it keeps failing, the record fails and its
        # redelivery finds the message id remembered above.
        for attempt in range(1, MARK_ATTEMPTS + 1):
            try:
                self._dynamodb.update_item(
                    TableName=self._orders_table,
                    Key={"orderId": {"S": order_id}},
                    UpdateExpression="SET notifiedAt = :now, notificationId = :id",
                    ConditionExpression="attribute_exists(orderId)",
                    ExpressionAttributeValues={":now": {"S": _now()}, ":id": {"S": message_id}},
                )
                return
            except (ClientError, BotoCoreError):
                if attempt == MARK_ATTEMPTS:
                    raise
                self._sleep(random.uniform(0, 0.05 * 2**attempt))

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
