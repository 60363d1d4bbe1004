"""The emulator's layers one at a time, in front of a fake moto: what each
answers, refuses, counts and lets through (local/emulator/)."""

from __future__ import annotations

import dataclasses
import io
import json
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from local.emulator import Faults, Stats
from local.emulator.admin import Admin
from local.emulator.conflicts import Conflicts
from local.emulator.injector import FaultInjector
from local.emulator.lock import Serialised
from local.emulator.recorder import Recorder
from local.emulator.state import State

AGENT = "Boto3/1.40 md/Botocore#1.40 app/flashsale-api"


class Moto:
    """A stand-in for moto: answers 200 and remembers what reached it."""

    def __init__(self, status: str = "200 OK") -> None:
        self.status = status
        self.seen: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.seen.append(environ)
        start_response(self.status, [("Content-Type", "application/json")])
        return [b"{}"]


def call(
    app: Any, method: str = "POST", path: str = "/", body: Any = b"", target: str = ""
) -> tuple[str, dict[str, str], bytes]:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(payload)),
        "wsgi.input": io.BytesIO(payload),
        "HTTP_USER_AGENT": AGENT,
    }
    if target:
        environ["HTTP_X_AMZ_TARGET"] = f"DynamoDB_20120810.{target}"
    answer: list[Any] = []
    chunks = app(environ, lambda status, headers, *exc: answer.append((status, dict(headers))))
    return answer[0][0], answer[0][1], b"".join(chunks)


def transaction(*ops: tuple[str, str, str]) -> dict[str, Any]:
    """TransactItems of (kind, table, key)."""
    items = []
    for kind, table, key in ops:
        spec: dict[str, Any] = {"TableName": table}
        spec["Item" if kind == "Put" else "Key"] = {"pk": {"S": key}}
        items.append({kind: spec})
    return {"TransactItems": items}


# --- admin ---------------------------------------------------------------------


def test_admin_answers_the_counters_and_faults_and_passes_the_rest_on() -> None:
    state, moto = State(), Moto()
    admin = Admin(moto, state)

    status, headers, body = call(admin, "GET", "/_flashsale/stats")

    assert status == "200 OK" and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {**Stats().to_json(), **Faults().to_json()}
    assert call(admin, "GET", "/")[0] == "200 OK" and len(moto.seen) == 1


def test_admin_replaces_the_faults_whole() -> None:
    state = State()
    admin = Admin(Moto(), state)
    call(admin, "PUT", "/_flashsale/faults", {"throttleRate": 0.5, "snsOutage": True})

    _, _, body = call(admin, "PUT", "/_flashsale/faults", {"hotItemWindowMs": 5})

    assert state.faults == Faults(hot_item_window_ms=5.0)
    assert json.loads(body)["throttleRate"] == 0.0 and json.loads(body)["hotItemWindowMs"] == 5.0
    call(admin, "PUT", "/_flashsale/faults", b"")
    assert state.faults == Faults()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_flashsale/nothing"),
        ("DELETE", "/_flashsale/faults"),
        ("POST", "/_flashsale/restart"),
    ],
)
def test_admin_refuses_an_unknown_path(method: str, path: str) -> None:
    # (restart is known only once an Emulator has set its hook)
    status, _, body = call(Admin(Moto(), State()), method, path)
    assert status == "404 Not Found" and json.loads(body) == {"message": "unknown admin path"}


def test_admin_restart_answers_first_then_restarts() -> None:
    state = State()
    admin = Admin(Moto(), state)
    asked: list[float] = []
    admin.restart = asked.append

    status, _, _ = call(admin, "POST", "/_flashsale/restart", {"downSeconds": 2})
    admin.restarted()

    deadline = time.monotonic() + 5
    while not asked and time.monotonic() < deadline:
        time.sleep(0.01)
    assert status == "200 OK" and asked == [2.0] and state.stats.restarts == 1


# --- stats -----------------------------------------------------------------------


def test_stats_reset_zeroes_every_field_including_one_added_later() -> None:
    stats = Stats()
    for counter in dataclasses.fields(stats):
        value = getattr(stats, counter.name)
        setattr(stats, counter.name, 7 if isinstance(value, int) else {"x": Counter(a=1)})
    assert all(
        getattr(stats, f.name) != getattr(Stats(), f.name) for f in dataclasses.fields(stats)
    )

    stats.reset()

    assert stats == Stats()


# --- faults outside the lock ---------------------------------------------------------


def test_throttling_refuses_dynamodb_calls_before_moto_and_counts_them_by_client() -> None:
    state, moto = State(), Moto()
    state.faults = Faults(throttle_rate=1.0)

    status, headers, body = call(FaultInjector(moto, state), target="GetItem", body={})

    assert status == "400 Bad Request" and headers["Content-Type"] == "application/x-amz-json-1.0"
    assert json.loads(body)["__type"].endswith("#ThrottlingException")
    assert moto.seen == []
    assert state.stats.faults_injected == {"throttled": 1}
    assert state.stats.throttled_by_app == {"flashsale-api": 1}


