"""The shopper mailer against the running stack's mail queue, in its own
process, killed (os._exit) mid-batch: right after it marked its Nth email
(`--crash-after`, the batch's other messages unanswered), or, for the one
documented window, right after SES took the Nth email and before its mark
(`--crash-in-window`). Test support for tests/stack/test_emails.py.

    python -m tests.stack.crashing_mailer --queue-url URL --crash-after N
    python -m tests.stack.crashing_mailer --queue-url URL --until-sent N   # a healthy one
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from chalicelib import aws
from local.mail import QueuePoller, SentMail


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--crash-after", type=int, default=0)
    parser.add_argument("--crash-in-window", action="store_true")
    parser.add_argument("--until-sent", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=90)
    args = parser.parse_args()
    import app

    sent = 0

    def after_send(http_response: Any, **kwargs: Any) -> None:
        nonlocal sent
        if http_response.status_code == 200:
            sent += 1
            if args.crash_in_window and sent >= args.crash_after:
                os._exit(9)  # between SES accepting and the order's mark

    def after_mark(http_response: Any, **kwargs: Any) -> None:
        # The mailer's UpdateItems are an email's lease, then its mark: the first
        # one after the Nth send is that email's mark.
        marked = http_response.status_code == 200 and not args.crash_in_window
        if marked and args.crash_after and sent >= args.crash_after:
            os._exit(9)  # the email is marked; the rest of the batch is not done

    # The mailer's own clients (its SES client has botocore's retries off).
    aws.client("ses", retries=False).meta.events.register("after-call.ses.SendEmail", after_send)
    aws.client("dynamodb").meta.events.register("after-call.dynamodb.UpdateItem", after_mark)
    poller = QueuePoller(aws.client("sqs"), args.queue_url, app.send_emails)
    outbox = SentMail(os.environ["AWS_ENDPOINT_URL"])
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        if not poller.poll_once():
            if args.until_sent and len(outbox.all()) >= args.until_sent:
                return
            time.sleep(0.3)
    raise SystemExit(f"gave up after {args.seconds} s")


if __name__ == "__main__":
    main()
