"""Order events on SNS: one "Order Placed Successfully" message per order, one
"Order Cancelled" per cancellation, one "Payment Refunded" per late payment
given back (a hold that had ended when the money came).

Fed by the Orders table stream, off the request path, through an event source
mapping with ReportBatchItemFailures (infra/app). Each new order (an INSERT)
and each cancellation (a MODIFY to CANCELLED) is checked against the stored
order, published, then marked on the order (`notifiedAt`,
`cancellationNotifiedAt`) through chalicelib/delivery.py: a redelivered record
finds the mark and sends nothing, a crash before the publish leaves the order
unmarked for the retry, and the one window for a second message is the one
that module describes (published, never marked, retried in another container).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection
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

from chalicelib import delivery, order_mail, retry
from chalicelib.model import AWAITING_PAYMENT, CANCELLED, CONFIRMED, RELEASED, Order, number
from chalicelib.observability import logger
from chalicelib.order_mail import Kind

SUBJECT = Kind.PLACED.subject
CANCELLED_SUBJECT = Kind.CANCELLED.subject
PUBLISH_ATTEMPTS = 3
MARK_ATTEMPTS = delivery.MARK_ATTEMPTS


class Event(NamedTuple):
    """One kind of order event and the channel that records its publication."""

    kind: Kind
    channel: delivery.Channel

    @property
    def subject(self) -> str:
        return self.kind.subject

    @property
    def type(self) -> str:
        return self.kind.type

    @property
    def mark(self) -> str:
        return self.channel.mark


PLACED = Event(
    Kind.PLACED, delivery.Channel("confirmation", "notifier", "notifiedAt", "notificationId")
)
CANCELLATION = Event(
    Kind.CANCELLED,
    delivery.Channel(
        "cancellation notice", "notifier", "cancellationNotifiedAt", "cancellationNotificationId"
    ),
)
REFUND_NOTICE = Event(
    Kind.REFUNDED,
    delivery.Channel("refund notice", "notifier", "refundNotifiedAt", "refundNotificationId"),
)


def message_text(order: Order, event: Event = PLACED) -> str:
    """The text an email subscriber of the topic reads (the shopper's email's text)."""
    return order_mail.text(event.kind, order)


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


def paid_order_id(record: dict[str, Any]) -> str | None:
    """The order id of a hold just paid (AWAITING_PAYMENT -> CONFIRMED) not yet
    announced, or None."""
    if record.get("eventName") != "MODIFY":
        return None
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    if image.get("status", {}).get("S") != CONFIRMED or "paidAt" not in image:
        return None
    if PLACED.mark in image:
        return None  # its announcement's own mark
    order_id = image.get("orderId", {}).get("S")
    return order_id if isinstance(order_id, str) and order_id else None


def refunded_order_id(record: dict[str, Any]) -> str | None:
    """The order id of a released hold whose late payment was just refunded, not
    yet announced, or None."""
    if record.get("eventName") != "MODIFY":
        return None
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    if image.get("status", {}).get("S") != RELEASED or "refundedAt" not in image:
        return None
    if REFUND_NOTICE.mark in image:
        return None  # its announcement's own mark
    order_id = image.get("orderId", {}).get("S")
    return order_id if isinstance(order_id, str) and order_id else None


class OrderNotifier:
    """Publishes one confirmation per committed order, one notice per cancellation."""

    def __init__(
        self,
        dynamodb: Any,
        sns: Any,
        orders_table: str,
        topic_arn: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sns = sns
        self._topic_arn = topic_arn
        self._sleep = sleep
        # No lease: the stream gives each shard to one invocation at a time, so
        # two copies of one record are never at work at once.
        self._ledger = delivery.Ledger(dynamodb, orders_table, sleep=sleep)
        self._pipeline = delivery.Pipeline(self._ledger)
        # One processor per notifier: Lambda runs one batch at a time per container.
        self._processor = BatchProcessor(
            event_type=EventType.DynamoDBStreams,
            # A batch that failed whole is still a partial answer (every record
            # listed), so the mapping always retries from the first failure.
            raise_on_entire_batch_failure=False,
        )

    def handle_stream(
        self, event: dict[str, Any], context: Any = None, failed_elsewhere: Collection[str] = ()
    ) -> dict[str, Any]:
        """The Lambda answer for a stream batch: the records to deliver again,
        with `failed_elsewhere` (sequence numbers of records whose other work
        failed, such as a hold's check) among them."""
        response = process_partial_response(
            event=event, record_handler=self._record, processor=self._processor, context=context
        )
        failures = [dict(f) for f in response.get("batchItemFailures", [])]
        listed = {f["itemIdentifier"] for f in failures}
        failures += [{"itemIdentifier": s} for s in failed_elsewhere if s not in listed]
        logger.info(
            "order confirmations: %d records, %d failed", len(event["Records"]), len(failures)
        )
        return {**response, "batchItemFailures": failures}

    def _record(self, record: DynamoDBRecord) -> None:
        if record.event_name is DynamoDBRecordEventName.MODIFY:
            cancelled = cancelled_order_id(record.raw_event)
            if cancelled is not None:
                self.notify(cancelled, CANCELLATION)
            paid = paid_order_id(record.raw_event)
            if paid is not None:
                self.notify(paid)  # a paid hold is placed when it is paid
            refunded = refunded_order_id(record.raw_event)
            if refunded is not None:
                self.notify(refunded, REFUND_NOTICE)
            return  # otherwise one of our own marks
        if record.event_name is not DynamoDBRecordEventName.INSERT:
            return
        image = record.raw_event.get("dynamodb", {}).get("NewImage") or {}
        if image.get("status", {}).get("S") == AWAITING_PAYMENT:
            return  # a hold is announced when it is paid (and watched by its checkout)
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
        stored = self._ledger.read(order_id)
        if stored is None:
            return False
        order = Order.from_item(dict(stored))
        if event is CANCELLATION and order.status != CANCELLED:
            return False
        if event is PLACED and order.status in (AWAITING_PAYMENT, RELEASED):
            return False  # a hold is placed when it is paid; a released one never was
        if event is REFUND_NOTICE and (order.status != RELEASED or order.refunded_at is None):
            return False
        sent = self._pipeline.deliver(
            order_id, stored, event.channel, lambda: self._publish(order, event)
        )
        return sent is not None

    def _publish(self, order: Order, event: Event = PLACED) -> str:
        for attempt in range(PUBLISH_ATTEMPTS):
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
                if attempt == PUBLISH_ATTEMPTS - 1:
                    raise
                self._sleep(retry.DELIVERY.delay(attempt))
        raise AssertionError("unreachable")
