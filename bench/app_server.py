"""The FlashSale API under `chalice local`'s server, counting every DynamoDB
request the app sends (botocore `before-send` events fire once per HTTP attempt,
retries included). On SIGTERM it writes the counts as JSON to --counts."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

from chalicelib import aws
from local.serve import local_server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--counts", type=Path, required=True)
    args = parser.parse_args()
    server = local_server(args.port)
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def count(request: Any, **kwargs: Any) -> None:
        target = request.headers.get("X-Amz-Target", "")
        target = target.decode() if isinstance(target, bytes) else target
        with lock:
            counts[target.rpartition(".")[2]] += 1

    # Both of the app's DynamoDB clients: the order loop's and everything else's.
    for retries in (True, False):
        aws.client("dynamodb", retries=retries).meta.events.register("before-send.dynamodb", count)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()
    args.counts.write_text(json.dumps(dict(counts)))


if __name__ == "__main__":
    main()