def test_an_sns_outage_refuses_publish_only() -> None:
    state, moto = State(), Moto()
    state.faults = Faults(sns_outage=True)
    injector = FaultInjector(moto, state)

    status, headers, body = call(injector, body=b"Action=Publish&TopicArn=t")
    other = call(injector, body=b"Action=ListTopics")

    assert status == "500 Internal Server Error" and headers["Content-Type"] == "text/xml"
    assert b"<Code>InternalError</Code>" in body
    assert other[0] == "200 OK" and len(moto.seen) == 1
    assert state.stats.faults_injected == {"snsOutage": 1}


def test_ses_throttling_refuses_send_email_with_the_sending_rate_error() -> None:
    state, moto = State(), Moto()
    state.faults = Faults(ses_throttle_rate=1.0)

    status, _, body = call(FaultInjector(moto, state), body=b"Action=SendEmail&Source=s")

    assert status == "400 Bad Request" and b"Maximum sending rate exceeded." in body
    assert moto.seen == [] and state.stats.faults_injected == {"sesThrottled": 1}


def test_with_no_faults_everything_reaches_moto_with_its_body() -> None:
    state, moto = State(), Moto()
    injector = FaultInjector(Recorder(moto, state), state)
    call(injector, target="GetItem", body={"TableName": "t"})
    call(injector, body=b"Action=Publish")
    assert [m["wsgi.input"].read() for m in moto.seen] == [b'{"TableName": "t"}', b"Action=Publish"]
    assert state.stats.faults_injected == {}


# --- the recorder ---------------------------------------------------------------------


def test_the_recorder_counts_operations_by_client_and_by_each_table_named() -> None:
    state = State()
    recorder = Recorder(Moto(), state)

    call(recorder, target="TransactWriteItems", body=transaction(
        ("Update", "products", "p1"), ("Update", "products", "p2"), ("Put", "orders", "o1")
    ))  # fmt: skip
    call(recorder, target="BatchGetItem", body={"RequestItems": {"products": {}, "limits": {}}})
    call(recorder, body=b"Action=Publish")  # not DynamoDB: not counted

    assert state.stats.to_json()["dynamodb"] == {"TransactWriteItems": 1, "BatchGetItem": 1}
    assert state.stats.to_json()["dynamodbByAppTable"] == {
        "flashsale-api": {
            "products": {"TransactWriteItems": 1, "BatchGetItem": 1},
            "orders": {"TransactWriteItems": 1},
            "limits": {"BatchGetItem": 1},
        }
    }


# --- the lock ---------------------------------------------------------------------------


def test_the_lock_runs_one_request_at_a_time_response_included() -> None:
    inside, most = 0, 0
    guard = threading.Lock()

    def lazy_moto(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        nonlocal inside, most
        start_response("200 OK", [])
        for _ in range(3):  # moto may build its answer while it is read
            with guard:
                inside += 1
                most = max(most, inside)
            time.sleep(0.005)
            with guard:
                inside -= 1
            yield b"x"

    serialised = Serialised(lazy_moto)
    answers: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: answers.append(call(serialised)[2])) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [b"xxx"] * 6 and most == 1


# --- the conflict model -------------------------------------------------------------------


def test_a_random_conflict_cancels_the_transaction_as_dynamodb_does() -> None:
    state, moto = State(), Moto()
    state.faults = Faults(transaction_conflict_rate=1.0)
    body = transaction(("Update", "products", "p1"), ("Put", "orders", "o1"))

    status, _, answer = call(Conflicts(moto, state), target="TransactWriteItems", body=body)

    assert status == "400 Bad Request" and moto.seen == []
    assert json.loads(answer) == {
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": "Transaction cancelled, please refer cancellation reasons "
        "[TransactionConflict, None]",
        "CancellationReasons": [
            {"Code": "TransactionConflict", "Message": "Transaction is ongoing"},
            {"Code": "None"},
        ],
    }
    assert state.stats.conflicts_injected == 1
    assert call(Conflicts(moto, state), target="PutItem", body={})[0] == "200 OK"


def test_the_hot_item_model_cancels_a_transaction_on_an_item_just_written() -> None:
    state = State()
    state.faults = Faults(hot_item_window_ms=60_000)
    conflicts = Conflicts(Moto(), state)

    def send(*ops: tuple[str, str, str]) -> str:
        return call(conflicts, target="TransactWriteItems", body=transaction(*ops))[0]

    assert send(("Update", "products", "p1"), ("Put", "orders", "o1")) == "200 OK"
    assert (
        send(("Update", "products", "p2"), ("Put", "orders", "o1")) == "200 OK"
    )  # puts: new items
    assert send(("ConditionCheck", "products", "p1")) == "400 Bad Request"  # p1: still hot
    assert state.stats.conflicts_injected == 1


def test_a_refused_write_does_not_make_its_items_hot() -> None:
    state, moto = State(), Moto("400 Bad Request")  # e.g. a condition failed in moto
    state.faults = Faults(hot_item_window_ms=60_000)
    conflicts = Conflicts(moto, state)
    body = transaction(("Update", "products", "p1"))
    call(conflicts, target="TransactWriteItems", body=body)

    moto.status = "200 OK"

    assert call(conflicts, target="TransactWriteItems", body=body)[0] == "200 OK"
    assert call(conflicts, target="TransactWriteItems", body=body)[0] == "400 Bad Request"
    assert state.stats.conflicts_injected == 1
