"""SQS long polls on the emulator (local/emulator/longpolls.py): answered as soon
as a message is there, empty at the end of the wait, and never holding the
lock that every other request needs meanwhile."""

from __future__ import annotations

import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.config import Config

from local.emulator import Emulator
from local.emulator.longpolls import long_poll
from local.launch import free_port
from local.stack import emulator_client


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    running = Emulator("127.0.0.1", free_port()).start()
    yield running.url
    running.stop()


@pytest.fixture
def sqs(endpoint: str) -> Any:
    return emulator_client("sqs", endpoint, config=Config(read_timeout=30))


def queue(sqs: Any, name: str) -> str:
    return str(sqs.create_queue(QueueName=f"{name}-{time.monotonic_ns()}")["QueueUrl"])


def timed_receive(sqs: Any, url: str, wait: int) -> tuple[list[str], float]:
    start = time.monotonic()
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=wait, MaxNumberOfMessages=10)
    return [m["Body"] for m in got.get("Messages", [])], time.monotonic() - start


def test_an_empty_queue_answers_empty_at_the_end_of_the_wait(sqs: Any) -> None:
    bodies, seconds = timed_receive(sqs, queue(sqs, "empty"), 2)
    assert bodies == [] and 1.9 < seconds < 3.0


def test_a_message_sent_during_the_wait_is_answered_at_once(sqs: Any) -> None:
    url = queue(sqs, "sent")
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(timed_receive, sqs, url, 10)
        time.sleep(0.5)
        sent = time.monotonic()
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        bodies, _ = waiting.result()
        assert bodies == ["hello"]
        assert time.monotonic() - sent < 0.3


@pytest.mark.parametrize("way", ["delay", "visibility"])
def test_a_message_coming_due_during_the_wait_is_answered_when_due(sqs: Any, way: str) -> None:
    url = queue(sqs, way)
    if way == "delay":
        sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=2)
    else:
        sqs.send_message(QueueUrl=url, MessageBody="later")
        sqs.receive_message(QueueUrl=url, VisibilityTimeout=2)  # taken, not deleted
    due = time.monotonic() + 2
    bodies, _ = timed_receive(sqs, url, 10)
    assert bodies == ["later"]
    # Due within a second of "2 s from now" (SQS times in whole milliseconds and
    # moto's clock is the wall's), and answered then, not at the next second.
    assert -1.0 < time.monotonic() - due < 0.3


def test_other_requests_go_on_while_polls_wait(sqs: Any, endpoint: str) -> None:
    # Eight waiting polls (the stack's hold releasers) hold no lock: a DynamoDB
    # call and another queue's send and receive are answered meanwhile.
    url = queue(sqs, "idle")
    other = queue(sqs, "busy")
    dynamodb = emulator_client("dynamodb", endpoint)
    with ThreadPoolExecutor(8) as pool:
        waiting = [pool.submit(timed_receive, sqs, url, 3) for _ in range(8)]
        time.sleep(0.3)
        start = time.monotonic()
        dynamodb.list_tables()
        sqs.send_message(QueueUrl=other, MessageBody="x")
        assert [m["Body"] for m in sqs.receive_message(QueueUrl=other)["Messages"]] == ["x"]
        assert time.monotonic() - start < 1.0
        assert all(w.result()[0] == [] for w in waiting)


def test_a_query_protocol_long_poll_is_waited_out_here_too(sqs: Any, endpoint: str) -> None:
    url = queue(sqs, "query")
    form = {"Action": "ReceiveMessage", "QueueUrl": url, "WaitTimeSeconds": "10"}
    request = urllib.request.Request(
        endpoint,
        data=urllib.parse.urlencode(form).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261207/us-east-1/sqs/"
            "aws4_request, SignedHeaders=host, Signature=x",
        },
    )
    answers: list[bytes] = []
    waiting = threading.Thread(
        target=lambda: answers.append(urllib.request.urlopen(request).read())
    )
    waiting.start()
    time.sleep(0.3)
    sqs.send_message(QueueUrl=url, MessageBody="over query")
    waiting.join(timeout=2)
    assert answers and b"over query" in answers[0]


def test_only_receives_with_a_wait_are_taken() -> None:
    def environ(body: bytes, target: str = "") -> dict[str, Any]:
        found = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(body))}
        import io

        found["wsgi.input"] = io.BytesIO(body)  # type: ignore[assignment]
        if target:
            found["HTTP_X_AMZ_TARGET"] = target
        return found

    json_poll = long_poll(
        environ(b'{"QueueUrl": "http://e/1/q", "WaitTimeSeconds": 5}', "AmazonSQS.ReceiveMessage")
    )
    assert json_poll is not None and json_poll[0] == 5 and json_poll[2] == "http://e/1/q"
    assert b'"WaitTimeSeconds": 0' in json_poll[1]
    short = b'{"QueueUrl": "http://e/1/q", "WaitTimeSeconds": 0}'
    assert long_poll(environ(short, "AmazonSQS.ReceiveMessage")) is None
    assert long_poll(environ(b"{}", "DynamoDB_20120810.GetItem")) is None
    query = long_poll(
        environ(b"Action=ReceiveMessage&QueueUrl=http%3A%2F%2Fe%2F1%2Fq&WaitTimeSeconds=3")
    )
    assert query is not None and query[0] == 3 and b"WaitTimeSeconds=0" in query[1]
