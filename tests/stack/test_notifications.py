"""Confirmations through the running stack: stream poller -> notifier -> SNS -> SQS."""

from __future__ import annotations

import time
import uuid

import pytest

from local.delivery import Mailbox
from local.stack import emulator_client
from tests.stack.conftest import Stack
from tests.stack.test_concurrency import new_product, rush

pytestmark = pytest.mark.stack


def test_100_concurrent_orders_send_100_matching_messages(stack: Stack) -> None:
    product_id = new_product(stack, stock=100)
    # Subscribers filter on the message attributes: only this sale's orders.
    mailbox = Mailbox(
        emulator_client("sns", stack.endpoint),
        emulator_client("sqs", stack.endpoint),
        stack.config.order_topic_arn,
        f"test-{uuid.uuid4().hex[:8]}",
        filter_policy={"productId": [product_id]},
    )

    replies = rush(
        110,
        lambda n: stack.api(
            "POST", "/orders", {"userId": f"buyer-{n}", "productId": product_id, "quantity": 1}
        ),
    )
    confirmed = {r.body["orderId"]: r.body for r in replies if r.status == 201}
    assert len(confirmed) == 100
    assert sum(r.status == 409 for r in replies) == 10

    received: dict[str, dict[str, object]] = {}
    duplicates = 0
    deadline = time.monotonic() + 60
    while len(received) < 100 and time.monotonic() < deadline:
        for envelope in mailbox.receive():
            order = envelope["Message"]["order"]
            duplicates += order["orderId"] in received
            received[order["orderId"]] = order
            assert envelope["Subject"] == "Order Placed Successfully"
        time.sleep(0.1)
    time.sleep(1)  # anything still in flight would be a duplicate
    for envelope in mailbox.receive():
        duplicates += envelope["Message"]["order"]["orderId"] in received

    assert received == confirmed
    assert duplicates == 0
