"""The conflict model, inside the lock: the TransactionConflict cancellations
real DynamoDB produces under contention and moto never does."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable
from typing import Any

from local.emulator import wsgi
from local.emulator.state import State
from local.emulator.wsgi import Environ, StartResponse, WSGIApp


class Conflicts:
    """Cancels TransactWriteItems with TransactionConflict: at random, and when it
    names an item another transaction wrote within the hot-item window. Inside the
    lock, so that the check and the write it remembers are one step."""

    def __init__(self, app: WSGIApp, state: State) -> None:
        self._app = app
        self._state = state
        self._last_write: dict[str, float] = {}

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if wsgi.operation(environ) != "TransactWriteItems":
            return self._app(environ, start_response)
        faults, body = self._state.faults, wsgi.body(environ)
        window = faults.hot_item_window_ms / 1000
        keys = item_keys(body) if window else []
        now = time.monotonic()
        hot = any(now - self._last_write.get(key, -1e9) < window for key in keys)
        if hot or random.random() < faults.transaction_conflict_rate:
            with self._state.lock:
                self._state.stats.conflicts_injected += 1
            return transaction_conflict(body, start_response)

        def remember(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            if keys and status.startswith("200"):
                written = time.monotonic()
                self._last_write.update((key, written) for key in keys)
            return start_response(status, headers, *exc)

        return self._app(environ, remember)


def item_keys(body: bytes) -> list[str]:
    """The items a transaction updates, deletes or checks (puts create new items)."""
    keys = []
    for item in json.loads(body).get("TransactItems", []):
        for kind, op in item.items():
            if kind != "Put":
                keys.append(op["TableName"] + json.dumps(op["Key"], sort_keys=True))
    return keys


def transaction_conflict(body: bytes, start_response: StartResponse) -> list[bytes]:
    """What DynamoDB answers when another transaction holds one of the items."""
    items = json.loads(body).get("TransactItems", [])
    reasons = [{"Code": "None"} for _ in items]
    if reasons:
        reasons[0] = {"Code": "TransactionConflict", "Message": "Transaction is ongoing"}
    codes = ", ".join(reason["Code"] for reason in reasons)
    answer = {
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": f"Transaction cancelled, please refer cancellation reasons [{codes}]",
        "CancellationReasons": reasons,
    }
    payload = json.dumps(answer).encode()
    return wsgi.reply(start_response, "400 Bad Request", wsgi.AWS_JSON, payload)
