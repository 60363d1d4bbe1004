"""The API under chalice local's server, killed (os._exit) the moment its Nth
order has committed in DynamoDB, before it can answer: a Lambda container dying
right after the write. Test support for tests/stack/test_faults.py.

    python -m tests.stack.crashing_api --port P --crash-after N
"""

from __future__ import annotations

import argparse
import os
import threading
from typing import Any

from chalicelib import aws
from local.serve import local_server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--crash-after", type=int, required=True)
    args = parser.parse_args()
    server = local_server(args.port)
    commits = 0
    lock = threading.Lock()

    def after_commit(http_response: Any, **kwargs: Any) -> None:
        nonlocal commits
        if http_response.status_code == 200:
            with lock:
                commits += 1
                if commits >= args.crash_after:
                    os._exit(9)

    # The order loop's own client (botocore retries off), which writes orders.
    aws.client("dynamodb", retries=False).meta.events.register(
        "after-call.dynamodb.TransactWriteItems", after_commit
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
