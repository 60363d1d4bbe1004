"""The one delivery pipeline and the one order renderer that the SNS notifier
and the SES mailer share."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib import delivery, mailer, notifications
from chalicelib.model import Order

ITEM = {
    "orderId": {"S": "o-1"},
    "userId": {"S": "alice"},
    "productId": {"S": "p1"},
    "productName": {"S": "Headphones"},
    "quantity": {"N": "2"},
    "unitPrice": {"N": "79.99"},
    "totalAmount": {"N": "159.98"},
    "status": {"S": "CANCELLED"},
    "createdAt": {"S": "2026-11-27T00:00:01.000Z"},
    "cancelledAt": {"S": "2026-11-27T00:05:00.000Z"},
}
CHANNEL = delivery.Channel("email", "mailer", "emailedAt", "emailedAtId", lease="emailedAtLease")


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        (notifications.PLACED, mailer.PLACED),
        (notifications.CANCELLATION, mailer.CANCELLATION),
    ],
)
def test_the_topic_message_and_the_email_say_the_same(event: Any, kind: Any) -> None:
    order = Order.from_item(ITEM)
    subject, text, _ = mailer.subject_and_parts(kind, order)
    assert (event.subject, notifications.message_text(order, event)) == (subject, text)
    assert "Cancelled at: 2026-11-27T00:05:00.000000Z" in text.splitlines()


def test_the_memo_forgets_the_oldest_beyond_its_bound() -> None:
    memo = delivery.Memo(size=2)
    for n in range(3):
        memo.remember((f"o-{n}", "notifiedAt"), f"m-{n}")
    assert len(memo) == 2
    assert memo.get(("o-0", "notifiedAt")) is None
    assert memo.get(("o-2", "notifiedAt")) == "m-2"


class Marks:
    """An order table whose marks fail `failures` times, counting every write."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.item = dict(ITEM)
        self.writes: list[str] = []

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        self.writes.append(kwargs["UpdateExpression"])
        if kwargs["UpdateExpression"].startswith("SET #mark") and self.failures > 0:
            self.failures -= 1
            raise ClientError({"Error": {"Code": "ThrottlingException"}}, "UpdateItem")
        names = kwargs["ExpressionAttributeNames"]
        if "#mark" in names and names["#mark"] in self.item and "#lease" in names:
            raise ClientError(
                {"Error": {"Code": "ConditionalCheckFailedException"}, "Item": self.item},
                "UpdateItem",
            )
        if kwargs["UpdateExpression"].startswith("SET #mark"):
            self.item[names["#mark"]] = kwargs["ExpressionAttributeValues"][":now"]
        return {}


def test_a_failed_mark_is_retried_without_calling_again() -> None:
    # GIVEN a mark that fails every attempt of the first delivery
    table = Marks(failures=delivery.MARK_ATTEMPTS)
    pipeline = delivery.Pipeline(delivery.Ledger(table, "orders", sleep=lambda _: None))
    calls: list[str] = []

    def call() -> str:
        calls.append("sent")
        return f"message-{len(calls)}"

    with pytest.raises(delivery.Failed, match="not marked"):
        pipeline.deliver("o-1", dict(ITEM), CHANNEL, call)
    # WHEN the message comes back to the same process
    assert pipeline.deliver("o-1", dict(ITEM), CHANNEL, call) == "message-1"
    # THEN it was sent once and marked with that one id; once marked, nothing more
    assert calls == ["sent"]
    assert pipeline.deliver("o-1", table.item, CHANNEL, call) is None


def test_a_call_that_may_have_gone_through_keeps_the_lease() -> None:
    table = Marks(failures=0)
    pipeline = delivery.Pipeline(delivery.Ledger(table, "orders", sleep=lambda _: None))

    def unsure() -> str:
        raise delivery.Unsure("no answer")

    def refused() -> str:
        raise delivery.Failed("refused")

    with pytest.raises(delivery.Unsure):
        pipeline.deliver("o-1", dict(ITEM), CHANNEL, unsure)
    assert not any(write.startswith("REMOVE") for write in table.writes)
    with pytest.raises(delivery.Failed):
        pipeline.deliver("o-1", dict(ITEM), CHANNEL, refused)
    assert table.writes[-1] == "REMOVE #lease"  # not taken: free to retry at once
