"""python -m local.emulator [--host H] [--port P]: the emulator alone, in the foreground."""

from __future__ import annotations

import argparse
import threading

import local.emulator
from local.emulator.server import Emulator


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m local.emulator",
        description=(local.emulator.__doc__ or "").splitlines()[0],
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args()
    emulator = Emulator(args.host, args.port).start()
    print(f"AWS emulator on {emulator.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        emulator.stop()


if __name__ == "__main__":
    main()
