"""The local AWS emulator: moto's server behind one global lock.

moto's backends are not thread-safe (concurrent TransactWriteItems can oversell
or fail), so every request runs alone. The wrapper also counts DynamoDB
operations and can inject the faults real DynamoDB produces under load but
moto never does (TransactionConflict), through a small admin API:

    GET  /_flashsale/stats          {"dynamodb": {"TransactWriteItems": n, ...},
                                     "dynamodbByApp": {"<AWS_SDK_UA_APP_ID>": {...}},
                                     "dynamodbByAppTable": {"<app>": {"<table>": {...}}},
                                     "throttledByApp": {"<app>": n}, ...}
    POST /_flashsale/stats/reset
    PUT  /_flashsale/faults         {"transactionConflictRate": 0.3, "hotItemWindowMs": 5,
                                     "throttleRate": 0.2, "snsOutage": true,
                                     "sesThrottleRate": 0.5}
    POST /_flashsale/restart        {"downSeconds": 2}
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from local import fast_transactions, swagger_import

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
ADMIN = "/_flashsale/"
# botocore puts AWS_SDK_UA_APP_ID in the User-Agent as app/<id>.
_APP_ID = re.compile(r"\bapp/(\S+)")


class LockedMoto:
    """A WSGI app that runs moto one request at a time and records what it served."""

    def __init__(self, app: Callable[[Environ, StartResponse], Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.calls_by_app: dict[str, Counter[str]] = {}
        # Which tables each app's requests named (a transaction counts once per table).
        self.calls_by_app_table: dict[str, dict[str, Counter[str]]] = {}
        self.conflict_rate = 0.0
        self.conflicts_injected = 0
        # Hot-item model: a transaction naming an item another one wrote less
        # than `hot_item_window` seconds ago is cancelled with TransactionConflict,
        # as DynamoDB cancels transactions that overlap on an item.
        self.hot_item_window = 0.0
        self._last_write: dict[str, float] = {}
        self.throttle_rate = 0.0  # DynamoDB calls answered ThrottlingException
        self.sns_down = False  # SNS answers 500 InternalError
        self.ses_throttle_rate = 0.0  # SES SendEmail answered "Maximum sending rate exceeded"
        self.faults_injected: Counter[str] = Counter()
        self.throttled_by_app: Counter[str] = Counter()
        self.restart: Callable[[float], None] | None = None  # set by Emulator
        self.restarts = 0

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(ADMIN):
            return self._admin(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        operation = target.rpartition(".")[2] if target.startswith("DynamoDB_") else ""
        body_peek = b""
        query_faults = self.sns_down or self.ses_throttle_rate
        if not operation and environ.get("REQUEST_METHOD") == "POST" and query_faults:
            body_peek = _read_body(environ)
            environ["wsgi.input"] = io.BytesIO(body_peek)
            if self.sns_down and b"Action=Publish" in body_peek:
                with self._lock:
                    self.faults_injected["snsOutage"] += 1
                return _sns_outage(start_response)
            if b"Action=SendEmail" in body_peek and random.random() < self.ses_throttle_rate:
                with self._lock:
                    self.faults_injected["sesThrottled"] += 1
                return _ses_throttled(start_response)
        with self._lock:
            if operation and random.random() < self.throttle_rate:
                self.faults_injected["throttled"] += 1
                app = _APP_ID.search(environ.get("HTTP_USER_AGENT", ""))
                if app:
                    self.throttled_by_app[app.group(1)] += 1
                return _throttled(start_response)
            body = b""
            if operation:
                body = _read_body(environ)
                environ["wsgi.input"] = io.BytesIO(body)
                self.calls[operation] += 1
                app = _APP_ID.search(environ.get("HTTP_USER_AGENT", ""))
                if app:
                    self.calls_by_app.setdefault(app.group(1), Counter())[operation] += 1
                    tables = self.calls_by_app_table.setdefault(app.group(1), {})
                    for table in _tables(body):
                        tables.setdefault(table, Counter())[operation] += 1
            keys: list[str] = []
            if operation == "TransactWriteItems":
                keys = _item_keys(body) if self.hot_item_window else []
                now = time.monotonic()
                hot = any(
                    now - self._last_write.get(key, -1e9) < self.hot_item_window for key in keys
                )
                if hot or random.random() < self.conflict_rate:
                    self.conflicts_injected += 1
                    return _transaction_conflict(body, start_response)
            captured: list[tuple[str, list[tuple[str, str]]]] = []

            def capture(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
                captured.append((status, headers))
                return lambda data: None

            # Drain the response inside the lock: moto may build it lazily.
            result = self._app(environ, capture)
            try:
                reply = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            status, headers = captured[0]
            if keys and status.startswith("200"):
                written = time.monotonic()
                self._last_write.update((key, written) for key in keys)
        start_response(status, headers)
        return [reply]

    def _admin(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ["PATH_INFO"][len(ADMIN) :]
        method = environ["REQUEST_METHOD"]
        with self._lock:
            if (method, path) == ("POST", "stats/reset"):
                self.calls.clear()
                self.calls_by_app.clear()
                self.calls_by_app_table.clear()
                self.throttled_by_app.clear()
                self.conflicts_injected = 0
            elif (method, path) == ("PUT", "faults"):
                faults = json.loads(_read_body(environ))
                rate = float(faults.get("transactionConflictRate", 0.0))
                self.conflict_rate = min(max(rate, 0.0), 1.0)
                self.hot_item_window = max(float(faults.get("hotItemWindowMs", 0.0)), 0.0) / 1000
                self.throttle_rate = min(max(float(faults.get("throttleRate", 0.0)), 0.0), 1.0)
                self.sns_down = bool(faults.get("snsOutage", False))
                rate = float(faults.get("sesThrottleRate", 0.0))
                self.ses_throttle_rate = min(max(rate, 0.0), 1.0)
            elif (method, path) == ("POST", "restart") and self.restart is not None:
                down = float(json.loads(_read_body(environ) or b"{}").get("downSeconds", 1.0))
                # After this answer: the server cannot stop from inside its own request.
                threading.Thread(target=self.restart, args=(down,), daemon=True).start()
            elif (method, path) != ("GET", "stats"):
                return _json(start_response, "404 Not Found", {"message": "unknown admin path"})
            stats = {
                "dynamodb": dict(self.calls),
                "dynamodbByApp": {app: dict(calls) for app, calls in self.calls_by_app.items()},
                "dynamodbByAppTable": {
                    app: {table: dict(calls) for table, calls in tables.items()}
                    for app, tables in self.calls_by_app_table.items()
                },
                "transactionConflictsInjected": self.conflicts_injected,
                "transactionConflictRate": self.conflict_rate,
                "hotItemWindowMs": self.hot_item_window * 1000,
                "throttleRate": self.throttle_rate,
                "snsOutage": self.sns_down,
                "sesThrottleRate": self.ses_throttle_rate,
                "faultsInjected": dict(self.faults_injected),
                "throttledByApp": dict(self.throttled_by_app),
                "restarts": self.restarts,
            }
        return _json(start_response, "200 OK", stats)


def _read_body(environ: Environ) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body: bytes = environ["wsgi.input"].read(length)
    return body


def _json(start_response: StartResponse, status: str, body: Any) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    )
    return [payload]


def _throttled(start_response: StartResponse) -> list[bytes]:
    """DynamoDB over its request rate (botocore retries this itself first)."""
    payload = json.dumps(
        {
            "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
            "message": "Rate of requests exceeds the allowed throughput.",
        }
    ).encode()
    start_response(
        "400 Bad Request",
        [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(payload)))],
    )
    return [payload]


def _sns_outage(start_response: StartResponse) -> list[bytes]:
    """SNS failing on its side (query protocol, XML error)."""
    payload = (
        b'<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error>'
        b"<Type>Receiver</Type><Code>InternalError</Code><Message>injected outage</Message>"
        b"</Error><RequestId>outage</RequestId></ErrorResponse>"
    )
    start_response(
        "500 Internal Server Error",
        [("Content-Type", "text/xml"), ("Content-Length", str(len(payload)))],
    )
    return [payload]


def _ses_throttled(start_response: StartResponse) -> list[bytes]:
    """SES over the account's sending rate (query protocol, XML error)."""
    payload = (
        b'<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error>'
        b"<Type>Sender</Type><Code>Throttling</Code>"
        b"<Message>Maximum sending rate exceeded.</Message>"
        b"</Error><RequestId>throttled</RequestId></ErrorResponse>"
    )
    start_response(
        "400 Bad Request", [("Content-Type", "text/xml"), ("Content-Length", str(len(payload)))]
    )
    return [payload]


