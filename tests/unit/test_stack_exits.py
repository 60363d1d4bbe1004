"""A stack that stops on its own names the process that stopped it (CI once
saw only "a service exited", and no way to tell which)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from local.launch import free_port
from local.stack import exited_children, wait_for


def python(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code])


def test_the_exited_process_is_named_with_its_code_or_signal() -> None:
    running, failed, killed = (python(c) for c in (
        "import time; time.sleep(60)", "raise SystemExit(3)", "import time; time.sleep(60)"))  # fmt: skip
    try:
        children = {"API": running, "hold releasers": failed, "localstripe": killed}
        failed.wait(timeout=10)
        assert exited_children({"API": running}) == ""
        killed.kill()
        killed.wait(timeout=10)
        assert exited_children(children) == (
            "hold releasers (exit code 3), localstripe (exit code -9, SIGKILL)"
        )
    finally:
        for child in (running, failed, killed):
            child.kill()
            child.wait(timeout=10)


def test_a_process_that_ends_while_starting_is_named() -> None:
    failed = python("raise SystemExit(3)")
    failed.wait(timeout=10)
    with pytest.raises(SystemExit, match=r"^localstripe \(exit code 3\) exited while starting$"):
        wait_for(f"http://127.0.0.1:{free_port()}/", failed, "localstripe", seconds=5)
