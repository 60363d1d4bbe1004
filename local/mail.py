"""The shopper-email pipeline, locally: what Lambda's SQS event source mapping
does for `send_emails`, and a window onto the emails SES sent.

QueuePoller plays the mapping: up to `concurrency` workers (the mapping's
maximum concurrency) take batches of up to `batch_size` messages, call the
handler with a Lambda-shaped SQS event, delete what succeeded and leave the
`batchItemFailures` to come back after the queue's visibility timeout; the
queue's redrive policy moves a message that keeps failing to the dead-letter
queue, as SQS does. SentMail reads the emulator's SES outbox from moto's
`/moto-api/data.json` (under `ses`, `Message`), which tests read as well.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import urllib.request
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("flashsale.local")
Handler = Callable[[dict[str, Any], Any], Any]
_ORDER = re.compile(r"data-order-id='([^']+)'")
# The stack's pollers long-poll the emulator (local/emulator/longpolls.py waits
# them out outside its lock). Lambda's mappings wait up to 20 s; a second here,
# so that a stack told to stop stops within one.
LONG_POLL_SECONDS = 1


class QueuePoller:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        handler: Handler,
        batch_size: int = 10,
        concurrency: int = 2,
        wait_seconds: int = 0,
    ) -> None:
        self._sqs = sqs
        self._url = queue_url
        self._handler = handler
        self._batch_size = batch_size
        self._concurrency = concurrency
        self._wait = wait_seconds  # each receive's WaitTimeSeconds (0: short polls)
        self._arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.batches = 0

    def poll_once(self, wait: int = 0) -> int:
        """Deliver one batch, waiting up to `wait` s for one; how many messages it held."""
        messages = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": self._arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
        try:
            result = self._handler({"Records": records}, None)
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        except Exception:
            logger.exception("mail handler failed; the whole batch comes back")
            failed = {r["messageId"] for r in records}
        done = [r for r in records if r["messageId"] not in failed]
        for start in range(0, len(done), 10):
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r["receiptHandle"]}
                    for i, r in enumerate(done[start : start + 10])
                ],
            )
        self.batches += 1
        return len(records)

    def drain(self) -> None:
        """Deliver until the queue shows nothing (messages waiting to become
        visible again are not waited for)."""
        while self.poll_once():
            pass

    def run(self, stop: threading.Event, idle: float = 0.5) -> list[threading.Thread]:
        """`concurrency` workers polling until `stop` is set: long polls, or
        short ones `idle` s apart while the queue is empty."""

        def work() -> None:
            while not stop.is_set():
                try:
                    if not self.poll_once(self._wait) and not self._wait:
                        stop.wait(idle)
                except Exception:
                    logger.exception("mail queue poll failed")
                    stop.wait(1)

        threads = [threading.Thread(target=work, daemon=True) for _ in range(self._concurrency)]
        for thread in threads:
            thread.start()
        return threads


class SentMail:
    """The emails the emulator's SES accepted, in the order it took them: from
    moto's `/moto-api/data.json`, or, in the emulator's own process, from moto's
    SES backend directly (data.json serialises every backend under the
    emulator's one lock: polled twice a second it would stall a busy sale)."""

    def __init__(self, endpoint: str, in_process: bool = False) -> None:
        self._url = endpoint.rstrip("/") + "/moto-api/data.json"
        self._in_process = in_process
        self._seen = 0

    def _messages(self) -> list[dict[str, Any]]:
        if self._in_process:
            from moto.core import DEFAULT_ACCOUNT_ID
            from moto.ses.models import ses_backends

            sent = list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)
            return [
                {"destinations": m.destinations, "subject": m.subject, "body": m.body,
                 "source": m.source}
                for m in sent
                if hasattr(m, "destinations")
            ]  # fmt: skip
        with urllib.request.urlopen(self._url, timeout=30) as response:
            data = json.load(response)
        messages: list[dict[str, Any]] = data.get("ses", {}).get("Message", [])
        return messages

    def all(self) -> list[dict[str, Any]]:
        """Every email: to, subject, order id, source and the HTML body."""
        messages = self._messages()
        return [
            {
                "to": m["destinations"].get("ToAddresses", []),
                "subject": m.get("subject"),
                "orderId": (_ORDER.search(m.get("body") or "") or [None, None])[1],
                "source": m.get("source"),
                "body": m.get("body"),
            }
            for m in messages
        ]

    def take_new(self) -> list[dict[str, Any]]:
        """The emails sent since the last call (it moves the cursor past them)."""
        found = self.all()
        fresh, self._seen = found[self._seen :], len(found)
        return fresh

    def print_forever(self, stop: threading.Event, idle: float = 0.5) -> None:
        """Print each email as SES takes it, until `stop` is set."""
        while not stop.is_set():
            try:
                for mail in self.take_new():
                    print(
                        f'==> email to {", ".join(mail["to"])}: "{mail["subject"]}" '
                        f"(order {mail['orderId']})",
                        flush=True,
                    )
            except Exception:
                logger.exception("reading the SES outbox failed")
            stop.wait(idle)
