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
    stripe: int = 0  # localstripe (0: the stack picks)


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Free ports are picked before the stack binds them, so a stack starting beside
# this one (the tests run two at once) can take one in between: its Vite then
# answers on "our" API port. A start that meets a stranger is tried again on
# new ports rather than failing the test.
ATTEMPTS = 3


class PortTaken(Exception):
    """Something other than this stack's API answered on its port."""


@contextmanager
def launched(
    log: Path, seconds: float = 60, extra: dict[str, str] | None = None
) -> Iterator[Ports]:
    """A running stack whose output goes to `log`; raises if it does not get ready."""
    for attempt in range(1, ATTEMPTS + 1):
        ports = Ports(free_port(), free_port(), free_port(), free_port())
        process = _spawn(log, ports, extra)
        try:
            _wait_ready(process, ports, log, seconds)
        except PortTaken:
            _stop(process)
            if attempt == ATTEMPTS:
                raise
            continue
        except BaseException:
            _stop(process)
            raise
        break
    try:
        yield ports
    finally:
        code = _stop(process)
    if code != 0:
        raise RuntimeError(f"local stack exited with {code}:\n{log.read_text()}")


def _spawn(log: Path, ports: Ports, extra: dict[str, str] | None) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **(extra or {}),
        "API_PORT": str(ports.api),
        "EMULATOR_PORT": str(ports.emulator),
        "UI_PORT": str(ports.ui),
        **({"STRIPE_PORT": str(ports.stripe)} if ports.stripe else {}),
        # One Vite dependency cache per stack (under frontend/): two dev servers
        # pre-bundling into one cache at once can break each other.
        "VITE_CACHE_DIR": f"node_modules/.vite-{log.stem}",
    }
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "local.stack"], cwd=ROOT, env=env, stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip


def _wait_ready(process: subprocess.Popen[bytes], ports: Ports, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not _ready(ports, log):
        if process.poll() is not None:
            # Most often a port taken between picking and binding it.
            raise PortTaken(f"local stack exited while starting:\n{log.read_text()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"local stack did not start:\n{log.read_text()}")
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes]) -> int:
    """Stop the stack as Ctrl-C would; its exit code."""
    if process.poll() is not None:
        return process.returncode
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()


def _ready(ports: Ports, log: Path) -> bool:
    if "ready" not in log.read_text():
        return False
    try:
        answer = client.call("127.0.0.1", ports.api, "GET", "/health")
    except OSError:
        return False
    except ValueError as exc:  # not JSON: not our API
        raise PortTaken(f"port {ports.api} answers, but not as this stack's API") from exc
    return answer.status == 200
