"""Start the real local stack (`python -m local.stack`) once for these tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from chalicelib import settings
from local import client
from local.stack import ROOT, emulator_client, emulator_environment


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    """The running stack: HTTP helpers for the API and boto3 for the emulator."""

    host = "127.0.0.1"

    def __init__(self, api_port: int, emulator_port: int, ui_port: int) -> None:
        self.api_port = api_port
        self.ui_url = f"http://{self.host}:{ui_port}"
        self.emulator_port = emulator_port
        self.endpoint = f"http://{self.host}:{emulator_port}"
        self.dynamodb = emulator_client("dynamodb", self.endpoint)
        self.config = settings.load(emulator_environment(self.endpoint))

    def api(self, method: str, path: str, body: Any = None, **headers: str) -> client.Reply:
        return client.call(self.host, self.api_port, method, path, body, headers)

    def emulator(self, method: str, path: str, body: Any = None) -> client.Reply:
        return client.call(self.host, self.emulator_port, method, f"/_flashsale/{path}", body)

    def stock(self, product_id: str) -> int:
        item = self.dynamodb.get_item(
            TableName=self.config.products_table,
            Key={"productId": {"S": product_id}},
            ConsistentRead=True,
        )["Item"]
        return int(item["stock"]["N"])

    def orders_for(self, product_id: str) -> list[dict[str, Any]]:
        pages = self.dynamodb.get_paginator("scan").paginate(
            TableName=self.config.orders_table,
            FilterExpression="productId = :p",
            ExpressionAttributeValues={":p": {"S": product_id}},
        )
        return [
            {k: next(iter(v.values())) for k, v in item.items()}
            for page in pages
            for item in page["Items"]
        ]


@contextmanager
def running_stack(name: str) -> Iterator[Stack]:
    """`python -m local.stack` on free ports, stopped with Ctrl-C (SIGINT) after."""
    api_port, emulator_port, ui_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "API_PORT": str(api_port),
        "EMULATOR_PORT": str(emulator_port),
        "UI_PORT": str(ui_port),
    }
    log = Path(ROOT, "build", f"{name}.log")
    log.parent.mkdir(exist_ok=True)
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "local.stack"], cwd=ROOT, env=env, stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    running = Stack(api_port, emulator_port, ui_port)
    deadline = time.monotonic() + 60
    while True:
        try:
            if running.api("GET", "/health").status == 200 and "ready" in log.read_text():
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"local stack did not start:\n{log.read_text()}")
        time.sleep(0.2)
    try:
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        try:
            assert process.wait(timeout=20) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    with running_stack("stack-test") as running:
        yield running
