"""The Chalice developer's own path: `make emulator`, then a plain
`chalice local --stage local` in a shell with no AWS settings at all; and what
`chalice local` says when there is no emulator, or when it runs stage dev."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from local import client
from local.launch import free_port
from local.stack import port_free
from local.stage import ENDPOINT, ROOT, environment

CHALICE = Path(sys.executable).parent / "chalice"
# The local stage's own endpoint: what a plain `chalice local --stage local` uses.
STAGE_ENDPOINT = environment()[ENDPOINT]
STAGE_PORT = int(STAGE_ENDPOINT.rsplit(":", 1)[1])


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """A shell with no AWS variables and no ~/.aws."""
    return {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8"}


@pytest.fixture
def stage_port_free() -> None:
    if not port_free("127.0.0.1", STAGE_PORT):
        pytest.skip(f"port {STAGE_PORT} (the local stage's emulator) is in use")


@contextmanager
def process(
    args: list[str], env: dict[str, str], log: Path, ready: Callable[[], bool]
) -> Iterator[None]:
    """`args` running until `ready()`, its output in `log`, stopped with Ctrl-C."""
    with log.open("w") as output:
        child = subprocess.Popen(
            args, cwd=ROOT, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not ready():
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{args} did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def chalice_local(
    env: dict[str, str], log: Path, *stage: str
) -> tuple[int, AbstractContextManager[None]]:
    port = free_port()
    args = [str(CHALICE), "local", *stage, "--no-autoreload", "--port", str(port)]

    def serving() -> bool:
        try:
            return client.call("127.0.0.1", port, "GET", "/health", timeout=2).status == 200
        except OSError:
            return False

    return port, process(args, env, log, serving)


def test_plain_chalice_local_runs_against_make_emulator(
    stage_port_free: None, clean_env: dict[str, str], tmp_path: Path
) -> None:
    # GIVEN `make emulator` (tables, seed, notifier) on the local stage's endpoint
    emulator = [sys.executable, "-m", "local.stack", "--emulator-only"]
    emulator_env = {**clean_env, "EMULATOR_PORT": str(STAGE_PORT)}
    log = tmp_path / "emulator.log"
    with process(emulator, emulator_env, log, lambda: "ready;" in log.read_text()):
        # WHEN `chalice local --stage local` starts in a shell with no AWS settings
        port, running = chalice_local(clean_env, tmp_path / "api.log", "--stage", "local")
        with running:
            products = client.call("127.0.0.1", port, "GET", "/products")
            # THEN it serves the seeded catalog and takes an order
            assert products.status == 200, products.body
            assert products.body["count"] > 0
            # (an instant product: pay products are confirmed by Stripe's webhook)
            product = next(
                p for p in products.body["products"] if p["stock"] > 0 and "checkout" not in p
            )
            order = {
                "userId": "dev-path@example.com",
                "productId": product["productId"],
                "quantity": 1,
            }
            placed = client.call("127.0.0.1", port, "POST", "/orders", order)
            assert placed.status == 201, placed.body
            assert placed.body["status"] == "CONFIRMED"
            # AND the emulator's notifier and mailer confirm it, as under `make run`
            order_id = placed.body["orderId"]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                said = [line for line in log.read_text().splitlines() if order_id in line]
                if any("SNS" in line for line in said) and any("email" in line for line in said):
                    break
                time.sleep(0.2)
            else:
                raise AssertionError(f"order {order_id} not confirmed:\n{log.read_text()}")
    assert "Traceback" not in (tmp_path / "api.log").read_text()


def test_without_the_emulator_every_route_says_how_to_start_it(
    stage_port_free: None, clean_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "api.log"
    port, running = chalice_local(clean_env, log, "--stage", "local")
    with running:
        replies = [
            client.call("127.0.0.1", port, "GET", "/products"),
            client.call("127.0.0.1", port, "GET", "/users/u-1/orders"),
            client.call(
                "127.0.0.1",
                port,
                "POST",
                "/orders",
                {"userId": "u-1", "productId": "p", "quantity": 1},
            ),
        ]
    for reply in replies:
        assert reply.status == 503, reply.body
        assert set(reply.body) == {"code", "message"}
        assert reply.body["code"] == "EMULATOR_UNREACHABLE"
        assert STAGE_ENDPOINT in reply.body["message"]
        assert "make emulator" in reply.body["message"]
    output = log.read_text()
    assert "Traceback" not in output
    said = [line for line in output.splitlines() if "make emulator" in line]
    assert len(said) == 1, output


def test_chalice_local_on_stage_dev_names_the_local_stage(
    clean_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "api.log"
    port, running = chalice_local(clean_env, log)  # Chalice's default stage: dev
    with running:
        replies = [client.call("127.0.0.1", port, "GET", "/products") for _ in range(2)]
    for reply in replies:
        assert reply.status == 503, reply.body
        assert set(reply.body) == {"code", "message"}
        assert "chalice local --stage local" in reply.body["message"]
    output = log.read_text()
    assert "Traceback" not in output
    said = [line for line in output.splitlines() if "--stage local" in line]
    assert len(said) == 1, output
