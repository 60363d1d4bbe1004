"""Pay checkout (docs/payments.md) through the routes, on in-process moto and a
real localstripe: holds, the signed webhook, release, refunds."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from subprocess import DEVNULL
from typing import Any

import boto3
import pytest
import stripe
from botocore.config import Config

from chalicelib import instants, wiring
from chalicelib.payments import holds
from chalicelib.payments.stripe_gateway import Gateway, Unavailable
from local import resources
from local import stripe as local_stripe
from local.delivery import StreamPoller
from local.launch import free_port
from local.stack import start_stripe
from tests.conftest import Shop

PAY = {"checkout": "pay", "holdMinutes": 10, "maxPerUser": 3}
GOOD, DECLINED = "4242424242424242", "4000000000000341"
DELAY_UNTIL = holds.delay_until


@pytest.fixture(scope="module")
def stripe_base() -> Iterator[str]:
    child, base = start_stripe(
        "127.0.0.1", free_port(), None, dict(os.environ), stdout=DEVNULL, stderr=DEVNULL
    )
    yield base
    child.terminate()
    child.wait(timeout=10)


class Payments:
    """The shop plus Stripe: cards as Stripe.js makes them, events as Stripe signs them."""

    def __init__(self, shop: Shop, base: str, sqs: Any) -> None:
        self.shop = shop
        self.base = base
        self.sqs = sqs
        self.stripe = stripe.StripeClient(local_stripe.SECRET_KEY, base_addresses={"api": base})
        self.queue = resources.create_holds(sqs)

    def card(self, number: str) -> str:
        """What Stripe.js's createToken gives the browser for a card: its card id."""
        return local_stripe.card_token(self.base, number)

    def event(self, kind: str, intent_id: str, secret: str = local_stripe.WEBHOOK_SECRET) -> Any:
        """POST Stripe's event about `intent_id` to the webhook, signed as Stripe signs."""
        intent = self.stripe.v1.payment_intents.retrieve(intent_id).to_dict()
        payload = json.dumps(
            {"id": f"evt_{time.time_ns()}", "type": kind, "data": {"object": intent}}
        )
        stamp = int(time.time())
        signature = hmac.new(
            secret.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256
        ).hexdigest()
        return self.shop.request(
            "POST",
            "/payments/stripe/webhook",
            raw=payload.encode(),
            headers={"Stripe-Signature": f"t={stamp},v1={signature}"},
        )

    def pay(self, order_id: str, number: str = GOOD, intent: str | None = None) -> Any:
        body = {"paymentMethod": self.card(number)}
        if intent is not None:
            body["paymentIntentId"] = intent
        return self.shop.request("POST", f"/orders/{order_id}/pay", body)

    def messages(self) -> list[dict[str, Any]]:
        """The release messages waiting (delays ignored: moto shows them when due)."""
        found = self.sqs.receive_message(
            QueueUrl=self.queue, MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
        return [json.loads(m["Body"]) for m in found]

    def intent(self, intent_id: str) -> Any:
        return self.stripe.v1.payment_intents.retrieve(intent_id)

    def refunds(self, intent_id: str) -> list[Any]:
        every = self.stripe.v1.refunds.list().data
        return [
            r for r in every if r.payment_intent == intent_id or r.charge == self._charge(intent_id)
        ]

    def _charge(self, intent_id: str) -> str | None:
        charge = self.intent(intent_id).latest_charge
        return None if charge is None else str(getattr(charge, "id", charge))


@pytest.fixture
def payments(shop: Shop, stripe_base: str, monkeypatch: pytest.MonkeyPatch) -> Payments:
    import boto3

    sqs = boto3.client("sqs")
    helper = Payments(shop, stripe_base, sqs)
    gateway = Gateway(local_stripe.SECRET_KEY, local_stripe.WEBHOOK_SECRET, stripe_base)
    monkeypatch.setitem(wiring._services, "gateway", gateway)
    # Release messages visible at once, so a test reads what a hold sent (when
    # they are due is delay_until's, tested on its own in tests/unit).
    monkeypatch.setattr(holds, "delay_until", lambda due, now: 0)
    return helper


def test_an_instant_product_is_confirmed_at_once_and_never_meets_stripe(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_stripe() -> Any:
        raise AssertionError("an instant order reached Stripe")

    monkeypatch.setattr(wiring, "gateway", no_stripe)
    product = shop.put_product()
    assert "checkout" not in product  # instant products' JSON is unchanged
    placed = shop.order()
    assert placed.status_code == 201
    assert placed.json_body["status"] == "CONFIRMED"
    assert "holdExpiresAt" not in placed.json_body and "payment" not in placed.json_body


def test_a_pay_product_holds_the_units_and_answers_what_the_client_needs(
    payments: Payments,
) -> None:
    shop = payments.shop
    shop.put_product(price=19.99, stock=10, **PAY)
    placed = shop.order(key="k1", quantity=2)
    assert placed.status_code == 201, placed.json_body
    order = placed.json_body
    assert order["status"] == "AWAITING_PAYMENT"
    created = instants.parse(order["createdAt"])
    assert instants.parse(order["holdExpiresAt"]) == created + timedelta(minutes=10)
    assert (order["currency"], order["amountMinor"]) == ("usd", 3998)
    intent = payments.intent(order["payment"]["paymentIntentId"])
    assert (intent.amount, intent.currency, intent.metadata["orderId"]) == (
        3998,
        "usd",
        order["orderId"],
    )
    assert order["payment"]["clientSecret"] == intent.client_secret
    # The hold takes stock and counts against the limit exactly like an order.
    assert shop.stock() == 8 and shop.purchased("alice") == 2
    assert shop.order(quantity=2).json_body["code"] == "PURCHASE_LIMIT_EXCEEDED"
    # A replay is the same hold, with the same PaymentIntent.
    replay = shop.order(key="k1", quantity=2)
    assert replay.json_body == order
    assert replay.headers.get("Idempotent-Replayed") == "true"
    # One release message, due at the hold's end.
    (message,) = payments.messages()
    assert message["orderId"] == order["orderId"]
    assert message["paymentIntentId"] == intent.id


def test_paying_confirms_only_on_the_signed_webhook_exactly_once(payments: Payments) -> None:
    shop = payments.shop
    shop.put_product(**PAY)
    order = shop.order().json_body
    intent_id = order["payment"]["paymentIntentId"]
    paid = payments.pay(order["orderId"])
    assert paid.status_code == 200, paid.json_body
    assert paid.json_body["status"] == "AWAITING_PAYMENT"  # until Stripe says so
    assert payments.intent(intent_id).status == "succeeded"
    # A forged event changes nothing.
    forged = payments.event("payment_intent.succeeded", intent_id, secret="whsec_other")
    assert (forged.status_code, forged.json_body["code"]) == (400, "INVALID_SIGNATURE")
    unsigned = shop.request("POST", "/payments/stripe/webhook", {"type": "x"})
    assert (unsigned.status_code, unsigned.json_body["code"]) == (400, "INVALID_SIGNATURE")
    assert shop.request("GET", f"/orders/{order['orderId']}").json_body["status"] == (
        "AWAITING_PAYMENT"
    )
    # The same event four times at once, then once more: one confirmation.
    answers: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: answers.append(
                payments.event("payment_intent.succeeded", intent_id).status_code
            )
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * 4
    assert payments.event("payment_intent.succeeded", intent_id).status_code == 200
    stored = shop.request("GET", f"/orders/{order['orderId']}").json_body
    assert stored["status"] == "CONFIRMED" and "paidAt" in stored
    assert "clientSecret" not in stored.get("payment", {})
    assert "refund" not in stored and payments.refunds(intent_id) == []
    assert shop.stock() == 9


def test_a_declined_card_keeps_the_hold_and_another_card_pays(payments: Payments) -> None:
    shop = payments.shop
    shop.put_product(**PAY)
    order = shop.order().json_body
    declined = payments.pay(order["orderId"], DECLINED)
    assert (declined.status_code, declined.json_body["code"]) == (402, "PAYMENT_FAILED")
    assert "declined" in declined.json_body["message"]
    failed = payments.event("payment_intent.payment_failed", order["payment"]["paymentIntentId"])
    assert failed.status_code == 200
    assert shop.request("GET", f"/orders/{order['orderId']}").json_body["status"] == (
        "AWAITING_PAYMENT"
    )
    assert shop.stock() == 9
    retried = payments.pay(order["orderId"])
    assert retried.status_code == 200, retried.json_body
    intent_id = retried.json_body["payment"]["paymentIntentId"]
    assert payments.event("payment_intent.succeeded", intent_id).status_code == 200
    assert shop.request("GET", f"/orders/{order['orderId']}").json_body["status"] == "CONFIRMED"


def _release_now(payments: Payments, order: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> str:
    """Deliver the hold's release message at its time (the clock moved past it)."""
    later = instants.parse(order["holdExpiresAt"]) + timedelta(milliseconds=1)
    monkeypatch.setattr(instants, "now", lambda: later)
    checkout = wiring.checkout()
    monkeypatch.setattr(checkout, "_now", lambda: later)
    (message,) = payments.sqs.receive_message(QueueUrl=payments.queue).get("Messages", [])
    return checkout.release_message(message["Body"])


def test_an_unpaid_hold_is_released_at_its_time(
    payments: Payments, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = payments.shop
    shop.put_product(stock=5, **PAY)
    order = shop.order(quantity=2).json_body
    assert (shop.stock(), shop.purchased("alice")) == (3, 2)
    assert _release_now(payments, order, monkeypatch) == "released"
    stored = shop.request("GET", f"/orders/{order['orderId']}").json_body
    assert stored["status"] == "RELEASED" and stored["releaseReason"] == "expired"
    assert stored["releasedAt"] == instants.canonical(
        instants.parse(order["holdExpiresAt"]) + timedelta(milliseconds=1)
    )
    assert (shop.stock(), shop.purchased("alice")) == (5, 0)
    assert payments.intent(order["payment"]["paymentIntentId"]).status == "canceled"
    # Paying now is refused in the shopper's words.
    late = payments.pay(order["orderId"])
    assert (late.status_code, late.json_body["code"]) == (409, "HOLD_EXPIRED")
    assert "went back on sale" in late.json_body["message"]


def test_a_paid_hold_is_not_released_and_its_release_reads_nothing(
    payments: Payments, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = payments.shop
    shop.put_product(**PAY)
    order = shop.order().json_body
    payments.pay(order["orderId"])
    payments.event("payment_intent.succeeded", order["payment"]["paymentIntentId"])
    calls: list[str] = []
    client = wiring.checkout()._client
    client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )
    assert _release_now(payments, order, monkeypatch) == "not held"
    assert calls == []  # Stripe said the money came: no DynamoDB request at all
    assert shop.request("GET", f"/orders/{order['orderId']}").json_body["status"] == "CONFIRMED"
    assert shop.stock() == 9


def _paid_as_it_ends(
    payments: Payments, order: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> str:
    """The shopper's card goes through at Stripe just as the hold ends (the
    release's cancel of the intent is lost: Stripe unreachable for it); the
    hold's PaymentIntent."""
    intent_id = str(order["payment"]["paymentIntentId"])
    gateway = wiring.gateway()
    monkeypatch.setattr(gateway, "cancel", lambda _intent: "requires_payment_method")
    assert _release_now(payments, order, monkeypatch) == "released"
    monkeypatch.delattr(gateway, "cancel")
    payments.stripe.v1.payment_intents.update(
        intent_id, params={"payment_method": payments.card(GOOD)}
    )
    payments.stripe.v1.payment_intents.confirm(intent_id)
    return intent_id


def test_a_payment_after_the_release_is_refunded_once(
    payments: Payments, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = payments.shop
    shop.put_product(**PAY)
    order = shop.order().json_body
    intent_id = _paid_as_it_ends(payments, order, monkeypatch)
    gateway = wiring.gateway()

    # Stripe unreachable for the refund: the webhook answers 503, Stripe retries.
    def down(*_: Any) -> str:
        raise Unavailable("Stripe is down")

    monkeypatch.setattr(gateway, "refund", down)
    failed = payments.event("payment_intent.succeeded", intent_id)
    assert (failed.status_code, failed.json_body["code"]) == (503, "PAYMENT_UNAVAILABLE")
    monkeypatch.delattr(gateway, "refund")
    for _ in range(3):
        again = payments.event("payment_intent.succeeded", intent_id)
        assert again.status_code == 200, again.json_body
    stored = shop.request("GET", f"/orders/{order['orderId']}").json_body
    assert stored["status"] == "RELEASED"
    assert stored["refund"]["reason"] == "late_payment"
    assert len(payments.refunds(intent_id)) == 1
    assert shop.stock() == 10


def test_a_shopper_whose_late_payment_was_refunded_is_emailed_once(
    payments: Payments, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    import app as application
    from chalicelib import settings
    from local.mail import QueuePoller

    shop = payments.shop
    shop.put_product(**PAY)
    order = shop.order(userId="late@example.com").json_body
    # GIVEN a hold released while the shopper's payment was on its way
    intent_id = _paid_as_it_ends(payments, order, monkeypatch)
    # WHEN Stripe's event comes twice, and the stream and mail queue run
    for _ in range(2):
        assert payments.event("payment_intent.succeeded", intent_id).status_code == 200
    sqs = payments.sqs
    resources.create_topic(boto3.client("sns"))
    queue = resources.create_mail(boto3.client("ses"), sqs, boto3.client("sns"), settings.load())
    streams = boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
    for _ in range(2):  # a redelivered stream sends nothing more
        StreamPoller(
            shop.dynamodb, streams, shop.config.orders_table, application.notify_orders
        ).drain()
        QueuePoller(sqs, queue, application.send_emails).drain()
    # THEN one email tells them, and no confirmation ever went out
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    mails = [(m.destinations["ToAddresses"], m.subject) for m in sent]
    assert mails == [(["late@example.com"], "Payment Refunded")], mails
    assert "refunded in full" in sent[0].body and order["orderId"] in sent[0].body


def test_cancelling_a_paid_order_refunds_and_restocks(payments: Payments) -> None:
    shop = payments.shop
    shop.put_product(**PAY)
    order = shop.order().json_body
    intent_id = order["payment"]["paymentIntentId"]
    payments.pay(order["orderId"])
    payments.event("payment_intent.succeeded", intent_id)
    for _ in range(2):
        cancelled = shop.request("POST", f"/orders/{order['orderId']}/cancel", {})
        assert cancelled.status_code == 200, cancelled.json_body
    body = shop.request("GET", f"/orders/{order['orderId']}").json_body
    assert body["status"] == "CANCELLED" and body["refund"]["reason"] == "cancelled"
    assert len(payments.refunds(intent_id)) == 1
    assert (shop.stock(), shop.purchased("alice")) == (10, 0)


def test_cancelling_a_hold_releases_it_at_once(payments: Payments) -> None:
    shop = payments.shop
    shop.put_product(**PAY)
    order = shop.order().json_body
    cancelled = shop.request("POST", f"/orders/{order['orderId']}/cancel", {})
    assert cancelled.status_code == 200
    assert (cancelled.json_body["status"], cancelled.json_body["releaseReason"]) == (
        "RELEASED",
        "cancelled",
    )
    assert shop.stock() == 10
    assert payments.intent(order["payment"]["paymentIntentId"]).status == "canceled"


def test_stripe_unreachable_takes_nothing_and_says_so(shop: Shop, stripe_base: str) -> None:
    wiring._services["gateway"] = Gateway(
        "sk_test_local", "whsec_local", f"http://127.0.0.1:{free_port()}"
    )
    shop.put_product(**PAY)
    answer = shop.order()
    assert (answer.status_code, answer.json_body["code"]) == (503, "PAYMENT_UNAVAILABLE")
    assert answer.headers["Retry-After"] == "1"
    assert (shop.stock(), shop.purchased("alice")) == (10, 0)
    (stored,) = shop.orders()
    assert (stored["status"], stored["releaseReason"]) == ("RELEASED", "payment_unavailable")


def test_a_long_hold_is_sent_on_until_its_time(
    payments: Payments, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = payments.shop
    shop.put_product(**{**PAY, "holdMinutes": 60})
    order = shop.order().json_body
    checkout = wiring.checkout()
    (message,) = payments.sqs.receive_message(QueueUrl=payments.queue).get("Messages", [])
    assert checkout.release_message(message["Body"]) == "rescheduled"
    assert shop.request("GET", f"/orders/{order['orderId']}").json_body["status"] == (
        "AWAITING_PAYMENT"
    )
    # The message's delay is SQS's longest; what it carries is the same hold.
    assert DELAY_UNTIL(instants.parse(order["holdExpiresAt"]), instants.now()) == 900


def test_requests_per_paid_order(payments: Payments) -> None:
    """DynamoDB requests from POST /orders to CONFIRMED: the hold's transaction,
    its intent recorded, the webhook's confirmation (docs/payments.md: <= 3)."""
    shop = payments.shop
    shop.put_product(**PAY)
    shop.order(userId="warm")  # the product cache filled, as in a running sale
    calls: list[str] = []
    for client in {id(c): c for c in (wiring.orders()._client, wiring.checkout()._client)}.values():
        client.meta.events.register(
            "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
        )
    order = shop.order().json_body
    intent_id = order["payment"]["paymentIntentId"]
    paying = payments.pay(order["orderId"], intent=intent_id)
    assert paying.status_code == 200 and paying.json_body["payment"]["status"] == "succeeded"
    payments.event("payment_intent.succeeded", intent_id)
    assert shop.request("GET", f"/orders/{order['orderId']}").json_body["status"] == "CONFIRMED"
    assert calls[:3] == ["TransactWriteItems", "UpdateItem", "UpdateItem"], calls


def test_paying_with_an_intent_of_another_order_is_refused(payments: Payments) -> None:
    shop = payments.shop
    shop.put_product(**PAY)
    mine = shop.order().json_body
    theirs = shop.order(userId="bob").json_body
    answer = payments.pay(mine["orderId"], intent=theirs["payment"]["paymentIntentId"])
    assert (answer.status_code, answer.json_body["code"]) == (409, "ORDER_NOT_PAYABLE")
    assert payments.intent(theirs["payment"]["paymentIntentId"]).status == "requires_payment_method"


def test_the_checkout_clock_is_read_at_each_call(
    payments: Payments, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: the clock was bound as a default argument at import, so a test
    # that had stood in for `instants.now` when the module was first imported
    # left every later hold expired at once.
    checkout = wiring.checkout()
    moment = instants.parse("2031-01-02T03:04:05Z")
    monkeypatch.setattr(instants, "now", lambda: moment)
    assert checkout._now() == moment
    monkeypatch.undo()
    assert checkout._now() != moment


def test_a_hold_whose_request_died_before_its_intent_is_released_by_the_stream_check(
    payments: Payments,
) -> None:
    """A container killed between the hold's transaction and its PaymentIntent
    (or a request timed out there) leaves a hold nobody can pay and no release
    message; the Orders stream's check releases it (and leaves a ready one be)."""
    import app as application
    from chalicelib.model import OrderRequest

    shop = payments.shop
    shop.put_product(stock=5, **PAY)
    ready = shop.order(userId="bob").json_body
    for message in payments.messages():  # bob's release message: not what this is about
        assert message["kind"] == "release"
    payments.sqs.purge_queue(QueueUrl=payments.queue)
    # GIVEN alice's hold committed by the order writer, and her request gone
    # before the checkout could give it an intent or a release message
    died = wiring.orders().place(OrderRequest("alice", "p1", 2)).order
    assert died.status == "AWAITING_PAYMENT" and died.payment_intent_id is None
    assert (shop.stock(), shop.purchased("alice")) == (2, 2)
    # WHEN the stream brings both holds to the notifier
    StreamPoller(
        shop.dynamodb,
        boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled")),
        shop.config.orders_table,
        application.notify_orders,
    ).drain()
    checks = payments.messages()
    assert sorted((m["kind"], m["orderId"]) for m in checks) == sorted(
        [("check", died.order_id), ("check", ready["orderId"])]
    )
    answers = sorted(wiring.checkout().release_message(json.dumps(m)) for m in checks)
    # THEN alice's units and count are back; bob's hold stands
    assert answers == ["ready", "released unprepared"]
    stored = shop.request("GET", f"/orders/{died.order_id}").json_body
    assert (stored["status"], stored["releaseReason"]) == ("RELEASED", "not_prepared")
    assert (shop.stock(), shop.purchased("alice")) == (4, 0)
    assert shop.request("GET", f"/orders/{ready['orderId']}").json_body["status"] == (
        "AWAITING_PAYMENT"
    )


def test_the_check_leaves_a_hold_a_replay_prepared_meanwhile(
    payments: Payments, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check read the hold without its intent; a replay of the request then
    gave it one and told the shopper to pay: the check must not release it."""
    from chalicelib.model import OrderRequest
    from chalicelib.orders.transactions import intent_record

    shop = payments.shop
    shop.put_product(stock=5, **PAY)
    died = wiring.orders().place(OrderRequest("alice", "p1", 1)).order
    checkout = wiring.checkout()
    monkeypatch.setattr(checkout, "_find", lambda _order_id: died)  # read before the replay
    shop.dynamodb.update_item(
        **intent_record(shop.config, died.order_id, "pi_replayed", "pi_replayed_secret_x")
    )
    message = holds.encode(holds.Hold.of(died), "check")
    assert checkout.release_message(message) == "not held"
    stored = shop.request("GET", f"/orders/{died.order_id}").json_body
    assert stored["status"] == "AWAITING_PAYMENT"
    assert (shop.stock(), shop.purchased("alice")) == (4, 1)


class FailingChecks:
    """SQS taking a batch of hold checks except those of `refused` orders."""

    def __init__(self, refused: set[str]) -> None:
        self.refused = refused
        self.sent: list[str] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        failed = []
        for entry in Entries:
            order_id = json.loads(entry["MessageBody"])["orderId"]
            if order_id in self.refused:
                failed.append({"Id": entry["Id"], "SenderFault": False, "Code": "InternalError"})
            else:
                self.sent.append(order_id)
        return {"Successful": [], "Failed": failed}


def test_a_hold_check_not_sent_fails_only_its_own_stream_record(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: a hold check SQS refused raised, and the whole notify batch
    # (every confirmation and check in it) came back.
    import app as application
    from chalicelib.model import OrderRequest

    resources.create_topic(boto3.client("sns"))
    shop.put_product(stock=5, **PAY)
    shop.put_product("p2", stock=5)
    first = wiring.orders().place(OrderRequest("alice", "p1", 1)).order
    refused = wiring.orders().place(OrderRequest("bob", "p1", 1)).order
    instant = shop.order(productId="p2", userId="carol").json_body
    sqs = FailingChecks({refused.order_id})
    monkeypatch.setattr(wiring, "hold_queue", lambda: holds.HoldQueue(sqs, "holds-url"))
    poller = StreamPoller(
        shop.dynamodb,
        boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled")),
        shop.config.orders_table,
        application.notify_orders,
    )
    records = [r for r in poller._read() if r["eventName"] == "INSERT"]
    by_order = {r["dynamodb"]["NewImage"]["orderId"]["S"]: r for r in records}
    # WHEN the notifier gets the batch and one hold's check is refused
    answer = application.notify_orders({"Records": records}, None)
    # THEN only that hold's record is reported; the other hold was watched
    assert answer == {
        "batchItemFailures": [
            {"itemIdentifier": by_order[refused.order_id]["dynamodb"]["SequenceNumber"]}
        ]
    }
    assert sqs.sent == [first.order_id]
    assert instant["orderId"] in by_order  # and the instant order was in the same batch


def test_a_spare_intents_refund_leaves_the_orders_own_refund_to_come(
    payments: Payments,
) -> None:
    # Regression: refunding a spare PaymentIntent's payment on a hold still
    # awaiting payment took the order's one refund mark, so when the order was
    # then paid and cancelled, its own payment was never given back.
    shop = payments.shop
    shop.put_product(**PAY)
    order = shop.order().json_body
    own = order["payment"]["paymentIntentId"]
    # GIVEN a spare intent of the hold (one that lost a race to be the order's) paid
    spare = wiring.gateway().create_intent(
        order["orderId"],
        order["amountMinor"],
        order["currency"],
        {"userId": order["userId"], "holdExpiresAt": order["holdExpiresAt"]},
        attempt="lost-race",
    )
    payments.stripe.v1.payment_intents.update(
        spare.intent_id, params={"payment_method": payments.card(GOOD)}
    )
    payments.stripe.v1.payment_intents.confirm(spare.intent_id)
    # WHEN its event comes (twice), then the order is paid and cancelled
    for _ in range(2):
        assert payments.event("payment_intent.succeeded", spare.intent_id).status_code == 200
    assert len(payments.refunds(spare.intent_id)) == 1  # its own mark: once
    held = shop.request("GET", f"/orders/{order['orderId']}").json_body
    assert held["status"] == "AWAITING_PAYMENT" and "refund" not in held
    payments.pay(order["orderId"])
    payments.event("payment_intent.succeeded", own)
    cancelled = shop.request("POST", f"/orders/{order['orderId']}/cancel", {})
    # THEN the order's own payment is refunded too
    assert cancelled.json_body["status"] == "CANCELLED", cancelled.json_body
    assert cancelled.json_body["refund"]["reason"] == "cancelled"
    assert len(payments.refunds(own)) == 1


class Died(BaseException):
    """The request's process killed at this point (nothing after it runs)."""


def _dying_update(checkout: Any, monkeypatch: pytest.MonkeyPatch, after: bool) -> None:
    """The checkout's next UpdateItem (recording the hold's intent) is where its
    request dies: just `after` it was written, or just before."""
    real = checkout._client.update_item

    def update_item(**params: Any) -> Any:
        if after:
            real(**params)
        raise Died(params["Key"]["orderId"]["S"])

    monkeypatch.setattr(checkout._client, "update_item", update_item)


def _stream_checks(shop: Shop) -> None:
    import app as application

    StreamPoller(
        shop.dynamodb,
        boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled")),
        shop.config.orders_table,
        application.notify_orders,
    ).drain()


def test_a_request_dying_once_the_intent_is_recorded_leaves_the_release_coming(
    payments: Payments, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: the release message was sent after the intent was recorded; a
    # request that died between the two left a hold its check found ready and
    # only a read or /pay of it (the lazy check) would ever release.
    from chalicelib.model import OrderRequest

    shop = payments.shop
    shop.put_product(stock=5, **PAY)
    checkout = wiring.checkout()
    dying = pytest.MonkeyPatch()
    _dying_update(checkout, dying, after=True)
    # GIVEN a hold whose request died right after recording its PaymentIntent
    with pytest.raises(Died):
        checkout.place(OrderRequest("alice", "p1", 2))
    dying.undo()
    (stored,) = shop.orders()
    assert stored["status"] == "AWAITING_PAYMENT" and stored["paymentIntentId"]
    # WHEN the stream's check comes, and then the hold's end
    _stream_checks(shop)
    messages = {m["kind"]: m for m in payments.messages()}
    assert set(messages) == {"release", "check"}
    assert checkout.release_message(json.dumps(messages["check"])) == "ready"
    later = instants.parse(stored["holdExpiresAt"]) + timedelta(milliseconds=1)
    monkeypatch.setattr(instants, "now", lambda: later)
    monkeypatch.setattr(checkout, "_now", lambda: later)
    # THEN its release message releases it on time, with no read of it
    assert checkout.release_message(json.dumps(messages["release"])) == "released"
    assert (shop.stock(), shop.purchased("alice")) == (5, 0)
    assert payments.intent(stored["paymentIntentId"]).status == "canceled"


def test_a_request_dying_before_the_intent_is_recorded_leaves_its_check_to_release(
    payments: Payments, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.model import OrderRequest

    shop = payments.shop
    shop.put_product(stock=5, **PAY)
    checkout = wiring.checkout()
    dying = pytest.MonkeyPatch()
    _dying_update(checkout, dying, after=False)
    # GIVEN a hold whose request died once its release message was sent, before
    # its PaymentIntent was recorded (nobody can pay it)
    with pytest.raises(Died):
        checkout.place(OrderRequest("alice", "p1", 2))
    dying.undo()
    (stored,) = shop.orders()
    assert stored["status"] == "AWAITING_PAYMENT" and "paymentIntentId" not in stored
    # WHEN the stream's check comes
    _stream_checks(shop)
    messages = {m["kind"]: m for m in payments.messages()}
    assert set(messages) == {"release", "check"}
    # THEN it releases the hold at once; its release message, later, finds it gone
    assert checkout.release_message(json.dumps(messages["check"])) == "released unprepared"
    assert (shop.stock(), shop.purchased("alice")) == (5, 0)
    later = instants.parse(stored["holdExpiresAt"]) + timedelta(milliseconds=1)
    monkeypatch.setattr(checkout, "_now", lambda: later)
    assert checkout.release_message(json.dumps(messages["release"])) == "not held"
    assert payments.intent(messages["release"]["paymentIntentId"]).status == "canceled"
    assert shop.stock() == 5


def test_a_replay_given_the_same_intent_by_stripe_leaves_it_payable(
    payments: Payments, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: two replays of one request race to record their intents;
    # Stripe, keyed by the order, gives both the same one, and the loser
    # cancelled it as a spare: the winner's shopper could never pay.
    from chalicelib.model import OrderRequest
    from chalicelib.orders.transactions import intent_record

    shop = payments.shop
    shop.put_product(stock=5, **PAY)
    checkout = wiring.checkout()
    real = checkout._client.update_item

    def replay_first(**params: Any) -> Any:
        # The other replay records the same intent just before this one does.
        values = params["ExpressionAttributeValues"]
        real(
            **intent_record(
                shop.config,
                params["Key"]["orderId"]["S"],
                values[":pi"]["S"],
                values[":secret"]["S"],
            )
        )
        return real(**params)

    with monkeypatch.context() as racing:
        racing.setattr(checkout._client, "update_item", replay_first)
        order = checkout.place(OrderRequest("alice", "p1", 1)).order
    assert order.payment_intent_id is not None
    assert payments.intent(order.payment_intent_id).status == "requires_payment_method"
    paid = payments.pay(order.order_id)
    assert paid.status_code == 200, paid.json_body


def _releases_at_the_end(
    payments: Payments, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], list[int]]:
    """The release messages waiting, as one batch of the holds queue's mapping,
    with the clock past every hold's end; the TransactWriteItems the checkout
    then sends are listed."""
    messages = [m for m in payments.messages() if m["kind"] == "release"]
    later = max(instants.parse(m["expiresAt"]) for m in messages) + timedelta(milliseconds=1)
    monkeypatch.setattr(instants, "now", lambda: later)
    checkout = wiring.checkout()
    monkeypatch.setattr(checkout, "_now", lambda: later)
    calls: list[int] = []
    checkout._client.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems",
        lambda params, **_: calls.append(len(params["TransactItems"])),
    )
    batch = {"Records": [{"messageId": m["orderId"], "body": json.dumps(m)} for m in messages]}
    return batch, calls


def test_holds_of_one_product_ending_together_are_released_in_one_transaction(
    payments: Payments, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = payments.shop
    shop.put_product(stock=12, shards=3, **PAY)
    shop.put_product("p2", stock=5, **PAY)
    # GIVEN five holds of p1 (alice's two among them) and one of p2, ending together
    placed = [
        shop.order(userId=user, quantity=quantity).json_body
        for user, quantity in (("alice", 2), ("alice", 1), ("bob", 1), ("carol", 3), ("dan", 1))
    ]
    placed.append(shop.order(productId="p2", userId="alice").json_body)
    assert (shop.stock(), shop.stock("p2"), shop.purchased("alice")) == (4, 4, 3)
    batch, calls = _releases_at_the_end(payments, monkeypatch)
    assert len(batch["Records"]) == 6
    taken = [
        key
        for record in batch["Records"]
        for key, _ in json.loads(record["body"])["allocation"]
        if json.loads(record["body"])["productId"] == "p1"
    ]
    assert len(taken) > len(set(taken))  # five holds on three stock items
    # WHEN the batch is delivered
    assert application_release(batch) == {"batchItemFailures": []}
    # THEN one transaction per product: p1's five orders, its stock items once
    # each (the units summed), alice's counter once (3); p2's hold alone
    assert sorted(calls) == [3, 5 + len(set(taken)) + 4], calls
    for order in placed:
        stored = shop.request("GET", f"/orders/{order['orderId']}").json_body
        assert (stored["status"], stored["releaseReason"]) == ("RELEASED", "expired")
        assert payments.intent(order["payment"]["paymentIntentId"]).status == "canceled"
    assert (shop.stock(), shop.stock("p2")) == (12, 5)
    assert [shop.purchased(u) for u in ("alice", "bob", "carol", "dan")] == [0, 0, 0, 0]
    assert shop.purchased("alice", "p2") == 0


def test_a_batch_with_a_hold_gone_meanwhile_is_released_one_by_one(
    payments: Payments, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = payments.shop
    shop.put_product(stock=10, **PAY)
    placed = [shop.order(userId=user).json_body for user in ("alice", "bob", "carol")]
    # GIVEN bob let his hold go (released, its units back) before its message came
    gone = placed[1]
    assert shop.request("POST", f"/orders/{gone['orderId']}/cancel", {}).status_code == 200
    assert shop.stock() == 8
    batch, calls = _releases_at_the_end(payments, monkeypatch)
    # WHEN the three release messages come in one batch
    answer = application_release(batch)
    # THEN the shared transaction is cancelled by bob's; alice's and carol's are
    # released on their own, bob's not twice, and nothing comes back
    assert answer == {"batchItemFailures": []}
    assert calls == [3 + 1 + 3, 3, 3, 3], calls
    reasons = {
        o["orderId"]: shop.request("GET", f"/orders/{o['orderId']}").json_body["releaseReason"]
        for o in placed
    }
    assert reasons == {
        placed[0]["orderId"]: "expired",
        gone["orderId"]: "cancelled",
        placed[2]["orderId"]: "expired",
    }
    assert shop.stock() == 10 and shop.purchased("bob") == 0


def test_a_release_message_delivered_twice_in_a_batch_releases_once(
    payments: Payments, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = payments.shop
    shop.put_product(stock=10, **PAY)
    shop.order(userId="alice", quantity=2)
    shop.order(userId="bob")
    batch, calls = _releases_at_the_end(payments, monkeypatch)
    first = batch["Records"][0]
    batch["Records"].append({**first, "messageId": "again"})
    assert application_release(batch) == {"batchItemFailures": []}
    assert calls == [2 + 1 + 2], calls  # the two orders, one stock item, two counters
    assert shop.stock() == 10 and shop.purchased("alice") == 0


def application_release(batch: dict[str, Any]) -> Any:
    import app as application

    return application.release_holds(batch, None)
