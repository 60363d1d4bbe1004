"""The holds queue's consumer for the local stack: `release_holds` run as its
event source mapping would, in a process of its own; and the waiting rooms'
tick queue's, `admit_shoppers` (one poller: a room's ticks come one a second).

On Lambda each batch of releases runs in a container apart from DynamoDB and
SQS; run inside the stack's process, the releases and the emulator share one
interpreter lock, and when a thousand holds ended in one second the releases
went at a third of the rate the emulator takes transactions (bench/holds.py).
The stack starts this with the stage's environment; SIGTERM stops it.

    python -m local.releasers [--concurrency 8]
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from types import FrameType

from local import resources
from local.mail import LONG_POLL_SECONDS, QueuePoller
from local.stack import HOLD_RELEASERS, emulator_client, stage


def main() -> None:
    parser = argparse.ArgumentParser(description="release_holds on the local holds queue")
    parser.add_argument("--concurrency", type=int, default=HOLD_RELEASERS)
    args = parser.parse_args()
    logging.getLogger("botocore").setLevel(logging.WARNING)
    import app

    endpoint = os.environ[stage.ENDPOINT]  # the stack's emulator
    sqs = emulator_client("sqs", endpoint)
    holds = QueuePoller(
        sqs,
        sqs.get_queue_url(QueueName=resources.HOLDS_QUEUE)["QueueUrl"],
        app.release_holds,
        concurrency=args.concurrency,
        wait_seconds=LONG_POLL_SECONDS,
    )
    ticks = QueuePoller(
        sqs,
        sqs.get_queue_url(QueueName=resources.ROOMS_QUEUE)["QueueUrl"],
        app.admit_shoppers,
        concurrency=1,
        wait_seconds=LONG_POLL_SECONDS,
    )
    stop = threading.Event()

    def stopping(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)
    for worker in [*holds.run(stop), *ticks.run(stop)]:
        worker.join()


if __name__ == "__main__":
    main()
