"""Shopper emails: stream -> SNS -> SQS -> send_emails -> SES, on in-process moto.
Exactly one email per order to its shopper's address, whatever fails."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

import app as application
from chalicelib import instants, mailer, settings, wiring
from chalicelib.mailer import Mailer, MailFailed, Pace, Suppressions
from chalicelib.model import Order
from local import resources
from local.delivery import StreamPoller
from local.mail import QueuePoller
from tests.conftest import Shop

ROOT = Path(__file__).resolve().parents[2]


def outbox() -> list[dict[str, Any]]:
    """What moto's SES accepted: (to, subject, order id)."""
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    return [
        {
            "to": m.destinations["ToAddresses"],
            "subject": m.subject,
            "orderId": m.body.split("data-order-id='")[1].split("'")[0],
            "body": m.body,
        }
        for m in sent
    ]


class Pipeline:
    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        config = settings.load()
        sqs = boto3.client("sqs")
        resources.create_topic(boto3.client("sns"))
        self.queue = resources.create_mail(boto3.client("ses"), sqs, boto3.client("sns"), config)
        self.sqs = sqs
        self.stream = StreamPoller(
            shop.dynamodb,
            boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled")),
            config.orders_table,
            application.notify_orders,
            sleep=lambda seconds: None,
        )
        self.mail = QueuePoller(sqs, self.queue, application.send_emails)

    def deliver(self) -> None:
        self.stream.drain()
        self.mail.drain()

    def requeue_everything(self) -> None:
        """Wait out SQS's visibility timeout: undeleted messages come back."""
        time.sleep(resources.MAIL_VISIBILITY_SECONDS + 0.2)


