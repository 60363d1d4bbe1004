"""A stack that stops on its own names the process that stopped it (CI once
saw only "a service exited", and no way to tell which)."""

from __future__ import annotations

import subprocess
import sys

from local.stack import exited_children


def test_the_exited_process_is_named_with_its_code_or_signal() -> None:
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    failed = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    killed = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
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
        running.kill()
        running.wait(timeout=10)
