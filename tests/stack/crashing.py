"""The crashing API (tests/stack/crashing_api.py) started for a test, on the
stack's emulator: what test_faults.py and test_payments.py kill mid-order."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from local import client
from local.launch import free_port
from local.stack import ROOT, emulator_environment


@contextmanager
def crashing_api(endpoint: str, crash_after: int, stripe_base: str | None = None) -> Iterator[int]:
    """The port of an API process that dies (os._exit(9)) the moment its
    `crash_after`th order commits, once it answers /health. The block must make
    it crash: leaving it, the process has exited 9 within 10 s (it is killed
    whatever happens)."""
    port = free_port()
    env = {**emulator_environment(endpoint, stripe_base=stripe_base), "PYTHONPATH": str(ROOT)}
    env.pop("AWS_SDK_UA_APP_ID", None)
    command = [sys.executable, "-m", "tests.stack.crashing_api", "--port", str(port),
               "--crash-after", str(crash_after)]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not _healthy(port):
            assert time.monotonic() < deadline, "the crashing API did not start"
            time.sleep(0.1)
        yield port
        assert process.wait(timeout=10) == 9
    finally:
        if process.poll() is None:
            process.kill()


def _healthy(port: int) -> bool:
    try:
        return client.call("127.0.0.1", port, "GET", "/health").status == 200
    except OSError:
        return False
