"""A headless Locust run against the local stack; prints requests/s, failure rate and p99.

.venv/bin/python -m loadtest.local [--users 50] [--seconds 20]
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

from local.launch import ROOT, launched


def run(users: int, seconds: int) -> dict[str, float]:
    """Start the stack, let Locust shop for `seconds`, return the aggregate figures."""
    with tempfile.TemporaryDirectory() as scratch, launched(Path(scratch, "stack.log")) as ports:
        prefix = Path(scratch, "stats")
        locust = [
            sys.executable, "-m", "locust", "-f", str(ROOT / "loadtest" / "locustfile.py"),
            "--headless", "--users", str(users), "--spawn-rate", str(users),
            "--run-time", f"{seconds}s", "--host", f"http://127.0.0.1:{ports.api}",
            "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
        ]  # fmt: skip
        subprocess.run(locust, cwd=ROOT, check=False, timeout=seconds + 120)
        with open(f"{prefix}_stats.csv") as stats:
            total = next(row for row in csv.DictReader(stats) if row["Name"] == "Aggregated")
    requests = float(total["Request Count"])
    return {
        "requests": requests,
        "requests_per_second": float(total["Requests/s"]),
        "failure_rate": float(total["Failure Count"]) / requests if requests else 1.0,
        "p99_ms": float(total["99%"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    figures = run(args.users, args.seconds)
    print(f"users: {args.users}, duration: {args.seconds}s, requests: {figures['requests']:.0f}")
    print(f"requests/s: {figures['requests_per_second']:.1f}")
    print(f"failure rate: {figures['failure_rate']:.2%}")
    print(f"p99: {figures['p99_ms']:.0f} ms")


if __name__ == "__main__":
    main()
