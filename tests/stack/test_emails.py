"""Shopper emails on the running stack: every shopper with an address gets
exactly one email naming their order, a refused shopper none, also with SES
throttled, messages redelivered and a mailer killed in the middle of a batch.
Emails are read where the emulator's SES keeps them (/moto-api/data.json)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from local import resources
from local.mail import SentMail
from local.stack import ROOT, emulator_environment
from tests.stack.conftest import Stack, running_stack
from tests.stack.test_concurrency import new_product, rush


@pytest.fixture(scope="module")
def mail_stack() -> Iterator[Stack]:
    # Its own stack, whose built-in mailers are off: this test runs its own.
    with running_stack("mail-stack", LOCAL_MAILER="off") as running:
        yield running


def wait_for_mail(stack: Stack, count: int, seconds: float = 60) -> list[dict[str, object]]:
    outbox = SentMail(stack.endpoint)
    deadline = time.monotonic() + seconds
    while True:
        mails = outbox.all()
        if len(mails) >= count or time.monotonic() > deadline:
            return mails
        time.sleep(0.5)


def test_each_shopper_gets_exactly_one_email_through_throttling_and_a_killed_mailer(
    mail_stack: Stack,
) -> None:
    stack = mail_stack
    product_id = new_product(stack, stock=30, maxPerUser=1)
    shoppers = [f"buyer-{n}@example.com" for n in range(40)]

    def buy(n: int) -> object:
        return stack.api(
            "POST", "/orders", {"userId": shoppers[n], "productId": product_id, "quantity": 1}
        )

    replies = rush(40, buy)
    placed = {r.body["userId"]: r.body["orderId"] for r in replies if r.status == 201}
    refused = [shoppers[n] for n, r in enumerate(replies) if r.status != 201]
    assert len(placed) == 30 and len(refused) == 10

    sqs = stack.client("sqs")
    queue = sqs.get_queue_url(QueueName=resources.MAIL_QUEUE)["QueueUrl"]
    # Wait for the notifier to have published every confirmation to the queue.
    deadline = time.monotonic() + 60
    while True:
        waiting = int(
            sqs.get_queue_attributes(
                QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]["ApproximateNumberOfMessages"]
        )
        if waiting >= 30 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert waiting == 30

    env = {**os.environ, **emulator_environment(stack.endpoint), "PYTHONPATH": str(ROOT)}

    def mailer(*args: str, timeout: float) -> subprocess.CompletedProcess[bytes]:
        command = [sys.executable, "-m", "tests.stack.crashing_mailer", "--queue-url", queue]
        return subprocess.run(
            [*command, *args], cwd=ROOT, env=env, capture_output=True, timeout=timeout
        )

    # SES throttles half the sends, and the first mailer dies after its 4th email.
    with stack.faults(sesThrottleRate=0.5) as injected:
        crashing = mailer("--crash-after", "4", timeout=120)
        assert crashing.returncode == 9, crashing.stderr[-2000:]
        assert len(SentMail(stack.endpoint).all()) == 4

        # A healthy mailer takes over; what the dead one held comes back after the
        # visibility timeout, as SQS redelivers it.
        healthy = mailer("--until-sent", "30", timeout=150)
        assert healthy.returncode == 0, healthy.stderr[-2000:]
    mails = wait_for_mail(stack, 30, seconds=5)

    assert injected.get("sesThrottled", 0) > 0
    per_address = Counter(address for mail in mails for address in mail["to"])
    assert per_address == Counter(placed.keys())  # exactly one each, and only buyers
    assert {mail["to"][0]: mail["orderId"] for mail in mails} == placed
    assert {mail["subject"] for mail in mails} == {"Order Placed Successfully"}
    assert not set(refused) & set(per_address)
    dlq = sqs.get_queue_url(QueueName=resources.MAIL_DLQ)["QueueUrl"]
    assert sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get("Messages") is None


def test_the_one_duplicate_window_is_a_mailer_dying_between_ses_and_the_mark(
    mail_stack: Stack,
) -> None:
    # The documented exception, shown: SES took the email, the mailer died before
    # marking the order, so the redelivered message sends it again. One order,
    # one extra copy; every other order still exactly one.
    stack = mail_stack
    before = Counter(a for mail in SentMail(stack.endpoint).all() for a in mail["to"])
    product_id = new_product(stack, stock=5)
    shoppers = [f"window-{n}@example.com" for n in range(5)]
    for shopper in shoppers:
        body = {"userId": shopper, "productId": product_id, "quantity": 1}
        assert stack.api("POST", "/orders", body).status == 201
    sqs = stack.client("sqs")
    queue = sqs.get_queue_url(QueueName=resources.MAIL_QUEUE)["QueueUrl"]
    env = {**os.environ, **emulator_environment(stack.endpoint), "PYTHONPATH": str(ROOT)}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(
            QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        if int(attributes["ApproximateNumberOfMessages"]) >= 5:
            break
        time.sleep(0.5)
    mailer = [sys.executable, "-m", "tests.stack.crashing_mailer", "--queue-url", queue]
    crashed = subprocess.run(
        [*mailer, "--crash-after", "2", "--crash-in-window"],
        cwd=ROOT, env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    assert crashed.returncode == 9, crashed.stderr[-2000:]
    total = sum(before.values()) + 6
    healthy = subprocess.run(
        [*mailer, "--until-sent", str(total)], cwd=ROOT, env=env, capture_output=True, timeout=150
    )
    assert healthy.returncode == 0, healthy.stderr[-2000:]
    after = Counter(a for mail in SentMail(stack.endpoint).all() for a in mail["to"])
    counts = sorted(after[s] - before[s] for s in shoppers)
    assert counts == [1, 1, 1, 1, 2]
