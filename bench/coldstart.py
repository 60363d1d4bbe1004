"""Cold start: how long `import app` takes against the floor of boto3 + chalice.

Each sample is a fresh interpreter (as a new Lambda container is); the two are
interleaved so machine noise hits both alike. Prints medians and the ratio.

    .venv/bin/python -m bench.coldstart [--runs 21]
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = (
    "import time; w, c = time.perf_counter(), time.process_time(); import {modules}; "
    "print(time.perf_counter() - w, time.process_time() - c)"
)


def sample(modules: str) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one import in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(modules=modules)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu = result.stdout.split()
    return float(wall), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    # Compiled bytecode for the app, as site-packages has for boto3 and chalice.
    compileall.compile_file(str(ROOT / "app.py"), quiet=1)
    compileall.compile_dir(str(ROOT / "chalicelib"), quiet=1)
    floor: list[tuple[float, float]] = []
    app: list[tuple[float, float]] = []
    for run in range(args.runs):
        floor.append(sample("boto3, chalice"))
        app.append(sample("app"))
        print(f"==> run {run + 1}/{args.runs}", file=sys.stderr, end="\r", flush=True)
    print(f"{'median of ' + str(args.runs):<24} {'wall ms':>8} {'cpu ms':>8}")
    for label, samples in (("import boto3 + chalice", floor), ("import app", app)):
        wall = statistics.median(s[0] for s in samples) * 1000
        cpu = statistics.median(s[1] for s in samples) * 1000
        print(f"{label:<24} {wall:>8.1f} {cpu:>8.1f}")
    ratio_wall = statistics.median(s[0] for s in app) / statistics.median(s[0] for s in floor)
    ratio_cpu = statistics.median(s[1] for s in app) / statistics.median(s[1] for s in floor)
    print(f"app / floor: {ratio_wall:.2f} wall, {ratio_cpu:.2f} cpu (target <= 1.15)")


if __name__ == "__main__":
    main()
