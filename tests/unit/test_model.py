"""The stream handlers load only the domain model, not the order path."""

import subprocess
import sys

HEAVY = (
    "chalicelib.orders",
    "chalicelib.catalog",
    "chalicelib.validation",
    "chalicelib.contract",
    "msgspec",
)


def test_importing_the_notifier_loads_no_order_path_module() -> None:
    # A fresh interpreter: this test process has long imported everything.
    script = (
        "import sys, chalicelib.notifications\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""
