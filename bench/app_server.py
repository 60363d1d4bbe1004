"""The FlashSale API under `chalice local`'s server, counting every DynamoDB
request the app sends (botocore `before-send` events fire once per HTTP attempt,
retries included). On SIGTERM it writes the counts as JSON to --counts."""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

from chalice import local as chalice_local
from chalice.cli import factory

import app
from chalicelib import aws
from local.stack import ROOT


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--counts", type=Path, required=True)
    args = parser.parse_args()

    config = factory.CLIFactory(str(ROOT)).create_config_obj(chalice_stage_name="local")
    os.environ.update(config.environment_variables)
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def count(request: Any, **kwargs: Any) -> None:
        target = request.headers.get("X-Amz-Target", "")
        target = target.decode() if isinstance(target, bytes) else target
        operation = target.rpartition(".")[2]
        with lock:
            counts[operation] += 1

    aws.client("dynamodb").meta.events.register("before-send.dynamodb", count)

    chalice_local.ThreadedHTTPServer.request_queue_size = 1024
    # One access-log line per order would cost more than the order itself.
    chalice_local.ChaliceRequestHandler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = chalice_local.create_local_server(app.app, config, "127.0.0.1", args.port)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()
    args.counts.write_text(json.dumps(dict(counts)))


if __name__ == "__main__":
    main()
