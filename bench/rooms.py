"""A waiting room on the local stack (docs/waiting-room.md): what waiting costs
per shopper, and whether admission follows the published shuffle.

Starts the whole local stack and runs one drop:

  join     N shoppers (20,000) join the pre-queue over HTTP from C threads;
           DynamoDB requests per join, as the emulator counts them for the API
           process (AWS_SDK_UA_APP_ID).
  poll     P polls of the public state from C threads: DynamoDB requests per
           poll (the container's one-second copy of the room answers them).
  freeze   the sale starts: the admitter (the stack's tick queue consumer)
           freezes and shuffles the pre-queue; its DynamoDB requests and time.
  me       every shopper's first personal call (it learns its rank); the ranks
           are checked against the shuffle recomputed from the published seed
           and list (tools.verify_queue's function), all N of them.
  admit    shoppers whose turn came buy, some walk away (and those whose pass
           ran out during the first calls); checks admission went in rank order
           and sold out told everyone still waiting; reports the admitter's own
           count of passes out against the units left.

Then prints the requests per waiting shopper per minute at the UI's poll
interval and what 100,000 waiting shoppers would cost per hour at list prices.

    make bench-rooms   # or: .venv/bin/python -m bench.rooms [--shoppers 20000]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.orders import drive, say
from chalicelib import instants
from chalicelib.rooms import shuffle
from local import client
from local.launch import Ports, launched
from local.stack import ROOT

API, ADMITTER = "flashsale-api", "flashsale-releasers"
# List prices the design's cost table uses (docs/waiting-room.md, us-east-1, as
# AWS published them in 2025; not re-checked here).
CLOUDFRONT_PER_REQUEST = 0.0100 / 10_000
WAF_PER_REQUEST = 0.60 / 1_000_000
API_GATEWAY_PER_REQUEST = 3.50 / 1_000_000
DYNAMODB_PER_WRITE = 0.625 / 1_000_000
DYNAMODB_PER_READ = 0.125 / 1_000_000
# The origin sees about one poll a second per CloudFront regional cache (1 s TTL).
REGIONAL_CACHES = 13


class Stack:
    def __init__(self, ports: Ports) -> None:
        self.ports = ports

    def api(self, method: str, path: str, body: Any = None) -> client.Reply:
        return client.call("127.0.0.1", self.ports.api, method, path, body)

    def requests(self, app: str) -> dict[str, int]:
        stats = client.call("127.0.0.1", self.ports.emulator, "GET", "/_flashsale/stats").body
        return dict(stats["dynamodbByApp"].get(app, {}))

    def reset(self) -> None:
        client.call("127.0.0.1", self.ports.emulator, "POST", "/_flashsale/stats/reset")


def poll_interval(position: int, rate: int) -> float:
    """The UI's wait between polls (frontend: near the front 2 s, far back 15 s)."""
    return min(15.0, max(2.0, position / rate / 10))


def main() -> None:
    parser = argparse.ArgumentParser(description="FlashSale waiting-room bench")
    parser.add_argument("--shoppers", type=int, default=20_000)
    parser.add_argument("--polls", type=int, default=5_000)
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--rate", type=int, default=100, help="admissions a second")
    parser.add_argument("--walk", type=float, default=0.2, help="admitted who never buy")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    log = Path(ROOT, "build", "bench-rooms.log")
    say(f"starting the local stack (log: {log.relative_to(ROOT)})")
    with launched(log, seconds=120) as ports:
        stack = Stack(ports)
        figures = run(stack, args)
    report(args, figures)


