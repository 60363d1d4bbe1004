"""The stack's localstripe (local/stripe.py): its deliveries are counted until
they reach the webhook, so a test can wait for Stripe to go quiet."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from subprocess import DEVNULL
from typing import Any

import pytest
import stripe

from local import stripe as local_stripe
from local.launch import free_port
from local.stack import start_stripe


class Endpoint:
    """A webhook endpoint answering `status`, keeping each event's type."""

    def __init__(self) -> None:
        self.status = 503
        self.events: list[str] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if endpoint.status == 200:
                    endpoint.events.append(json.loads(body)["type"])
                self.send_response(endpoint.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    hook = Endpoint()
    yield hook
    hook.server.shutdown()


@pytest.fixture
def base(endpoint: Endpoint) -> Iterator[str]:
    child, url = start_stripe(
        "127.0.0.1", free_port(), endpoint.url, dict(os.environ), stdout=DEVNULL, stderr=DEVNULL
    )
    yield url
    child.terminate()
    child.wait(timeout=10)


def pending(base: str) -> int:
    with urllib.request.urlopen(f"{base}/_config/deliveries", timeout=5) as answer:
        return int(json.loads(answer.read())["pending"])


def test_an_event_counts_as_pending_until_the_webhook_takes_it(
    base: str, endpoint: Endpoint
) -> None:
    assert pending(base) == 0
    client = stripe.StripeClient(local_stripe.SECRET_KEY, base_addresses={"api": base})
    client.v1.customers.create({"email": "a@example.com"})
    assert pending(base) >= 1  # the first attempt waits a second, as Stripe's may

    # Refused (503): the event stays pending for its retry.
    time.sleep(sum(local_stripe.RETRY_DELAYS[:2]) + 0.5)
    assert pending(base) >= 1 and endpoint.events == []

    endpoint.status = 200
    deadline = time.monotonic() + 10
    while pending(base) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pending(base) == 0
    assert endpoint.events == ["customer.created"]
