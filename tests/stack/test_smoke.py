"""`make smoke`'s script against the running local stack (no sign-in there)."""

from __future__ import annotations

import subprocess
import sys

from local.launch import free_port
from local.stack import ROOT
from tests.stack.conftest import Stack


def smoke(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy.smoke", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_smoke_test_passes_against_the_local_stack(stack: Stack) -> None:
    base = f"http://{stack.host}:{stack.api_port}"
    done = smoke("--base-url", base, "--create-product")

    assert done.returncode == 0, done.stdout + done.stderr
    for check in ("GET /health", "PUT /products/smoke-test", "the catalog lists smoke-test",
                  "POST /orders as the shopper", "the order is in the shopper's list"):  # fmt: skip
        assert f"ok   {check}" in done.stdout
    order_id = done.stdout.rsplit("(order ", 1)[1].split(")")[0]
    assert order_id in {o["orderId"] for o in stack.orders_for("smoke-test")}


def test_smoke_test_fails_loudly(stack: Stack) -> None:
    base = f"http://{stack.host}:{stack.api_port}"
    missing = smoke("--base-url", base, "--product", "no-such-product")
    assert missing.returncode == 1
    assert "FAIL the catalog lists no-such-product" in missing.stderr

    nobody = smoke("--base-url", f"http://127.0.0.1:{free_port()}")
    assert nobody.returncode == 1 and "FAIL GET /health" in nobody.stderr
    # Expecting CloudFront where there is none is a failure too.
    local = smoke("--base-url", base, "--create-product", "--expect-cloudfront")
    assert local.returncode == 1 and "FAIL the catalog came through CloudFront" in local.stderr
