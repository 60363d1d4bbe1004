"""Start the whole local stack (`python -m local.stack`) on free ports, for the
tests, benchmarks and load test that need one, and stop it as Ctrl-C would."""

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
from typing import NamedTuple

from local import client

ROOT = Path(__file__).resolve().parent.parent


class Ports(NamedTuple):
    api: int
    emulator: int
    ui: int


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def launched(
    log: Path, seconds: float = 60, extra: dict[str, str] | None = None
) -> Iterator[Ports]:
    """A running stack whose output goes to `log`; raises if it does not get ready."""
    ports = Ports(free_port(), free_port(), free_port())
    env = {
        **os.environ,
        **(extra or {}),
        "API_PORT": str(ports.api),
        "EMULATOR_PORT": str(ports.emulator),
        "UI_PORT": str(ports.ui),
        # One Vite dependency cache per stack (under frontend/): two dev servers
        # pre-bundling into one cache at once can break each other.
        "VITE_CACHE_DIR": f"node_modules/.vite-{log.stem}",
    }
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "local.stack"], cwd=ROOT, env=env, stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + seconds
        while not _ready(ports, log):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"local stack did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield ports
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
    if code != 0:
        raise RuntimeError(f"local stack exited with {code}:\n{log.read_text()}")


def _ready(ports: Ports, log: Path) -> bool:
    if "ready" not in log.read_text():
        return False
    try:
        return client.call("127.0.0.1", ports.api, "GET", "/health").status == 200
    except OSError:
        return False
