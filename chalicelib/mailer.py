"""Shopper emails: one "Order Placed Successfully" (and one "Order Cancelled")
per order, to the shopper's own verified address, through Amazon SES.

Fed by an SQS queue subscribed to the orders topic (SNS stays the one
publisher). For each message the stored order is the truth: its `email` (the
verified address recorded when it was placed; an order without one gets no
mail), its status, and its marks. The mailer sends, then marks the order
(`emailedAt` / `cancellationEmailedAt`) on condition the mark is absent:

- SQS redelivers a message, or two copies of it arrive: the mark is there, so
  nothing is sent again;
- SES throttles: retried here with backoff, then the record is reported failed
  and SQS delivers it again later (bounded by the queue's redrive policy, then
  the dead-letter queue);
- the mark fails after SES accepted: the mark is retried, and the message id is
  kept in the container so a redelivery there only marks; one that reaches
  another container while the lease holds comes back later;
- two copies of a message in flight at once (SQS redelivers one whose
  visibility ran out, SNS delivered twice): before sending, a mailer takes a
  lease on the order's email (a conditional write); the other copy finds it
  and comes back later, to find the mark;
- SES refuses for our own reasons (access, configuration, a paused account):
  retried, then the DLQ; only a refusal of the message itself is recorded.

The one window in which a shopper can get a second copy (at least once, never
zero): SES took the email but the mark was never written, because the
container died, SES's answer never came back, or every attempt to mark failed,
and the message came back to another container after the lease ran out. A
mailer that dies before sending delays that email by the lease at most.

Addresses that hard-bounced or complained are suppressed (`Suppressions`, fed
by SES's configuration set through `record_feedback`) and never mailed again.
"""

from __future__ import annotations

import html
import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
)

from chalicelib import instants
from chalicelib.model import CANCELLED, Order, number
from chalicelib.observability import logger

PLACED_SUBJECT = "Order Placed Successfully"
CANCELLED_SUBJECT = "Order Cancelled"
SEND_ATTEMPTS = 3
MARK_ATTEMPTS = 5
# SES answers these when a send may succeed later.
SES_TRANSIENT = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException", "ServiceUnavailable",
     "InternalFailure", "LimitExceeded"}
)  # fmt: skip
# SES answers these when it refuses this message for good (the address or the
# content): recorded as "rejected", never retried. Any other refusal is about
# our side (access, configuration set, a paused account, the sender domain):
# the message comes back and, if that lasts, lands in the DLQ with its alarm.
SES_REFUSED = frozenset({"MessageRejected", "InvalidParameterValue"})


class Kind(NamedTuple):
    subject: str
    mark: str


PLACED = Kind(PLACED_SUBJECT, "emailedAt")
CANCELLATION = Kind(CANCELLED_SUBJECT, "cancellationEmailedAt")


class MailFailed(Exception):
    """This email could not be sent now; its message must be delivered again."""


class MailUnsure(MailFailed):
    """SES gave no answer after the request was sent: it may have taken the email.
    The lease stays until it runs out, so no other copy sends at once."""


class Pace:
    """At most `rate` sends a second from this container: with the queue's
    maximum concurrency, the account's SES sending rate is never exceeded."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = clock()
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until this container may send again."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            self._sleep(start - now)


def order_of(body: str) -> tuple[str, str] | None:
    """(message type, order id) from an SQS body: the SNS envelope, or the raw
    message when the subscription delivers raw."""
    try:
        message = json.loads(body)
        if message.get("Type") == "Notification":
            message = json.loads(message["Message"])
        return str(message["type"]), str(message["order"]["orderId"])
    except (ValueError, KeyError, TypeError):
        return None


def subject_and_parts(kind: Kind, order: Order) -> tuple[str, str, str]:
    """The email's subject, plain-text part and HTML part."""
    placed = kind is PLACED
    lead = (
        "Thank you for your order! It is confirmed."
        if placed
        else "Your order has been cancelled and the amount will not be charged."
    )
    rows = [
        ("Order", order.order_id),
        ("Product", f"{order.product_name} ({order.product_id})"),
        ("Quantity", str(order.quantity)),
        ("Unit price", str(number(order.unit_price))),
        ("Total", str(number(order.total_amount))),
        ("Placed at", instants.canonical(order.created_at)),
    ]
    if order.cancelled_at is not None:
        rows.append(("Cancelled at", instants.canonical(order.cancelled_at)))
    text = "\n".join([lead, "", *(f"{label + ':':<13} {value}" for label, value in rows)])
    cells = "".join(
        f"<tr><th scope='row' style='text-align:left;padding-right:1em'>{html.escape(label)}</th>"
        f"<td>{html.escape(value)}</td></tr>"
        for label, value in rows
    )
    page = (
        "<!doctype html><html><body style='font-family:sans-serif'>"
        f"<h1 style='font-size:1.2em'>{html.escape(kind.subject)}</h1>"
        f"<p>{html.escape(lead)}</p>"
        f"<table data-order-id='{html.escape(order.order_id)}'>{cells}</table></body></html>"
    )
    return kind.subject, text, page


