"""A stack that stops on its own names the process that stopped it (CI once
saw only "a service exited", and no way to tell which)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from local.launch import free_port
from local.stack import emulator_environment, exited_children, wait_for


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


def test_a_child_that_crashes_below_python_leaves_a_traceback() -> None:
    # The stack's children get faulthandler through their environment: a
    # segfault names the line, where it said nothing before.
    crash = subprocess.run(
        [sys.executable, "-c", "import ctypes\nctypes.string_at(0)"],
        env=emulator_environment("http://127.0.0.1:1"),
        capture_output=True,
        timeout=30,
    )
    assert crash.returncode < 0
    assert b"Fatal Python error: Segmentation fault" in crash.stderr, crash.stderr
    assert b'File "<string>", line 2' in crash.stderr