@pytest.fixture
def pipeline(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    monkeypatch.setenv("SES_MAX_SEND_RATE", "1000")
    wiring.reset()
    shop.put_product(stock=20, maxPerUser=2)
    yield Pipeline(shop)


def test_each_shopper_gets_one_email_naming_their_order(shop: Shop, pipeline: Pipeline) -> None:
    placed = [shop.order(userId=f"shopper-{n}@example.com").json_body for n in range(5)]
    shop.order(userId="no-address")  # a dev identity that is not an address
    refused = shop.order(userId="greedy@example.com", quantity=3)
    assert refused.status_code == 409

    pipeline.deliver()

    mails = outbox()
    assert sorted((m["to"][0], m["orderId"]) for m in mails) == sorted(
        (o["userId"], o["orderId"]) for o in placed
    )
    assert {m["subject"] for m in mails} == {"Order Placed Successfully"}
    # Delivered again (SQS redelivery, a replayed stream): nothing more is sent.
    pipeline.requeue_everything()
    pipeline.stream = pipeline.stream.__class__(
        shop.dynamodb,
        boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled")),
        shop.config.orders_table,
        application.notify_orders,
        sleep=lambda seconds: None,
    )
    pipeline.deliver()
    assert len(outbox()) == 5
    marks = {o["orderId"]: o.get("emailedAt") for o in shop.orders()}
    assert all(marks[o["orderId"]] for o in placed)


def test_the_email_has_the_order_in_text_and_html(shop: Shop) -> None:
    shop.put_product(stock=5, name="Brass <diya> set")
    order_json = shop.order(userId="dana@example.com", quantity=2).json_body
    item = shop.dynamodb.get_item(
        TableName=shop.config.orders_table, Key={"orderId": {"S": order_json["orderId"]}}
    )["Item"]
    from chalicelib.model import Order

    subject, text, page = mailer.subject_and_parts(mailer.PLACED, Order.from_item(item))
    assert subject == "Order Placed Successfully"
    for part in (order_json["orderId"], "Quantity:     2", "Total:        39.98"):
        assert part in text
    assert "Brass &lt;diya&gt; set" in page and "<diya>" not in page
    assert f"data-order-id='{order_json['orderId']}'" in page


class FlakySES:
    """moto's SES, throttled for the first `throttles` sends."""

    def __init__(self, throttles: int) -> None:
        self._ses = boto3.client("ses")
        self.throttles = throttles
        self.calls = 0

    def send_email(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.throttles > 0:
            self.throttles -= 1
            raise ClientError(
                {"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded."}},
                "SendEmail",
            )
        return self._ses.send_email(**kwargs)


class FlakyMarks:
    """moto's DynamoDB whose first `failures` email marks fail."""

    def __init__(self, client: Any, failures: int) -> None:
        self._client = client
        self.failures = failures

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update_item(self, **kwargs: Any) -> Any:
        if self.failures > 0 and "#mark" in kwargs.get("UpdateExpression", ""):
            self.failures -= 1
            raise ClientError({"Error": {"Code": "ThrottlingException"}}, "UpdateItem")
        return self._client.update_item(**kwargs)


def mailer_with(shop: Shop, ses: Any = None, dynamodb: Any = None) -> Mailer:
    config = settings.load()
    return Mailer(
        dynamodb or shop.dynamodb,
        ses or boto3.client("ses"),
        config.orders_table,
        config.mail_sender,
        config.ses_configuration_set,
        Suppressions(shop.dynamodb, config.suppressions_table),
        Pace(0),
        sleep=lambda seconds: None,
    )


def message_for(order: dict[str, Any], kind: str = "OrderPlaced") -> str:
    return json.dumps({"type": kind, "order": order})


def test_ses_throttling_is_retried_then_given_back_never_doubled(
    shop: Shop, pipeline: Pipeline
) -> None:
    order = shop.order(userId="tess@example.com").json_body
    ses = FlakySES(throttles=mailer.SEND_ATTEMPTS + 1)
    mail = mailer_with(shop, ses=ses)
    with pytest.raises(MailFailed):
        mail.handle(message_for(order))  # throttled every attempt: comes back later
    assert outbox() == []
    assert mail.handle(message_for(order)) == "sent"
    assert mail.handle(message_for(order)) == "already sent"
    assert [m["to"] for m in outbox()] == [["tess@example.com"]]


def test_a_failed_mark_never_sends_a_second_email(shop: Shop, pipeline: Pipeline) -> None:
    order = shop.order(userId="mark@example.com").json_body
    flaky = FlakyMarks(shop.dynamodb, failures=mailer.MARK_ATTEMPTS)
    mail = mailer_with(shop, dynamodb=flaky)
    with pytest.raises(MailFailed):
        mail.handle(message_for(order))  # SES took it; the mark failed 5 times
    assert len(outbox()) == 1
    # The message comes back (SQS redelivery): the mark is made, nothing is sent.
    assert mail.handle(message_for(order)) == "sent"
    assert len(outbox()) == 1
    stored = {o["orderId"]: o for o in shop.orders()}[order["orderId"]]
    assert stored["emailedAt"]


def test_a_mailer_killed_mid_batch_sends_each_email_once(
    shop: Shop, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed = [shop.order(userId=f"k{n}@example.com").json_body for n in range(6)]
    pipeline.stream.drain()
    real = Mailer.handle
    handled = Counter[str]()

    def dies_after_three(self: Mailer, body: str) -> str:
        if sum(handled.values()) == 3:
            raise SystemExit("the container dies")  # not caught by the batch processor
        handled[body] += 1
        return real(self, body)

    monkeypatch.setattr(Mailer, "handle", dies_after_three)
    with pytest.raises(SystemExit):
        pipeline.mail.poll_once()
    assert len(outbox()) == 3
    monkeypatch.setattr(Mailer, "handle", real)
    pipeline.requeue_everything()  # nothing was deleted: the whole batch comes back
    pipeline.mail.drain()
    assert sorted(m["orderId"] for m in outbox()) == sorted(o["orderId"] for o in placed)


def ses_event(kind: str, address: str, bounce_type: str = "Permanent") -> str:
    detail: dict[str, Any] = {"eventType": kind, "mail": {"destination": [address]}}
    if kind == "Bounce":
        detail["bounce"] = {
            "bounceType": bounce_type,
            "bouncedRecipients": [{"emailAddress": address}],
        }
    else:
        detail["complaint"] = {"complainedRecipients": [{"emailAddress": address}]}
    return json.dumps({"Type": "Notification", "Message": json.dumps(detail)})


@pytest.mark.parametrize(
    ("event", "suppressed"),
    [(("Bounce", "gone@example.com"), True), (("Complaint", "gone@example.com"), True),
     (("Bounce", "gone@example.com", "Transient"), False)],
)  # fmt: skip
def test_bounced_and_complaining_addresses_are_never_mailed_again(
    shop: Shop, pipeline: Pipeline, event: tuple[str, ...], suppressed: bool
) -> None:
    shop.order(userId="gone@example.com")
    pipeline.deliver()
    assert len(outbox()) == 1
    answer = application.record_email_feedback(
        {"Records": [{"Sns": {"Message": ses_event(*event)}}]}, None
    )
    assert answer == {"suppressed": 1 if suppressed else 0}
    shop.order(userId="gone@example.com")
    pipeline.deliver()
    assert len(outbox()) == (1 if suppressed else 2)
    if suppressed:
        newest = max(shop.orders(), key=lambda o: o["createdAt"])
        assert newest["emailedAtId"] == "suppressed"


def test_sends_are_paced_to_the_configured_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pace = Pace(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(9):
        pace.wait()
    assert now[0] == pytest.approx(2.0)  # 9 sends at 4 a second: the last at t = 2 s
    assert instants.now()  # the clock module is importable from the mail path


def test_a_cancellation_is_announced_and_mailed_once(shop: Shop, pipeline: Pipeline) -> None:
    kept = shop.order(userId="keep@example.com").json_body
    gone = shop.order(userId="undo@example.com").json_body
    pipeline.deliver()
    shop.request("POST", f"/orders/{gone['orderId']}/cancel", {"userId": "undo@example.com"})
    shop.request("POST", f"/orders/{gone['orderId']}/cancel", {"userId": "undo@example.com"})
    pipeline.deliver()
    pipeline.deliver()

    mails = sorted((m["to"][0], m["subject"], m["orderId"]) for m in outbox())
    assert mails == sorted(
        [
            ("keep@example.com", "Order Placed Successfully", kept["orderId"]),
            ("undo@example.com", "Order Placed Successfully", gone["orderId"]),
            ("undo@example.com", "Order Cancelled", gone["orderId"]),
        ]
    )
    stored = {o["orderId"]: o for o in shop.orders()}[gone["orderId"]]
    assert stored["cancellationNotifiedAt"] and stored["cancellationEmailedAt"]


def test_two_copies_in_flight_at_once_send_one_email(shop: Shop, pipeline: Pipeline) -> None:
    # Regression (bench/mail.py): a message whose visibility ran out was taken by
    # a second mailer while the first was still sending it: both sent.
    order = shop.order(userId="twice@example.com").json_body
    first, second = mailer_with(shop), mailer_with(shop)
    assert first._claim(order["orderId"], mailer.PLACED)  # the first copy is at work
    with pytest.raises(MailFailed, match="another mailer"):
        second.handle(message_for(order))  # the second copy comes back later
    assert outbox() == []
    sent = first._send(mailer.PLACED, Order.from_item(stored_item(shop, order["orderId"])))
    assert sent is not None
    first._mark(order["orderId"], mailer.PLACED, sent)
    assert second.handle(message_for(order)) == "already sent"
    assert [m["to"] for m in outbox()] == [["twice@example.com"]]


def stored_item(shop: Shop, order_id: str) -> dict[str, Any]:
    item: dict[str, Any] = shop.dynamodb.get_item(
        TableName=shop.config.orders_table, Key={"orderId": {"S": order_id}}
    )["Item"]
    return item


def test_a_lease_outlasts_the_mailer_that_holds_it() -> None:
    # A lease shorter than the function's timeout could run out while its holder
    # is still sending, and a second copy would send again; one longer than the
    # queue's visibility would turn a dead holder's next delivery away too.
    terraform = (ROOT / "infra" / "core" / "mail.tf").read_text()
    found = re.search(r"visibility_timeout_seconds\s*=\s*local\.mailer_timeout \* (\d+)", terraform)
    assert found, "the mail queue's visibility is no longer a multiple of the timeout"
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    for name in ("dev", "prod"):
        stage = config["stages"][name]
        function = stage["lambda_functions"]["send_emails"]
        env = {
            **config.get("environment_variables", {}),
            **stage.get("environment_variables", {}),
            **function.get("environment_variables", {}),
        }
        lease = settings.load(env).mail_lease_seconds
        assert function["lambda_timeout"] < lease < function["lambda_timeout"] * int(found[1])


class RefusingSES:
    """An SES that answers every send with `error` (a ClientError code, or a
    botocore exception to raise)."""

    def __init__(self, error: str | Exception) -> None:
        self.error = error
        self.calls = 0

    def send_email(self, **kwargs: Any) -> Any:
        self.calls += 1
        if isinstance(self.error, Exception):
            raise self.error
        raise ClientError({"Error": {"Code": self.error, "Message": "no"}}, "SendEmail")


@pytest.mark.parametrize(
    "code", ["AccessDenied", "ConfigurationSetDoesNotExist", "AccountSendingPausedException"]
)
def test_a_refusal_about_our_side_comes_back_instead_of_dropping_the_email(
    shop: Shop, pipeline: Pipeline, code: str
) -> None:
    # Regression: every non-throttling refusal was recorded as "rejected" and the
    # message acknowledged, so a broken policy or configuration lost the email.
    order = shop.order(userId="ops@example.com").json_body
    with pytest.raises(MailFailed, match=code):
        mailer_with(shop, ses=RefusingSES(code)).handle(message_for(order))
    assert "emailedAt" not in stored_item(shop, order["orderId"])
    assert mailer_with(shop).handle(message_for(order)) == "sent"  # fixed: it goes out
    assert [m["to"] for m in outbox()] == [["ops@example.com"]]


def test_a_refusal_of_the_message_itself_is_recorded_once(shop: Shop, pipeline: Pipeline) -> None:
    order = shop.order(userId="refused@example.com").json_body
    ses = RefusingSES("MessageRejected")
    assert mailer_with(shop, ses=ses).handle(message_for(order)) == "rejected"
    assert ses.calls == 1
    assert stored_item(shop, order["orderId"])["emailedAtId"] == {"S": "rejected"}


def test_no_answer_from_ses_is_not_resent_at_once(shop: Shop, pipeline: Pipeline) -> None:
    # Regression: a read timeout was retried at once (and by botocore under that),
    # though SES may have taken the email; and the lease was released for any copy.
    order = shop.order(userId="unsure@example.com").json_body
    ses = RefusingSES(ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com"))
    with pytest.raises(MailFailed, match="did not answer"):
        mailer_with(shop, ses=ses).handle(message_for(order))
    assert ses.calls == 1
    with pytest.raises(MailFailed, match="another mailer"):
        mailer_with(shop).handle(message_for(order))  # the lease holds until it runs out
    assert outbox() == []


def test_a_connection_that_never_reached_ses_is_retried(shop: Shop, pipeline: Pipeline) -> None:
    order = shop.order(userId="reach@example.com").json_body
    ses = RefusingSES(EndpointConnectionError(endpoint_url="https://email.invalid"))
    with pytest.raises(MailFailed, match="did not take"):
        mailer_with(shop, ses=ses).handle(message_for(order))
    assert ses.calls == mailer.SEND_ATTEMPTS
    assert mailer_with(shop).handle(message_for(order)) == "sent"  # released: at once


def test_the_ses_client_leaves_retries_to_the_mailer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    wiring.reset()
    assert wiring.mailer()._ses.meta.config.retries["total_max_attempts"] == 1


def test_a_suppression_is_judged_under_the_lease(shop: Shop, pipeline: Pipeline) -> None:
    # Regression: a second copy checked suppression before the lease and marked
    # "suppressed" while the first copy was sending the email.
    order = shop.order(userId="late-bounce@example.com").json_body
    first, second = mailer_with(shop), mailer_with(shop)
    assert first._claim(order["orderId"], mailer.PLACED)
    config = settings.load()
    Suppressions(shop.dynamodb, config.suppressions_table).suppress(
        "late-bounce@example.com", "bounce", instants.now()
    )
    with pytest.raises(MailFailed, match="another mailer"):
        second.handle(message_for(order))
    assert "emailedAtId" not in stored_item(shop, order["orderId"])


def stream_records(shop: Shop, filters: list[dict[str, Any]] | None) -> tuple[int, int]:
    """(records on the Orders stream, records the mapping hands the notifier)."""
    poller = StreamPoller(
        shop.dynamodb,
        boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled")),
        shop.config.orders_table,
        lambda event, context: {"batchItemFailures": []},
        filters=filters,
        sleep=lambda seconds: None,
    )
    poller.drain()
    return poller.read, poller.delivered


def test_bookkeeping_writes_never_reach_the_notifier(shop: Shop, pipeline: Pipeline) -> None:
    # GIVEN orders placed and some cancelled, each counted, announced and mailed
    placed = [shop.order(userId=f"s{n}@example.com").json_body for n in range(6)]
    pipeline.deliver()
    for order in placed[:3]:
        shop.request("POST", f"/orders/{order['orderId']}/cancel", {"userId": order["userId"]})
    pipeline.deliver()
    pipeline.stream.drain()  # the mailer's marks are on the stream too
    assert len(outbox()) == 9
    # WHEN the stream is read with the mapping's filters, and without any
    total, unfiltered = stream_records(shop, filters=[])
    _, filtered = stream_records(shop, filters=None)
    # THEN every write is on the stream, but only the order and the cancellation
    # themselves reach the function: one record per order and per cancellation
    assert unfiltered == total
    assert filtered == len(placed) + 3
    # The marks and leases are still written, four after each order and after each
    # cancellation (the stats mark, the notifier's mark, the mailer's lease and mark).
    assert total == 5 * (len(placed) + 3)


@pytest.mark.parametrize(
    ("image", "delivered"),
    [
        ({"status": {"S": "CONFIRMED"}}, True),  # a new order
        ({"status": {"S": "CONFIRMED"}, "statsPlaced": {"BOOL": True}}, False),
        ({"status": {"S": "CONFIRMED"}, "notifiedAt": {"S": "t"}}, False),
        ({"status": {"S": "CANCELLED"}, "notifiedAt": {"S": "t"}}, True),  # a cancellation
        ({"status": {"S": "CANCELLED"}, "statsCancelled": {"BOOL": True}}, False),
        ({"status": {"S": "CANCELLED"}, "cancellationNotifiedAt": {"S": "t"}}, False),
        (None, False),  # a REMOVE has no new image
    ],
)
def test_the_stream_filters_pass_orders_and_cancellations_only(
    image: dict[str, Any] | None, delivered: bool
) -> None:
    from chalicelib import notifications
    from local.delivery import FILTERS, passes

    record: dict[str, Any] = {"eventName": "MODIFY", "dynamodb": {"Keys": {}}}
    if image is not None:
        record["dynamodb"]["NewImage"] = {"orderId": {"S": "o-1"}, **image}
    assert passes(FILTERS, record) is delivered
    # The filters name the marks the code writes.
    text = json.dumps(FILTERS)
    marks = (notifications.PLACED.mark, notifications.CANCELLATION.mark, "statsPlaced")
    assert all(f'"{mark}"' in text for mark in marks)


@pytest.mark.parametrize("reason", ["cancelled", "not_prepared", "expired"])
def test_the_refund_email_says_when_the_hold_was_released(reason: str) -> None:
    # Regression: it showed holdExpiresAt, minutes after a hold let go early.
    from decimal import Decimal

    from chalicelib.order_mail import Kind, text

    created = instants.parse("2026-12-07T10:00:00Z")
    released = created + (timedelta(minutes=10) if reason == "expired" else timedelta(minutes=2))
    order = Order(
        "o-1", "late@example.com", "p1", "Lamp", 1, Decimal(20), Decimal(20), "RELEASED",
        created, hold_expires_at=created + timedelta(minutes=10), released_at=released,
        release_reason=reason, refunded_at=released + timedelta(minutes=1),
    )  # fmt: skip
    lines = text(Kind.REFUNDED, order).splitlines()
    assert f"Hold ended:   {instants.canonical(released)}" in lines


@pytest.mark.parametrize(
    ("event", "image", "delivered"),
    [
        # A hold committed: its check goes on the holds queue.
        ("INSERT", {"status": {"S": "AWAITING_PAYMENT"}}, True),
        # Its PaymentIntent recorded, or a released hold: nothing to do.
        ("MODIFY", {"status": {"S": "AWAITING_PAYMENT"}, "paymentIntentId": {"S": "pi_1"}}, False),
        ("MODIFY", {"status": {"S": "RELEASED"}, "releasedAt": {"S": "t"}}, False),
        # A late payment refunded on a released hold: announced once.
        ("MODIFY", {"status": {"S": "RELEASED"}, "refundedAt": {"S": "t"}}, True),
        (
            "MODIFY",
            {"status": {"S": "RELEASED"}, "refundedAt": {"S": "t"}, "refundNotifiedAt": {"S": "t"}},
            False,
        ),
        # A spare intent's refund marks a hold still awaiting payment: nothing to announce.
        (
            "MODIFY",
            {"status": {"S": "AWAITING_PAYMENT"}, "spareRefundedAt_pi_2": {"S": "t"}},
            False,
        ),
    ],
)
def test_the_stream_filters_pass_new_holds_and_refunds_to_announce(
    event: str, image: dict[str, Any], delivered: bool
) -> None:
    from chalicelib import notifications
    from local.delivery import FILTERS, passes

    record: dict[str, Any] = {
        "eventName": event,
        "dynamodb": {"Keys": {}, "NewImage": {"orderId": {"S": "o-1"}, **image}},
    }
    assert passes(FILTERS, record) is delivered
    assert f'"{notifications.REFUND_NOTICE.mark}"' in json.dumps(FILTERS)
    # What passes a MODIFY is what the notifier acts on: a refund notice.
    if event == "MODIFY":
        assert (notifications.refunded_order_id(record) is not None) is delivered
