"""The local AWS emulator: moto's server behind one global lock.

moto's backends are not thread-safe (concurrent TransactWriteItems can oversell
or fail), so every request runs alone. Around that lock, small WSGI layers count
DynamoDB operations and inject the faults real DynamoDB, SNS and SES produce
under load but moto never does, set through a small admin API:

    GET  /_flashsale/stats          {"dynamodb": {"TransactWriteItems": n, ...},
                                     "dynamodbByApp": {"<AWS_SDK_UA_APP_ID>": {...}},
                                     "dynamodbByAppTable": {"<app>": {"<table>": {...}}},
                                     "throttledByApp": {"<app>": n}, ...}
    POST /_flashsale/stats/reset    every counter back to zero
    PUT  /_flashsale/faults         {"transactionConflictRate": 0.3, "hotItemWindowMs": 5,
                                     "throttleRate": 0.2, "snsOutage": true,
                                     "sesThrottleRate": 0.5}    ({} turns them all off)
    POST /_flashsale/restart        {"downSeconds": 2}

A request goes through Admin -> FaultInjector -> Recorder -> Serialised ->
Conflicts -> moto (`layered`).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from local import fast_queues, fast_transactions, swagger_import

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]
ADMIN = "/_flashsale/"
# botocore puts AWS_SDK_UA_APP_ID in the User-Agent as app/<id>.
_APP_ID = re.compile(r"\bapp/(\S+)")
_BODY = "flashsale.body"


@dataclass(frozen=True)
class Faults:
    """The faults the emulator injects, as PUT /_flashsale/faults sets them."""

    transaction_conflict_rate: float = 0.0  # TransactWriteItems cancelled at random
    # Hot-item model: a transaction naming an item another one wrote less than
    # this long ago is cancelled, as DynamoDB cancels overlapping transactions.
    hot_item_window_ms: float = 0.0
    throttle_rate: float = 0.0  # DynamoDB calls answered ThrottlingException
    sns_outage: bool = False  # SNS answers 500 InternalError
    ses_throttle_rate: float = 0.0  # SES SendEmail answered "Maximum sending rate exceeded"

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> Faults:
        """The faults a JSON document names (rates clamped to [0, 1]); the rest off.
        An unknown name is refused: a misspelt fault would silently inject nothing."""
        names = {_camel(f.name): f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(document) - set(names))
        if unknown:
            raise ValueError(f"unknown faults {unknown}; known: {sorted(names)}")
        values = {names[key]: value for key, value in document.items()}

        def rate(name: str) -> float:
            return min(max(float(values.get(name, 0.0)), 0.0), 1.0)

        return cls(
            transaction_conflict_rate=rate("transaction_conflict_rate"),
            hot_item_window_ms=max(float(values.get("hot_item_window_ms", 0.0)), 0.0),
            throttle_rate=rate("throttle_rate"),
            sns_outage=bool(values.get("sns_outage", False)),
            ses_throttle_rate=rate("ses_throttle_rate"),
        )

    def to_json(self) -> dict[str, Any]:
        return {_camel(key): value for key, value in dataclasses.asdict(self).items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@dataclass
class Stats:
    """What the emulator served and refused since it started or was reset."""

    calls: Counter[str] = field(default_factory=Counter)
    calls_by_app: dict[str, Counter[str]] = field(default_factory=dict)
    # Which tables each app's requests named (a transaction counts once per table).
    calls_by_app_table: dict[str, dict[str, Counter[str]]] = field(default_factory=dict)
    conflicts_injected: int = 0
    faults_injected: Counter[str] = field(default_factory=Counter)
    throttled_by_app: Counter[str] = field(default_factory=Counter)
    restarts: int = 0

    def reset(self) -> None:
        """Every counter back to zero (a field added above is reset too)."""
        fresh = Stats()
        for counter in dataclasses.fields(self):
            setattr(self, counter.name, getattr(fresh, counter.name))

    def to_json(self) -> dict[str, Any]:
        return {
            "dynamodb": dict(self.calls),
            "dynamodbByApp": {app: dict(calls) for app, calls in self.calls_by_app.items()},
            "dynamodbByAppTable": {
                app: {table: dict(calls) for table, calls in tables.items()}
                for app, tables in self.calls_by_app_table.items()
            },
            "transactionConflictsInjected": self.conflicts_injected,
            "faultsInjected": dict(self.faults_injected),
            "throttledByApp": dict(self.throttled_by_app),
            "restarts": self.restarts,
        }


class State:
    """What the layers share: the faults in force and the counters, one lock for both."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.faults = Faults()
        self.stats = Stats()


class Admin:
    """The /_flashsale/ API; every other request goes on to `app`."""

    def __init__(self, app: WSGIApp, state: State) -> None:
        self._app = app
        self._state = state
        self.restart: Callable[[float], None] | None = None  # set by Emulator

    def restarted(self) -> None:
        with self._state.lock:
            self._state.stats.restarts += 1

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if not environ.get("PATH_INFO", "").startswith(ADMIN):
            return self._app(environ, start_response)
        route = (environ["REQUEST_METHOD"], environ["PATH_INFO"][len(ADMIN) :])
        state = self._state
        if route == ("PUT", "faults"):
            try:
                faults = Faults.parse(json.loads(_body(environ) or b"{}"))
            except (ValueError, TypeError, AttributeError) as error:
                return _json(start_response, "400 Bad Request", {"message": str(error)})
            with state.lock:
                state.faults = faults
        elif route == ("POST", "stats/reset"):
            with state.lock:
                state.stats.reset()
        elif route == ("POST", "restart") and self.restart is not None:
            down = float(json.loads(_body(environ) or b"{}").get("downSeconds", 1.0))
            # After this answer: the server cannot stop from inside its own request.
            threading.Thread(target=self.restart, args=(down,), daemon=True).start()
        elif route != ("GET", "stats"):
            return _json(start_response, "404 Not Found", {"message": "unknown admin path"})
        with state.lock:
            stats = {**state.stats.to_json(), **state.faults.to_json()}
        return _json(start_response, "200 OK", stats)


