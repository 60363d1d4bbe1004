"""Shopper emails: one "Order Placed Successfully" (and one "Order Cancelled",
or one "Payment Refunded" for a payment that came after its hold had ended)
per order, to the shopper's own verified address, through Amazon SES.

Fed by an SQS queue subscribed to the orders topic (SNS stays the one
publisher). For each message the stored order is the truth: its `email` (the
verified address recorded when it was placed; an order without one gets no
mail), its status, and its marks. The mailer sends, then marks the order
(`emailedAt` / `cancellationEmailedAt` / `refundEmailedAt`) on condition the mark is absent:

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

Each email is sent once, with one window in which a shopper can get a second
copy (never none): SES took the email but the mark was never written, because
the container died, SES's answer never came back, or every attempt to mark
failed, and the message came back to another container after the lease ran
out. A mailer that dies before sending delays that email by the lease at most.
The pipeline (check, lease, send, remember, mark) is chalicelib/delivery.py's,
shared with the SNS notifier.

Addresses that hard-bounced or complained are suppressed (`Suppressions`, fed
by SES's configuration set through `record_feedback`) and never mailed again.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
)

from chalicelib import delivery, instants, order_mail, retry
from chalicelib.model import CANCELLED, RELEASED, Order
from chalicelib.observability import logger
from chalicelib.order_mail import Kind as Message

PLACED_SUBJECT = Message.PLACED.subject
CANCELLED_SUBJECT = Message.CANCELLED.subject
SEND_ATTEMPTS = 3
MARK_ATTEMPTS = delivery.MARK_ATTEMPTS
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
# Outcomes recorded instead of a message id when nothing was sent.
NOT_SENT = frozenset({"suppressed", "rejected"})


class Kind(NamedTuple):
    """One shopper email and the channel that records it on the order."""

    message: Message
    channel: delivery.Channel

    @property
    def subject(self) -> str:
        return self.message.subject

    @property
    def mark(self) -> str:
        return self.channel.mark


def _email(mark: str) -> delivery.Channel:
    return delivery.Channel("email", "mailer", mark, f"{mark}Id", lease=f"{mark}Lease")


PLACED = Kind(Message.PLACED, _email("emailedAt"))
CANCELLATION = Kind(Message.CANCELLED, _email("cancellationEmailedAt"))
REFUND = Kind(Message.REFUNDED, _email("refundEmailedAt"))

# This email was not sent (or not marked) now: its message must be delivered again.
MailFailed = delivery.Failed
# SES gave no answer after the request was sent: the lease stays until it runs out.
MailUnsure = delivery.Unsure


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
    return kind.subject, order_mail.text(kind.message, order), order_mail.page(kind.message, order)


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
    """Sends each order's emails once, but for the window chalicelib/delivery.py
    describes (see also the module docstring)."""

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
        self._ses = ses
        self._sender = sender
        self._configuration_set = configuration_set
        self._suppressions = suppressions
        self._pace = pace
        self._sleep = sleep
        self._ledger = delivery.Ledger(dynamodb, orders_table, lease_seconds, sleep=sleep)
        self._pipeline = delivery.Pipeline(self._ledger)

    def handle(self, body: str) -> str:
        """Mail what one SQS message asks for; what happened, for the log. Raises
        MailFailed when the message must come back later."""
        found = order_of(body)
        if found is None:
            logger.error("mail queue message is not an order event: %.200s", body)
            return "unreadable"
        event, order_id = found
        kind = {
            "OrderPlaced": PLACED,
            "OrderCancelled": CANCELLATION,
            "PaymentRefunded": REFUND,
        }.get(event)
        if kind is None:
            return "not mailed"
        item = self._ledger.read(order_id)
        if item is None:
            return "no such order"
        order = Order.from_item(dict(item))
        if kind is CANCELLATION and order.status != CANCELLED:
            return "not cancelled"
        if kind is REFUND and (order.status != RELEASED or order.refunded_at is None):
            return "not refunded"
        if kind.mark not in item and order.email is None:
            return "no address"  # the identity is not a verified address
        outcome = self._pipeline.deliver(
            order_id, item, kind.channel, lambda: self._mail(kind, order)
        )
        if outcome is None:
            return "already sent"
        return outcome if outcome in NOT_SENT else "sent"

    def _mail(self, kind: Kind, order: Order) -> str:
        """Under the lease: SES's message id, or why nothing was sent."""
        assert order.email is not None
        # Checked under the lease, so the mark says what happened.
        if self._suppressions.suppressed(order.email):
            return "suppressed"
        return self._send(kind, order) or "rejected"

    def _claim(self, order_id: str, kind: Kind) -> bool:
        """Take the lease on this email (see delivery.Ledger.claim)."""
        return self._ledger.claim(order_id, kind.channel)

    def _mark(self, order_id: str, kind: Kind, outcome: str) -> None:
        """Mark this email sent (or decided) with `outcome`."""
        self._ledger.mark(order_id, kind.channel, outcome)

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
        for attempt in range(SEND_ATTEMPTS):
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
            if attempt < SEND_ATTEMPTS - 1:
                self._sleep(retry.DELIVERY.delay(attempt))
        raise MailFailed(f"SES did not take the email of order {order.order_id}") from failure


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