class Suppressions:
    """Addresses never to mail again (hard bounces and complaints)."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def suppressed(self, address: str) -> bool:
        """Whether `address` bounced for good or complained."""
        item = self._client.get_item(
            TableName=self._table, Key={"email": {"S": address.lower()}}, ConsistentRead=True
        ).get("Item")
        return item is not None

    def suppress(self, address: str, reason: str, moment: datetime) -> None:
        """Never mail `address` again."""
        self._client.put_item(
            TableName=self._table,
            Item={
                "email": {"S": address.lower()},
                "reason": {"S": reason},
                "at": {"S": instants.canonical(moment)},
            },
        )


class Mailer:
    """Sends each order's emails exactly once (see the module docstring)."""

    def __init__(
        self,
        dynamodb: Any,
        ses: Any,
        orders_table: str,
        sender: str,
        configuration_set: str | None,
        suppressions: Suppressions,
        pace: Pace,
        sleep: Callable[[float], None] = time.sleep,
        lease_seconds: float = 120.0,
    ) -> None:
        self._dynamodb = dynamodb
        self._ses = ses
        self._orders_table = orders_table
        self._sender = sender
        self._configuration_set = configuration_set
        self._suppressions = suppressions
        self._pace = pace
        self._sleep = sleep
        self._lease = lease_seconds
        # Sent but not yet marked: (order id, mark) -> SES message id.
        self._unmarked: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def handle(self, body: str) -> str:
        """Mail what one SQS message asks for; what happened, for the log. Raises
        MailFailed when the message must come back later."""
        found = order_of(body)
        if found is None:
            logger.error("mail queue message is not an order event: %.200s", body)
            return "unreadable"
        event, order_id = found
        kind = {"OrderPlaced": PLACED, "OrderCancelled": CANCELLATION}.get(event)
        if kind is None:
            return "not mailed"
        item = self._read(order_id)
        if item is None:
            return "no such order"
        order = Order.from_item(dict(item))
        if kind is CANCELLATION and order.status != CANCELLED:
            return "not cancelled"
        if kind.mark in item:
            return "already sent"
        if order.email is None:
            return "no address"  # the identity is not a verified address
        with self._lock:
            sent = self._unmarked.get((order_id, kind.mark))
        if sent is None:
            if not self._claim(order_id, kind):
                return "already sent"
            # Checked under the lease, so the mark says what happened.
            if self._suppressions.suppressed(order.email):
                self._mark(order_id, kind, "suppressed")
                return "suppressed"
            try:
                sent = self._send(kind, order)
            except MailUnsure:
                raise
            except MailFailed:
                self._release(order_id, kind)  # SES did not take it: free to retry now
                raise
            if sent is None:
                self._mark(order_id, kind, "rejected")
                return "rejected"
            with self._lock:
                self._unmarked[(order_id, kind.mark)] = sent
        self._mark(order_id, kind, sent)
        with self._lock:
            self._unmarked.pop((order_id, kind.mark), None)
        return "sent"

    def _claim(self, order_id: str, kind: Kind) -> bool:
        """Take the lease on this email; False if it was sent meanwhile. Raises
        MailFailed while another mailer holds the lease (its copy is at work)."""
        now = instants.now()
        try:
            self._dynamodb.update_item(
                TableName=self._orders_table,
                Key={"orderId": {"S": order_id}},
                UpdateExpression="SET #lease = :until",
                ConditionExpression=(
                    "attribute_exists(orderId) AND attribute_not_exists(#mark)"
                    " AND (attribute_not_exists(#lease) OR #lease < :now)"
                ),
                ExpressionAttributeNames={"#mark": kind.mark, "#lease": f"{kind.mark}Lease"},
                ExpressionAttributeValues={
                    ":now": {"S": instants.canonical(now)},
                    ":until": {"S": instants.canonical(now + timedelta(seconds=self._lease))},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise MailFailed(f"order {order_id}'s email could not be claimed") from exc
            if kind.mark in (exc.response.get("Item") or {}):
                return False
            raise MailFailed(f"order {order_id}'s email is being sent by another mailer") from exc
        except BotoCoreError as exc:
            raise MailFailed(f"order {order_id}'s email could not be claimed") from exc

    def _release(self, order_id: str, kind: Kind) -> None:
        """Give the lease back (best effort: it runs out by itself anyway)."""
        try:
            self._dynamodb.update_item(
                TableName=self._orders_table,
                Key={"orderId": {"S": order_id}},
                UpdateExpression="REMOVE #lease",
                ConditionExpression="attribute_exists(orderId)",
                ExpressionAttributeNames={"#lease": f"{kind.mark}Lease"},
            )
        except (ClientError, BotoCoreError):
            logger.warning("lease on order %s's email not released; it runs out", order_id)

    def _read(self, order_id: str) -> Mapping[str, Any] | None:
        try:
            item: Mapping[str, Any] | None = self._dynamodb.get_item(
                TableName=self._orders_table, Key={"orderId": {"S": order_id}}, ConsistentRead=True
            ).get("Item")
            return item
        except (ClientError, BotoCoreError) as exc:
            raise MailFailed(f"order {order_id} could not be read") from exc

    def _send(self, kind: Kind, order: Order) -> str | None:
        """SES's message id, or None if SES refuses this address for good."""
        assert order.email is not None
        subject, text, page = subject_and_parts(kind, order)
        request: dict[str, Any] = {
            "Source": self._sender,
            "Destination": {"ToAddresses": [order.email]},
            "Message": {
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": text, "Charset": "UTF-8"},
                    "Html": {"Data": page, "Charset": "UTF-8"},
                },
            },
            "Tags": [{"Name": "orderId", "Value": order.order_id}],
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        # The only retry layer for sends (the SES client has botocore's retries
        # off): a send is repeated only when SES certainly did not take it.
        for attempt in range(1, SEND_ATTEMPTS + 1):
            self._pace.wait()
            try:
                return str(self._ses.send_email(**request)["MessageId"])
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code in SES_REFUSED:
                    logger.error("SES refused the email of order %s: %s", order.order_id, code)
                    return None
                if code not in SES_TRANSIENT:
                    raise MailFailed(
                        f"SES refused the email of order {order.order_id}: {code}"
                    ) from exc
                failure: Exception = exc
            except (ConnectTimeoutError, EndpointConnectionError) as exc:
                failure = exc  # never reached SES
            except BotoCoreError as exc:
                raise MailUnsure(f"SES did not answer for order {order.order_id}") from exc
            if attempt < SEND_ATTEMPTS:
                self._sleep(random.uniform(0, 0.2 * 2**attempt))
        raise MailFailed(f"SES did not take the email of order {order.order_id}") from failure

    def _mark(self, order_id: str, kind: Kind, outcome: str) -> None:
        for attempt in range(1, MARK_ATTEMPTS + 1):
            try:
                self._dynamodb.update_item(
                    TableName=self._orders_table,
                    Key={"orderId": {"S": order_id}},
                    UpdateExpression="SET #mark = :now, #outcome = :outcome",
                    ConditionExpression="attribute_exists(orderId) AND attribute_not_exists(#mark)",
                    ExpressionAttributeNames={"#mark": kind.mark, "#outcome": f"{kind.mark}Id"},
                    ExpressionAttributeValues={
                        ":now": {"S": instants.canonical(instants.now())},
                        ":outcome": {"S": outcome},
                    },
                )
                return
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    return  # marked already (a concurrent copy of this message)
                failure: Exception = exc
            except BotoCoreError as exc:
                failure = exc
            if attempt < MARK_ATTEMPTS:
                self._sleep(random.uniform(0, 0.1 * 2**attempt))
        # Sent (or decided) but not marked: the message comes back, and the id
        # kept above makes that redelivery mark without sending again.
        raise MailFailed(f"order {order_id} was mailed but not marked yet") from failure


def feedback_addresses(body: str) -> list[tuple[str, str]]:
    """(address, reason) to suppress from one SES event (configuration set event
    destination, delivered through SNS): permanent bounces and complaints."""
    try:
        message = json.loads(body)
        if message.get("Type") == "Notification":
            message = json.loads(message["Message"])
    except (ValueError, KeyError, TypeError):
        return []
    event = message.get("eventType") or message.get("notificationType")
    if event == "Bounce" and message.get("bounce", {}).get("bounceType") == "Permanent":
        recipients = message["bounce"].get("bouncedRecipients", [])
        return [(r["emailAddress"], "bounce") for r in recipients if "emailAddress" in r]
    if event == "Complaint":
        recipients = message.get("complaint", {}).get("complainedRecipients", [])
        return [(r["emailAddress"], "complaint") for r in recipients if "emailAddress" in r]
    return []


def record_feedback(suppressions: Suppressions, body: str, moment: datetime) -> int:
    """Suppress the addresses one SES event names; how many."""
    found = feedback_addresses(body)
    for address, reason in found:
        suppressions.suppress(address, reason, moment)
        logger.info("suppressed %s after a %s", address, reason)
    return len(found)
