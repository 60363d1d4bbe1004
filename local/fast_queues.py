"""Constant-time attribute reads, one-pass deletes and cheaper receipt handles
in moto's SQS, for the local emulator.

moto 5.2.5 builds every queue attribute (three of them counting every message
in the queue) to read one: SendMessage reads ContentBasedDeduplication that
way, and ReceiveMessage reads MessageRetentionPeriod that way once per message
it returns. With a thousand holds waiting in the holds queue, receiving ten
took 400 ms and the releases fell a minute behind (bench/holds.py). These read
the one attribute, and a queue's visible messages are picked with one look at
the clock rather than two per message (still a pass over the queue, as SQS's
own model is); everything else is moto's own code. Installed by the emulator
(for the rest of its process, as `fast_transactions` is: a test that builds an
Emulator in-process leaves it installed).
"""

from __future__ import annotations

import hashlib
import string
from typing import Any

from moto.core.utils import unix_time, unix_time_millis
from moto.moto_api._internal import mock_random as random
from moto.sqs import models as sqs_models
from moto.sqs.exceptions import InvalidParameterValue, ReceiptHandleIsInvalid
from moto.sqs.models import MAXIMUM_MESSAGE_DELAY, Message, Queue, SQSBackend

from local import moto_pin


def is_message_valid_based_on_retention_period(
    self: SQSBackend, queue_name: str, message: Message
) -> bool:
    """moto's check, reading the queue's retention period alone."""
    retention_period = int(self.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
    return bool(retention_period + message.sent_timestamp / 1000 > unix_time())  # type: ignore[operator]


def visible_messages(self: Queue) -> list[Message]:
    """moto's `Queue.messages` (visible and not delayed), at one instant."""
    now = unix_time_millis()
    return [m for m in self._messages if now > m.visible_at and now >= m.delayed_until]  # type: ignore[attr-defined]


def send_message(
    self: SQSBackend,
    queue_name: str,
    message_body: str,
    message_attributes: dict[str, Any] | None = None,
    delay_seconds: int | None = None,
    deduplication_id: str | None = None,
    group_id: str | None = None,
    system_attributes: dict[str, Any] | None = None,
    validate_group_id: bool = True,
) -> Message:
    """moto 5.2.5's SendMessage; only the content-based deduplication test differs."""
    queue = self.get_queue(queue_name)

    self._validate_message(
        queue,
        message_body=message_body,
        delay_seconds=int(delay_seconds or 0),
        deduplication_id=deduplication_id,
        group_id=group_id,
        validate_group_id=validate_group_id,
    )

    delay_seconds = int(delay_seconds) if delay_seconds is not None else queue.delay_seconds  # type: ignore[attr-defined]

    message_id = str(random.uuid4())
    message = Message(message_id, message_body, system_attributes)

    # moto: `queue.attributes.get("ContentBasedDeduplication") == "true"`, an
    # attribute only FIFO queues list, stored as a bool.
    if queue.fifo_queue and queue.content_based_deduplication:  # type: ignore[attr-defined]
        sha256 = hashlib.sha256()
        sha256.update(message_body.encode("utf-8"))
        message.deduplication_id = sha256.hexdigest()

    if deduplication_id is not None:
        message.deduplication_id = deduplication_id
        message.sequence_number = "".join(random.choice(string.digits) for _ in range(20))

    if group_id is not None:
        message.group_id = group_id

    if message_attributes:
        message.message_attributes = message_attributes

    if delay_seconds > MAXIMUM_MESSAGE_DELAY:  # type: ignore[operator]
        msg = (
            f"Value {delay_seconds} for parameter DelaySeconds is invalid. "
            "Reason: DelaySeconds must be >= 0 and <= 900."
        )
        raise InvalidParameterValue(msg)

    message.mark_sent(delay_seconds=delay_seconds)
    queue.add_message(message)
    return message


def delete_message(self: Queue, receipt_handle: str) -> None:
    """moto's `Queue.delete_message` in one pass over the queue, not two that
    each build every message's list of receipt handles (a tenth of the
    emulator's time when a thousand holds were released in a second)."""
    if receipt_handle in self.deleted_messages:  # type: ignore[attr-defined]
        return  # deleted already: SQS takes it again
    kept: list[Message] = []
    found = False
    for message in self._messages:  # type: ignore[attr-defined]
        if (
            message.receipt_handle == receipt_handle
            or receipt_handle in message._old_receipt_handles  # type: ignore[attr-defined]
        ):
            found = True
            self.pending_messages.discard(message)  # type: ignore[attr-defined]
            self.deleted_messages.update(message.all_receipt_handles)  # type: ignore[attr-defined]
        else:
            kept.append(message)
    if not found:
        raise ReceiptHandleIsInvalid()
    self._messages = kept  # type: ignore[attr-defined]


def receipt_handle() -> str:
    """moto's receipt handle (185 lower-case letters from its seedable random),
    drawn in one call rather than 185: it was half of each ReceiveMessage."""
    return "".join(random.choices(string.ascii_lowercase, k=RECEIPT_LENGTH))


RECEIPT_LENGTH = 185


def install(version: str | None = None) -> None:
    """Route every moto SQS backend's SendMessage and retention check through
    this module (moto 5.2.5's code: another moto is refused)."""
    moto_pin.require("local/fast_queues.py", f"copies moto {MOTO_VERSION}'s SendMessage", version)
    SQSBackend.send_message = send_message  # type: ignore[method-assign]
    SQSBackend.is_message_valid_based_on_retention_period = (  # type: ignore[method-assign]
        is_message_valid_based_on_retention_period
    )
    Queue.messages = property(visible_messages)  # type: ignore[method-assign,assignment]
    Queue.delete_message = delete_message  # type: ignore[method-assign]
    sqs_models.generate_receipt_handle = receipt_handle


MOTO_VERSION = moto_pin.MOTO_VERSION
