"""A waiting room on the running stack (docs/waiting-room.md): shoppers join a
pre-queue, the admitter (SQS ticks, driven by the stack as its event source
mapping would) admits them in the published order at the operator's rate, and
orders need passes. The invariants: every admitted shopper was in the queue and
admission went in rank order; no order without a valid pass of its own; an
abandoned pass frees its place; sold out dismisses everyone still waiting;
stock conserved."""

from __future__ import annotations

import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import instants
from chalicelib.rooms import shuffle
from tests.stack.conftest import Stack

SHOPPERS = 40
STOCK = 20
RATE = 10
ABANDON = 3  # the first admitted shoppers who never buy: their places come back


def new_room(stack: Stack, starts_in: float) -> str:
    product_id = f"room-{uuid.uuid4().hex[:8]}"
    starts = datetime.now(UTC) + timedelta(seconds=starts_in)
    body = {
        "name": "Limited drop",
        "price": 49.0,
        "stock": STOCK,
        "checkout": "instant",
        "saleStartsAt": instants.canonical(starts),
        "waitingRoom": {"ratePerSecond": RATE, "passSeconds": 30},
    }
    reply = stack.api("PUT", f"/products/{product_id}", body)
    assert reply.status == 200, reply.body
    return product_id


def test_a_waiting_room_admits_in_the_published_order_and_sells_out(stack: Stack) -> None:
    product_id = new_room(stack, starts_in=4)
    queue = f"/products/{product_id}/queue"
    before = stack.api("GET", queue).body
    assert before["phase"] == "PREQUEUE" and before["seed"] is None
    shoppers = [f"w{n:02d}" for n in range(SHOPPERS)]

    def join(shopper: str) -> tuple[str, dict[str, Any]]:
        reply = stack.api("POST", f"{queue}/join", {"userId": shopper})
        assert reply.status == 201, reply.body
        return shopper, reply.body

    with ThreadPoolExecutor(max_workers=8) as pool:
        joined = dict(pool.map(join, shoppers))
    tickets = {s: j["ticket"] for s, j in joined.items()}
    entries = {s: j["entryId"] for s, j in joined.items()}

    # Before the start nobody gets in: no pass, no order.
    early = stack.api("POST", "/orders", {"userId": "w00", "productId": product_id, "quantity": 1})
    assert early.status in (403, 409), early.body

    def me(shopper: str) -> dict[str, Any]:
        ticket = urllib.parse.quote(tickets[shopper])
        reply = stack.api("GET", f"{queue}/me?ticket={ticket}")
        assert reply.status == 200, reply.body
        tickets[shopper] = reply.body["ticket"]
        return reply.body  # type: ignore[no-any-return]

    deadline = time.monotonic() + 90
    bought: dict[str, str] = {}
    abandoned: list[str] = []
    admitted_order: list[int] = []
    final: dict[str, str] = {}
    while time.monotonic() < deadline and len(final) < SHOPPERS:
        for shopper in shoppers:
            if shopper in final:
                continue
            place = me(shopper)
            status = place["status"]
            if status == "ADMITTED":
                admitted_order.append(place["rank"])
                if len(abandoned) < ABANDON and shopper not in abandoned:
                    abandoned.append(shopper)  # walks away with the pass
                    final[shopper] = "ABANDONED"
                    continue
                # Another shopper's pass is refused; the shopper's own buys once.
                thief = next(s for s in shoppers if s != shopper)
                stolen = stack.api(
                    "POST",
                    "/orders",
                    {
                        "userId": thief,
                        "productId": product_id,
                        "quantity": 1,
                        "admissionPass": place["pass"],
                    },
                )
                assert stolen.status == 403, stolen.body
                body = {
                    "userId": shopper,
                    "productId": product_id,
                    "quantity": 1,
                    "admissionPass": place["pass"],
                }
                order = stack.api("POST", "/orders", body)
                if order.status == 201:
                    bought[shopper] = order.body["orderId"]
                    final[shopper] = "BOUGHT"
                    # The pass is spent (or, the last unit gone, the sale is).
                    again = stack.api("POST", "/orders", body)
                    assert again.body["code"] in ("ADMISSION_REQUIRED", "OUT_OF_STOCK"), again.body
                else:
                    assert order.status == 409 and order.body["code"] == "OUT_OF_STOCK", order.body
                    final[shopper] = "SOLD_OUT"
            elif status in ("SOLD_OUT", "EXPIRED", "USED"):
                final[shopper] = status
        time.sleep(0.5)
    state = stack.api("GET", queue).body
    assert len(final) == SHOPPERS, (final, state)

    # The seed is the one committed to; ranks are the published shuffle.
    seed = bytes.fromhex(state["seed"])
    assert shuffle.commitment(seed) == before["commitment"]
    listed = stack.api("GET", f"{queue}/entries?page=0").body["entries"]
    assert sorted(listed) == sorted(entries.values())
    order = shuffle.order(seed, listed)
    rank_of = {entry: n for n, entry in enumerate(order, 1)}
    # Admission in rank order: whoever was admitted had every better rank admitted too.
    admitted_ranks = sorted(set(admitted_order))
    assert admitted_ranks == list(range(1, len(admitted_ranks) + 1))
    assert all(entries[s] in rank_of for s in final)

    # Sold out: every unit bought, the abandoned passes' places went to others,
    # and everyone still waiting was told.
    assert len(bought) == STOCK
    assert stack.stock(product_id) == 0
    assert state["phase"] == "SOLD_OUT"
    assert sum(1 for s in final.values() if s == "SOLD_OUT") == SHOPPERS - STOCK - ABANDON
    # No order without a pass: every stored order is one redeemed entry's.
    stored = stack.orders_for(product_id)
    assert sorted(o["orderId"] for o in stored) == sorted(bought.values())
    rooms = stack.dynamodb.query(
        TableName=stack.config.rooms_table,
        KeyConditionExpression="productId = :p AND begins_with(sk, :u)",
        ExpressionAttributeValues={":p": {"S": product_id}, ":u": {"S": "u#"}},
        ConsistentRead=True,
    )["Items"]
    redeemed = {i["sk"]["S"][2:]: i["redeemedBy"]["S"] for i in rooms if "redeemedBy" in i}
    assert redeemed == bought
