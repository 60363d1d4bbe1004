"""Cold start: how long `import app` takes against the floor of boto3 + chalice.

Each sample is a fresh interpreter (as a new Lambda container is); the two are
interleaved so machine noise hits both alike. Two environments:

- lambda: what a prod container imports with, the stage's variables and Lambda's
  own (LAMBDA_TASK_ROOT, a trace header), so X-Ray tracing is on;
- local: `chalice local`, tests and benches, where tracing is off.

Prints medians and the app/floor import ratios (target <= 1.10 in both). The
Powertools Tracer (the X-Ray SDK and its botocore patch) loads at a container's
first invocation, not at import; so the lambda run also times that first
invocation (GET /health) with tracing on and off: the difference is what the
Tracer adds to every cold start, wherever it is paid.

Wall-clock medians move by several percent on a busy machine; `--instructions`
counts instructions under valgrind instead (slow, but the same every run), the
interpreter's own start-up subtracted.

    .venv/bin/python -m bench.coldstart [--runs 21] [--instructions]
"""

from __future__ import annotations

import argparse
import compileall
import functools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.10
FLOOR = "import boto3, chalice"
APP = "import app"
TIMED = (
    "import time; w, c = time.perf_counter(), time.process_time(); {code}; "
    "print(time.perf_counter() - w, time.process_time() - c)"
)
# A container's first API invocation, after `import app` (no AWS call is made):
# GET /health, or a product id the contract refuses (400), which is the first
# request to load the contract and msgspec (app.py imports them on first use).
FIRST_INVOCATION = """
import time
import app
event = {
    "resource": "%(resource)s", "path": "%(path)s", "httpMethod": "GET",
    "headers": {}, "multiValueHeaders": {}, "queryStringParameters": None,
    "multiValueQueryStringParameters": None, "pathParameters": %(parameters)s,
    "stageVariables": None, "body": None, "isBase64Encoded": False,
    "requestContext": {"resourcePath": "%(resource)s", "httpMethod": "GET",
                       "path": "/api%(path)s", "requestId": "bench"},
}
class Context:
    aws_request_id = "bench"
    function_name = "flashsale-prod"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:x"
    def get_remaining_time_in_millis(self):
        return 10000
w, c = time.perf_counter(), time.process_time()
assert app.app(event, Context())["statusCode"] == %(status)s
print(time.perf_counter() - w, time.process_time() - c)
"""
HEALTH = FIRST_INVOCATION % {
    "resource": "/health",
    "path": "/health",
    "parameters": None,
    "status": 200,
}
CHECKED = FIRST_INVOCATION % {
    "resource": "/products/{productId}",
    "path": "/products/%20",
    "parameters": {"productId": "%20"},
    "status": 400,
}


def lambda_environment(stage: str = "prod", tracing: bool = True) -> dict[str, str]:
    """The variables a deployed API function starts with (no AWS call is made)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = {**os.environ, **config.get("environment_variables", {})}
    env.update(config["stages"][stage]["environment_variables"])
    env.update(
        LAMBDA_TASK_ROOT=str(ROOT),
        AWS_LAMBDA_FUNCTION_NAME=f"flashsale-{stage}",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1024",
        AWS_REGION="us-east-1",
        _X_AMZN_TRACE_ID="Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1",
        POWERTOOLS_TRACE_DISABLED="false" if tracing else "true",
        PYTHONHASHSEED="0",
    )
    return env


def local_environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    for name in ("LAMBDA_TASK_ROOT", "AWS_LAMBDA_FUNCTION_NAME", "_X_AMZN_TRACE_ID"):
        env.pop(name, None)
    return env


def timed(code: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of `code` (printing them) in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    wall, cpu = result.stdout.split()[-2:]
    return float(wall), float(cpu)


def instructions(code: str, env: dict[str, str]) -> int:
    """Instructions a fresh interpreter runs for `code`, counted by valgrind."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    result = subprocess.run(
        [*command, sys.executable, "-c", code],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(re.findall(r"Collected : (\d+)", result.stderr)[-1])


def medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def compare(
    label: str, runs: int, env: dict[str, str], floor: Callable[[], tuple[float, float]],
    app: Callable[[], tuple[float, float]],
) -> None:  # fmt: skip
    floor_samples, app_samples = [], []
    for run in range(runs):
        floor_samples.append(floor())
        app_samples.append(app())
        print(f"==> {label} run {run + 1}/{runs}", file=sys.stderr, end="\r", flush=True)
    (floor_wall, floor_cpu), (app_wall, app_cpu) = medians(floor_samples), medians(app_samples)
    print(f"{label + ': median of ' + str(runs):<40} {'wall ms':>8} {'cpu ms':>8}")
    print(f"  {'import boto3 + chalice':<38} {floor_wall * 1000:>8.1f} {floor_cpu * 1000:>8.1f}")
    print(f"  {'import app':<38} {app_wall * 1000:>8.1f} {app_cpu * 1000:>8.1f}")
    print(
        f"  app / floor: {app_wall / floor_wall:.2f} wall, {app_cpu / floor_cpu:.2f} cpu"
        f" (target <= {TARGET:.2f})"
    )


def first_invocation(runs: int) -> None:
    """What the lazily loaded Tracer adds to a container's first invocation."""
    on, off = lambda_environment(), lambda_environment(tracing=False)
    traced = [timed(HEALTH, on) for _ in range(runs)]
    untraced = [timed(HEALTH, off) for _ in range(runs)]
    print(f"{'first GET /health: median of ' + str(runs):<40} {'wall ms':>8} {'cpu ms':>8}")
    for name, samples in (("tracing off", untraced), ("tracing on (Tracer loads)", traced)):
        wall, cpu = medians(samples)
        print(f"  {name:<38} {wall * 1000:>8.1f} {cpu * 1000:>8.1f}")


def count_instructions() -> None:
    """The same comparisons in instructions (deterministic), start-up subtracted."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind")
    on, off, local = lambda_environment(), lambda_environment(tracing=False), local_environment()
    base = instructions("pass", local)
    floor = instructions(FLOOR, local) - base
    rows = [
        ("import app, local", instructions(APP, local) - base),
        ("import app, lambda", instructions(APP, on) - base),
        ("import app + first GET /health, tracing off", instructions(HEALTH, off) - base),
        ("import app + first GET /health, tracing on", instructions(HEALTH, on) - base),
        ("import app + first checked request, tracing off", instructions(CHECKED, off) - base),
        ("import app + first checked request, tracing on", instructions(CHECKED, on) - base),
    ]
    print(f"instructions (millions, python start-up of {base / 1e6:.1f} M subtracted)")
    print(f"  {'import boto3 + chalice (floor)':<46} {floor / 1e6:>8.1f}")
    for name, count in rows:
        print(f"  {name:<46} {count / 1e6:>8.1f}  {count / floor:.3f} x floor")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--instructions", action="store_true", help="count under valgrind")
    args = parser.parse_args()
    # Compiled bytecode for the app, as site-packages has for boto3 and chalice.
    compileall.compile_file(str(ROOT / "app.py"), quiet=1)
    compileall.compile_dir(str(ROOT / "chalicelib"), quiet=1)
    if args.instructions:
        count_instructions()
        return
    for label, env in (("lambda", lambda_environment()), ("local", local_environment())):
        compare(
            label,
            args.runs,
            env,
            functools.partial(timed, TIMED.format(code=FLOOR), env),
            functools.partial(timed, TIMED.format(code=APP), env),
        )
    first_invocation(args.runs)


if __name__ == "__main__":
    main()