class FaultInjector:
    """Refuses requests as a service under load would: DynamoDB throttling, an SNS
    outage, SES over its sending rate. What it refuses never reaches moto."""

    def __init__(self, app: WSGIApp, state: State) -> None:
        self._app = app
        self._state = state

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        faults, stats = self._state.faults, self._state.stats
        if _operation(environ):
            if faults.throttle_rate and random.random() < faults.throttle_rate:
                with self._state.lock:
                    stats.faults_injected["throttled"] += 1
                    if app := _app_id(environ):
                        stats.throttled_by_app[app] += 1
                return _throttled(start_response)
        elif environ.get("REQUEST_METHOD") == "POST" and (
            faults.sns_outage or faults.ses_throttle_rate
        ):
            body = _body(environ)
            if faults.sns_outage and b"Action=Publish" in body:
                with self._state.lock:
                    stats.faults_injected["snsOutage"] += 1
                return _sns_outage(start_response)
            if b"Action=SendEmail" in body and random.random() < faults.ses_throttle_rate:
                with self._state.lock:
                    stats.faults_injected["sesThrottled"] += 1
                return _ses_throttled(start_response)
        return self._app(environ, start_response)


class Recorder:
    """Counts the DynamoDB operations that reach the service, by app and table."""

    def __init__(self, app: WSGIApp, state: State) -> None:
        self._app = app
        self._state = state

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        operation = _operation(environ)
        if operation:
            tables = _tables(_body(environ))
            app = _app_id(environ)
            with self._state.lock:
                stats = self._state.stats
                stats.calls[operation] += 1
                if app:
                    stats.calls_by_app.setdefault(app, Counter())[operation] += 1
                    by_table = stats.calls_by_app_table.setdefault(app, {})
                    for table in tables:
                        by_table.setdefault(table, Counter())[operation] += 1
        return self._app(environ, start_response)


class Serialised:
    """Runs `app` one request at a time, its response drained inside the lock
    (moto may build it lazily)."""

    def __init__(self, app: WSGIApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        captured: list[tuple[str, list[tuple[str, str]]]] = []

        def capture(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            captured.append((status, headers))
            return lambda data: None

        with self._lock:
            result = self._app(environ, capture)
            try:
                reply = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        start_response(*captured[0])
        return [reply]


class Conflicts:
    """Cancels TransactWriteItems with TransactionConflict: at random, and when it
    names an item another transaction wrote within the hot-item window. Inside the
    lock, so that the check and the write it remembers are one step."""

    def __init__(self, app: WSGIApp, state: State) -> None:
        self._app = app
        self._state = state
        self._last_write: dict[str, float] = {}

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if _operation(environ) != "TransactWriteItems":
            return self._app(environ, start_response)
        faults, body = self._state.faults, _body(environ)
        window = faults.hot_item_window_ms / 1000
        keys = _item_keys(body) if window else []
        now = time.monotonic()
        hot = any(now - self._last_write.get(key, -1e9) < window for key in keys)
        if hot or random.random() < faults.transaction_conflict_rate:
            with self._state.lock:
                self._state.stats.conflicts_injected += 1
            return _transaction_conflict(body, start_response)

        def remember(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            if keys and status.startswith("200"):
                written = time.monotonic()
                self._last_write.update((key, written) for key in keys)
            return start_response(status, headers, *exc)

        return self._app(environ, remember)


def layered(moto: WSGIApp) -> Admin:
    """moto behind its lock, with the admin API, faults and counters around it."""
    state = State()
    inner = Serialised(Conflicts(moto, state))
    return Admin(FaultInjector(Recorder(inner, state), state), state)


def _operation(environ: Environ) -> str:
    """The DynamoDB operation a request calls ("" for any other service's)."""
    target: str = environ.get("HTTP_X_AMZ_TARGET", "")
    return target.rpartition(".")[2] if target.startswith("DynamoDB_") else ""


def _app_id(environ: Environ) -> str | None:
    found = _APP_ID.search(environ.get("HTTP_USER_AGENT", ""))
    return found.group(1) if found else None


def _body(environ: Environ) -> bytes:
    """The request's body, read once: later layers and moto read it again."""
    if _BODY not in environ:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        environ[_BODY] = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(environ[_BODY])
    body: bytes = environ[_BODY]
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
    answer = {
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": f"Transaction cancelled, please refer cancellation reasons [{codes}]",
        "CancellationReasons": reasons,
    }
    payload = json.dumps(answer).encode()
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
    """moto's server, layered (`layered`), on a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 4566) -> None:
        fast_transactions.install()
        fast_queues.install()
        swagger_import.install()
        self.app = layered(DomainDispatcherApplication(create_backend_app))
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
        self.app.restarted()

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
