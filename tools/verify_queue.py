"""Check a waiting room's shuffle yourself (docs/waiting-room.md, "The shuffle").

    python -m tools.verify_queue --api http://127.0.0.1:8000 --product drop --entry <entryId>
    python -m tools.verify_queue --seed <hex> --commitment <hex> --entries list.txt --entry <id>

From the API it reads the room's public state (the commitment published before
the sale, the seed revealed at its start, the list's digest) and every page of
the frozen pre-queue; offline it takes them as arguments (one entry id a line).
It checks that the seed is the one committed to and that the list is the one
whose digest was published, recomputes the order, and prints the entry's
position. Exit status 0 when everything checks, 1 when something does not.
Standard library only: nothing of FlashSale's to install or trust but the
shuffle's few lines (chalicelib/rooms/shuffle.py), which you can read.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from chalicelib.rooms import shuffle


def _get(base: str, path: str) -> Any:
    with urllib.request.urlopen(base.rstrip("/") + path, timeout=30) as response:
        return json.load(response)


def published(base: str, product_id: str) -> tuple[dict[str, Any], list[str]]:
    """The room's public state and its whole frozen list, from the API."""
    quoted = urllib.parse.quote(product_id, safe="")
    state = _get(base, f"/products/{quoted}/queue")
    entries: list[str] = []
    for page in range(int(state.get("pages") or 0)):
        entries += _get(base, f"/products/{quoted}/queue/entries?page={page}")["entries"]
    return state, entries


def verify(
    seed_hex: str, commitment: str, entries: list[str], digest: str | None, entry: str | None
) -> list[str]:
    """What does not check (empty: all of it does); prints what it found."""
    problems = []
    try:
        seed = bytes.fromhex(seed_hex)
    except ValueError:
        return ["the seed is not hex"]
    if shuffle.commitment(seed) != commitment.lower():
        problems.append("SHA-256 of the seed is not the commitment published before the sale")
    else:
        print(f"seed matches the commitment {commitment}")
    try:
        computed = shuffle.digest(entries).hex()
    except ValueError as exc:
        return [*problems, f"the list is not a set of entries: {exc}"]
    if digest is not None and computed != digest.lower():
        problems.append(f"the list's digest is {computed}, not the published {digest}")
    else:
        print(f"list of {len(entries)} entries, digest {computed}")
    if entry is not None:
        order = shuffle.order(seed, entries)
        if entry in order:
            print(f"entry {entry}: position {order.index(entry) + 1} of {len(order)}")
        else:
            problems.append(
                f"entry {entry} is not in the pre-queue (joined after the start: "
                "those queue behind it in arrival order)"
            )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", help="the shop's API base URL")
    parser.add_argument("--product", help="the product id (with --api)")
    parser.add_argument("--seed", help="the revealed seed, hex (offline)")
    parser.add_argument("--commitment", help="the commitment published before the sale (offline)")
    parser.add_argument("--digest", help="the published digest of the list (offline, optional)")
    parser.add_argument("--entries", type=Path, help="the list, one entry id a line (offline)")
    parser.add_argument("--entry", help="your entry id: prints its position")
    args = parser.parse_args(argv)
    if args.api and args.product:
        state, entries = published(args.api, args.product)
        if not state.get("seed"):
            print("the seed is revealed when the sale starts; nothing to check yet")
            return 1
        seed, commitment, digest = state["seed"], state["commitment"], state.get("digest")
    elif args.seed and args.commitment and args.entries:
        seed, commitment, digest = args.seed, args.commitment, args.digest
        entries = [line.strip() for line in args.entries.read_text().splitlines() if line.strip()]
    else:
        parser.error("give --api and --product, or --seed, --commitment and --entries")
    problems = verify(seed, commitment, entries, digest, args.entry)
    for problem in problems:
        print(f"DOES NOT CHECK: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