def run(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    product_id = f"drop-{uuid.uuid4().hex[:6]}"
    product = {
        "name": "Waiting-room bench",
        "price": 25.0,
        "stock": args.units,
        "checkout": "instant",
        "saleStartsAt": instants.canonical(datetime.now(UTC) + timedelta(hours=1)),
        "waitingRoom": {"ratePerSecond": args.rate, "passSeconds": 60},
    }
    assert stack.api("PUT", f"/products/{product_id}", product).status == 200
    queue = f"/products/{product_id}/queue"
    before = stack.api("GET", queue).body
    shoppers = [f"q{n:05d}" for n in range(args.shoppers)]
    tickets: list[str] = [""] * len(shoppers)
    entries: list[str] = [""] * len(shoppers)
    figures: dict[str, Any] = {"commitment": before["commitment"]}

    say(f"join: {args.shoppers} shoppers, {args.concurrency} at a time")
    stack.reset()

    def join(i: int) -> int:
        reply = stack.api("POST", f"{queue}/join", {"userId": shoppers[i]})
        if reply.status == 201:
            tickets[i], entries[i] = reply.body["ticket"], reply.body["entryId"]
        return reply.status

    figures["join"] = drive("join", args.shoppers, args.concurrency, join)
    figures["join_requests"] = stack.requests(API)

    say(f"poll: {args.polls} polls of the public state")
    stack.reset()
    figures["poll"] = drive(
        "poll", args.polls, args.concurrency, lambda i: stack.api("GET", queue).status
    )
    figures["poll_requests"] = stack.requests(API)

    say("the sale starts in 3 s: freeze and shuffle")
    product["saleStartsAt"] = instants.canonical(datetime.now(UTC) + timedelta(seconds=3))
    assert stack.api("PUT", f"/products/{product_id}", product).status == 200
    stack.reset()
    started = time.monotonic()
    while (state := stack.api("GET", queue).body)["seed"] is None:
        assert time.monotonic() - started < 300, "the pre-queue was not frozen within 300 s"
        time.sleep(0.2)
    figures["freeze_seconds"] = time.monotonic() - started - 3
    figures["freeze_requests"] = stack.requests(ADMITTER)
    figures["state"] = state

    say("me: every shopper's first personal call, checked against the published shuffle")
    stack.reset()
    ranks: list[int] = [0] * len(shoppers)

    def me(i: int) -> int:
        reply = stack.api("GET", f"{queue}/me?ticket={urllib.parse.quote(tickets[i])}")
        tickets[i] = reply.body["ticket"]
        ranks[i] = reply.body["rank"]
        return reply.status

    figures["me"] = drive("me", args.shoppers, args.concurrency, me)
    figures["me_requests"] = stack.requests(API)
    listed: list[str] = []
    for page in range(state["pages"]):
        listed += stack.api("GET", f"{queue}/entries?page={page}").body["entries"]
    seed = bytes.fromhex(state["seed"])
    published = shuffle.order(seed, listed)
    figures["verified"] = (
        shuffle.commitment(seed) == before["commitment"]
        and shuffle.digest(listed).hex() == state["digest"]
        and sorted(listed) == sorted(entries)
        and all(published[ranks[i] - 1] == entries[i] for i in range(len(shoppers)))
    )

    say("admit: the front of the queue buys when admitted; some walk away")
    figures.update(admit(stack, args, product_id, shoppers, tickets, ranks))
    return figures


def admit(
    stack: Stack,
    args: argparse.Namespace,
    product_id: str,
    shoppers: list[str],
    tickets: list[str],
    ranks: list[int],
) -> dict[str, Any]:
    """Shoppers whose turn has come look (their personal call) and buy, or walk
    away; until the units are gone. Those whose pass ran out before they looked
    (the bench's first personal calls take a while) count as walked away too."""
    queue = f"/products/{product_id}/queue"
    by_rank = sorted(range(len(shoppers)), key=lambda i: ranks[i])
    rng = random.Random(7)
    walks = {i for i in by_rank if rng.random() < args.walk}
    outcome: dict[int, str] = {}
    out_of_order: list[tuple[int, str, int, int]] = []
    outstanding_peak = 0
    started = time.monotonic()
    while time.monotonic() - started < 600:
        before = stack.api("GET", queue).body
        room = stack.api("GET", f"/admin/rooms/{product_id}").body
        outstanding_peak = max(outstanding_peak, room["outstanding"] - room["unitsLeft"])
        turn = [i for i in by_rank[: before["admittedThrough"]] if i not in outcome]
        if before["phase"] == "SOLD_OUT" and not turn:
            break
        # A few behind the line look too: they must still be waiting.
        behind = set(by_rank[before["admittedThrough"] : before["admittedThrough"] + 5])
        seen: dict[int, str] = {}

        def look(i: int, behind: set[int] = behind, seen: dict[int, str] = seen) -> None:
            reply = stack.api("GET", f"{queue}/me?ticket={urllib.parse.quote(tickets[i])}")
            seen[i] = status = reply.body["status"]
            if status == "ADMITTED" and i not in behind:
                if i in walks:
                    outcome[i] = "walked"
                    return
                body = {
                    "userId": shoppers[i],
                    "productId": product_id,
                    "quantity": 1,
                    "admissionPass": reply.body["pass"],
                }
                order = stack.api("POST", "/orders", body)
                outcome[i] = "bought" if order.status == 201 else order.body["code"]
            elif status in ("EXPIRED", "USED") and i not in behind:
                outcome[i] = status

        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            list(pool.map(look, [*turn, *sorted(behind)]))
        after = stack.api("GET", queue).body
        # Admission in rank order: a turn came only to ranks the room had reached,
        # and every rank it had reached before the look had its turn.
        for i, status in seen.items():
            turned = status in ("ADMITTED", "EXPIRED", "USED")
            if turned and ranks[i] > after["admittedThrough"]:
                out_of_order.append((ranks[i], status, before["admittedThrough"], 0))
            if status == "WAITING" and ranks[i] <= before["admittedThrough"]:
                out_of_order.append((ranks[i], status, before["admittedThrough"], 1))
        time.sleep(0.5)
    seconds = time.monotonic() - started
    # Whoever is still waiting is told: a sample of the back of the queue.
    told = [
        stack.api("GET", f"{queue}/me?ticket={urllib.parse.quote(tickets[i])}").body["status"]
        for i in by_rank[-200:]
    ]
    counts: dict[str, int] = {}
    for o in outcome.values():
        counts[o] = counts.get(o, 0) + 1
    return {
        "admit_seconds": seconds,
        "bought": counts.get("bought", 0),
        "walked": counts.get("walked", 0) + counts.get("EXPIRED", 0),
        "outcomes": dict(sorted(counts.items())),
        "in_rank_order": not out_of_order,
        "out_of_order": out_of_order[:5],
        "admitted": len(outcome),
        "passes_over_units": outstanding_peak,
        "back_told": {s: told.count(s) for s in set(told)},
        "final": stack.api("GET", queue).body,
    }


def report(args: argparse.Namespace, f: dict[str, Any]) -> None:
    n = args.shoppers
    join_calls = sum(f["join_requests"].values())
    poll_calls = sum(f["poll_requests"].values())
    me_calls = sum(f["me_requests"].values())
    print(
        f"join: {f['join'].accepted} of {n} joined at {f['join'].rate:.0f}/s "
        f"(p50 {f['join'].percentile(50):.0f} ms, p99 {f['join'].percentile(99):.0f} ms); "
        f"DynamoDB requests per join {join_calls / n:.3f} {f['join_requests']}"
    )
    answered = f["poll"].statuses.get(200, 0)
    print(
        f"poll: {answered} polls answered at {answered / f['poll'].seconds:.0f}/s "
        f"(p99 {f['poll'].percentile(99):.0f} ms); DynamoDB requests per "
        f"poll {poll_calls / args.polls:.4f} ({poll_calls} in {f['poll'].seconds:.1f} s: "
        f"{poll_calls / f['poll'].seconds:.2f}/s) {f['poll_requests']}"
    )
    freeze = sum(f["freeze_requests"].values())
    print(
        f"freeze: {f['state']['preCount']} entries shuffled and ranked in "
        f"{f['freeze_seconds']:.1f} s, {freeze} DynamoDB requests by the admitter "
        f"{f['freeze_requests']}"
    )
    print(f"me: DynamoDB requests per first personal call {me_calls / n:.3f} {f['me_requests']}")
    print(
        f"shuffle: every rank equals the published shuffle recomputed from seed and list: "
        f"{f['verified']}"
    )
    print(
        f"admit: {f['admitted']} turns in {f['admit_seconds']:.0f} s, in rank order: "
        f"{f['in_rank_order']} {f['out_of_order']}; {f['bought']} bought of {args.units} "
        f"units, {f['walked']} "
        f"walked away (their places went on); outcomes {f['outcomes']}; the admitter's "
        f"(conservative) count of passes out exceeded the units left by at most "
        f"{f['passes_over_units']} (it admits nobody then); back of the queue told "
        f"{f['back_told']}; final phase {f['final']['phase']}"
    )
    # Per waiting shopper per minute, at the UI's intervals over a queue of 100,000.
    crowd = 100_000
    polls_per_minute = sum(60 / poll_interval(p, args.rate) for p in range(1, crowd + 1)) / crowd
    ddb_per_poll = poll_calls / args.polls
    print(
        f"per waiting shopper per minute (a queue of {crowd:,}, {args.rate}/s admitted): "
        f"{polls_per_minute:.2f} polls at the UI's interval, "
        f"{polls_per_minute * ddb_per_poll:.4f} DynamoDB requests even if every poll reached "
        f"the origin (behind CloudFront's 1 s cache, ~0); once: "
        f"{join_calls / n:.2f} for the join, {me_calls / n:.2f} per personal call"
    )
    hourly_polls = crowd * polls_per_minute * 60
    origin = REGIONAL_CACHES * 3600 + 100_000 * (1 + 2)  # edge misses + join and two /me
    cost = {
        "CloudFront": hourly_polls * CLOUDFRONT_PER_REQUEST,
        "WAF": hourly_polls * WAF_PER_REQUEST,
        "API Gateway": origin * API_GATEWAY_PER_REQUEST,
        "DynamoDB writes": 100_000 * join_calls / n * 1 * DYNAMODB_PER_WRITE * 2,
        "DynamoDB reads": (origin * ddb_per_poll + 100_000 * 2 * me_calls / n) * DYNAMODB_PER_READ,
    }
    print(
        f"100,000 waiting shoppers, one hour (list prices, docs/waiting-room.md): "
        f"${sum(cost.values()):.2f} " + ", ".join(f"{k} ${v:.2f}" for k, v in cost.items())
    )
    ok = f["verified"] and f["in_rank_order"] and f["final"]["phase"] == "SOLD_OUT"
    ok = ok and f["bought"] == args.units
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
