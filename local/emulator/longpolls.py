"""SQS long polls, waited out outside the one lock.

moto waits out a ReceiveMessage's WaitTimeSeconds inside the request, which
here would hold the lock and stop every other client. So the local pollers used
to poll short, ten times a second each, and an idle stack spent 40% of a core
answering empty receives (bench/holds.py). This layer takes the wait out of the
request, asks moto without it, and when nothing came back sleeps until the
queue's next message is due (a delay or a visibility timeout ending), a message
is sent to any queue, or the wait is over; then it asks again. The client sees
SQS's long poll: an answer as soon as there is a message, else an empty one at
the end of the wait. Both of SQS's protocols (JSON, and the query protocol of
older SDKs) are waited out here.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from moto.core.utils import unix_time_millis
from moto.sqs.models import sqs_backends

from local.emulator import wsgi
from local.emulator.wsgi import Environ, StartResponse, WSGIApp

# Requests after which a waiting poll asks again: a message may have come.
_SENDS = re.compile(r"SendMessage|ChangeMessageVisibility|Publish")
_QUERY_SENDS = re.compile(rb"(?:^|&)Action=(?:SendMessage|ChangeMessageVisibility|Publish)")
_REGION = re.compile(r"Credential=[^/]+/\d+/([^/]+)/")
# Asked again at least this often whatever the queue says (a message that came
# some way this layer does not see), and never sooner than this.
LONGEST_SLEEP = 1.0
SHORTEST_SLEEP = 0.005

Locked = Callable[[Callable[[], Any]], Any]


class LongPolls:
    """ReceiveMessage's WaitTimeSeconds outside `app`'s lock (`locked` runs a
    function under that lock, to look at moto's queue)."""

    def __init__(self, app: WSGIApp, locked: Locked) -> None:
        self._app = app
        self._locked = locked
        self._sent = threading.Condition()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        poll = long_poll(environ)
        if poll is not None:
            return self._wait(environ, start_response, *poll)
        reply = self._app(environ, start_response)
        if sends(environ):
            with self._sent:
                self._sent.notify_all()
        return reply

    def _wait(
        self, environ: Environ, start_response: StartResponse, wait: float, once: bytes, url: str
    ) -> Iterable[bytes]:
        deadline = time.monotonic() + wait
        found = _REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
        region = found.group(1) if found else None
        while True:
            asked = unix_time_millis()
            captured: list[tuple[str, list[tuple[str, str]]]] = []
            asking = wsgi.with_body(environ, once)
            body = b"".join(self._app(asking, functools.partial(_capture, captured)))
            left = deadline - time.monotonic()
            got = b'"Messages"' in body or b"<Message>" in body
            if got or left <= 0 or not captured[0][0].startswith("200"):
                start_response(*captured[0])
                return [body]
            due = self._locked(functools.partial(next_due, url, region, asked))
            with self._sent:
                self._sent.wait(max(SHORTEST_SLEEP, min(left, due, LONGEST_SLEEP)))


def _capture(into: list[Any], status: str, headers: list[tuple[str, str]], *exc: Any) -> None:
    into.append((status, headers))


def long_poll(environ: Environ) -> tuple[float, bytes, str] | None:
    """A ReceiveMessage with a wait: the wait, the same request without it, the
    queue's URL. None for any other request."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target == "AmazonSQS.ReceiveMessage":
        request = json.loads(wsgi.body(environ) or b"{}")
        wait = float(request.get("WaitTimeSeconds") or 0)
        once = json.dumps({**request, "WaitTimeSeconds": 0}).encode()
        return (wait, once, str(request.get("QueueUrl", ""))) if wait > 0 else None
    if target or environ.get("REQUEST_METHOD") != "POST":
        return None
    body = wsgi.body(environ)
    if b"Action=ReceiveMessage" not in body:
        return None
    form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
    wait = float((form.get("WaitTimeSeconds") or ["0"])[0] or 0)
    form["WaitTimeSeconds"] = ["0"]
    url = (form.get("QueueUrl") or [environ.get("PATH_INFO", "")])[0]
    once = urllib.parse.urlencode(form, doseq=True).encode()
    return (wait, once, url) if wait > 0 else None


def sends(environ: Environ) -> bool:
    """Whether a request may have put a message on a queue (SNS delivers to its
    SQS subscribers in the publish)."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.startswith("AmazonSQS.") and bool(_SENDS.search(target))
    return environ.get("REQUEST_METHOD") == "POST" and bool(_QUERY_SENDS.search(wsgi.body(environ)))


def next_due(queue_url: str, region: str | None, asked: float) -> float:
    """Seconds until the queue's next message becomes visible, counting only
    those that were not yet visible at `asked` (epoch ms: a message visible then
    but not received cannot be received now); LONGEST_SLEEP if it has none, or
    the queue cannot be found. Call under the emulator's lock."""
    path = urllib.parse.urlparse(queue_url).path.strip("/").split("/")
    if len(path) != 2 or region is None:
        return LONGEST_SLEEP
    account, name = path
    queue = sqs_backends[account][region].queues.get(name)
    if queue is None:
        return LONGEST_SLEEP
    times = [t for m in queue._messages if (t := max(m.visible_at, m.delayed_until)) > asked]
    return max(0.0, (min(times) - unix_time_millis()) / 1000) if times else LONGEST_SLEEP
