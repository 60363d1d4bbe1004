"""Faults during a sale: DynamoDB throttling, an SNS outage, the emulator
restarting mid-load, and an API process killed right after a commit. Afterwards
the invariants hold and every confirmed order is stored and notified once."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from typing import Any

import pytest

from local import client
from local.delivery import Mailbox
from local.stack import emulator_client
from tests.stack.conftest import Stack
from tests.stack.crashing import crashing_api
from tests.stack.test_concurrency import assert_invariants, new_product, rush


def mailbox_for(stack: Stack, product_id: str) -> Mailbox:
    return Mailbox(
        emulator_client("sns", stack.endpoint),
        emulator_client("sqs", stack.endpoint),
        stack.config.order_topic_arn,
        f"faults-{uuid.uuid4().hex[:8]}",
        filter_policy={"productId": [product_id]},
    )


def confirmations(mailbox: Mailbox, expected: int, seconds: float = 60) -> Counter[str]:
    """Order ids of the confirmations received, waiting for `expected` of them,
    then a little longer so that a duplicate would show."""
    seen: Counter[str] = Counter()
    deadline = time.monotonic() + seconds
    while sum(seen.values()) < expected and time.monotonic() < deadline:
        seen.update(e["Message"]["order"]["orderId"] for e in mailbox.receive())
        time.sleep(0.1)
    time.sleep(1.5)
    seen.update(e["Message"]["order"]["orderId"] for e in mailbox.receive())
    return seen


def buy(stack: Stack, product_id: str) -> Any:
    return lambda n: stack.api(
        "POST", "/orders", {"userId": f"f{n % 30}", "productId": product_id, "quantity": 1 + n % 2}
    )


def assert_each_stored_order_notified_once(stack: Stack, product_id: str, mailbox: Mailbox) -> None:
    stored = {o["orderId"] for o in stack.orders_for(product_id)}
    seen = confirmations(mailbox, len(stored))
    assert set(seen) == stored
    assert set(seen.values()) <= {1}


def test_dynamodb_throttling(stack: Stack) -> None:
    product_id = new_product(stack, stock=40, maxPerUser=4)
    mailbox = mailbox_for(stack, product_id)
    with stack.faults(throttleRate=0.3) as injected:
        replies = rush(80, buy(stack, product_id))
    assert injected["throttled"] > 0
    statuses = Counter(r.status for r in replies)
    assert set(statuses) <= {201, 409, 503}, statuses
    assert all(r.headers.get("retry-after") == "1" for r in replies if r.status == 503)
    assert_invariants(stack, product_id, 40, replies, max_per_user=4)
    assert_each_stored_order_notified_once(stack, product_id, mailbox)


def test_sns_outage_delays_confirmations_but_loses_and_repeats_none(stack: Stack) -> None:
    product_id = new_product(stack, stock=20)
    mailbox = mailbox_for(stack, product_id)
    with stack.faults(snsOutage=True) as injected:
        replies = [buy(stack, product_id)(n) for n in range(8)]
        assert {r.status for r in replies} == {201}
        time.sleep(2)
        assert mailbox.receive() == []  # nothing got through during the outage
    assert injected["snsOutage"] > 0
    assert_each_stored_order_notified_once(stack, product_id, mailbox)


def test_emulator_restart_mid_load(stack: Stack) -> None:
    product_id = new_product(stack, stock=50, maxPerUser=4)
    mailbox = mailbox_for(stack, product_id)

    def restart_soon() -> None:
        time.sleep(0.3)
        stack.emulator("POST", "restart", {"downSeconds": 2})

    stack.emulator("POST", "stats/reset")  # count only this test's restart
    threading.Thread(target=restart_soon).start()
    replies = rush(90, buy(stack, product_id))
    time.sleep(2.5)  # until it listens again

    assert stack.emulator("GET", "stats").body["restarts"] == 1
    statuses = Counter(r.status for r in replies)
    print("statuses across the restart:", dict(statuses))
    assert set(statuses) <= {201, 409, 503}, statuses
    assert_invariants(stack, product_id, 50, replies, max_per_user=4)
    assert_each_stored_order_notified_once(stack, product_id, mailbox)


def test_api_killed_right_after_commit_loses_nothing(stack: Stack) -> None:
    product_id = new_product(stack, stock=10)
    mailbox = mailbox_for(stack, product_id)
    body = {"userId": "killed", "productId": product_id, "quantity": 1}
    keys = [f"checkout-{uuid.uuid4()}" for _ in range(3)]
    with crashing_api(stack.endpoint, crash_after=3) as port:
        answered = [
            client.call("127.0.0.1", port, "POST", "/orders", body, {"Idempotency-Key": k})
            for k in keys[:2]
        ]
        assert [r.status for r in answered] == [201, 201]
        with pytest.raises(OSError):  # the third commits, then the process dies
            client.call("127.0.0.1", port, "POST", "/orders", body, {"Idempotency-Key": keys[2]})

    # The write happened: stock and order are there, and the shopper's retry
    # (same key, another container) gets that very order back.
    stored = stack.orders_for(product_id)
    assert len(stored) == 3 and stack.stock(product_id) == 7
    retry = stack.api("POST", "/orders", body, **{"Idempotency-Key": keys[2]})
    assert retry.status == 201 and retry.headers.get("idempotent-replayed") == "true"
    assert retry.body["orderId"] in {o["orderId"] for o in stored}
    assert len(stack.orders_for(product_id)) == 3
    assert_each_stored_order_notified_once(stack, product_id, mailbox)