def _tables(body: bytes) -> set[str]:
    """The tables a DynamoDB request names."""
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return set()
    tables = set(request.get("RequestItems") or {})
    if "TableName" in request:
        tables.add(request["TableName"])
    for item in request.get("TransactItems") or []:
        tables.update(op.get("TableName", "") for op in item.values())
    return tables - {""}


def _item_keys(body: bytes) -> list[str]:
    """The items a transaction updates, deletes or checks (puts create new items)."""
    keys = []
    for item in json.loads(body).get("TransactItems", []):
        for kind, op in item.items():
            if kind != "Put":
                keys.append(op["TableName"] + json.dumps(op["Key"], sort_keys=True))
    return keys


def _transaction_conflict(body: bytes, start_response: StartResponse) -> list[bytes]:
    """What DynamoDB answers when another transaction holds one of the items."""
    items = json.loads(body).get("TransactItems", [])
    reasons = [{"Code": "None"} for _ in items]
    if reasons:
        reasons[0] = {"Code": "TransactionConflict", "Message": "Transaction is ongoing"}
    codes = ", ".join(reason["Code"] for reason in reasons)
    body = {
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": f"Transaction cancelled, please refer cancellation reasons [{codes}]",
        "CancellationReasons": reasons,
    }
    payload = json.dumps(body).encode()
    start_response(
        "400 Bad Request",
        [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(payload)))],
    )
    return [payload]


class QuietHandler(MotoRequestHandler):
    """moto's handler without a log line per request (a sale makes thousands)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class Emulator:
    """moto's server on a background thread, serialised by LockedMoto."""

    def __init__(self, host: str = "127.0.0.1", port: int = 4566) -> None:
        fast_transactions.install()
        swagger_import.install()
        self.app = LockedMoto(DomainDispatcherApplication(create_backend_app))
        self.app.restart = self.restart
        self._address = (host, port)
        self._server = self._listen()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _listen(self) -> BaseWSGIServer:
        host, port = self._address
        return make_server(host, port, self.app, threaded=True, request_handler=QuietHandler)

    def restart(self, down_seconds: float) -> None:
        """Stop listening for a while, then serve again with the same state: what a
        client sees of an emulator (or endpoint) restart, minus the data loss."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        time.sleep(down_seconds)
        self._server = self._listen()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.app.restarts += 1

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Emulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args()
    emulator = Emulator(args.host, args.port).start()
    print(f"AWS emulator on {emulator.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        emulator.stop()


if __name__ == "__main__":
    main()
