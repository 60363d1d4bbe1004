"""Waiting rooms (docs/waiting-room.md) through the routes, on in-process moto:
join, the published shuffle, admission that follows the stock, passes that
POST /orders requires, the operator's live rate.

Time is a fake clock the room, the orders and DynamoDB's conditions all read;
the admitter's ticks are run by hand (the stack test drives them through SQS)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib import instants, wiring
from chalicelib.rooms import shuffle
from chalicelib.rooms.admitter import SETTLE
from local import resources
from tests.conftest import Shop

T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
START = T0 + timedelta(minutes=1)


class Clock:
    def __init__(self) -> None:
        self.moment = T0

    def __call__(self) -> datetime:
        return self.moment

    def to(self, moment: datetime) -> None:
        self.moment = moment


class Room:
    """A product with a waiting room, and the calls a shopper and the admitter make."""

    def __init__(self, shop: Shop, clock: Clock, product_id: str = "drop") -> None:
        self.shop = shop
        self.clock = clock
        self.product_id = product_id
        self.sqs = boto3.client("sqs")
        resources.create_room_ticks(self.sqs)
        self.tickets: dict[str, str] = {}

    def open(self, stock: int = 10, rate: int = 5, **fields: Any) -> dict[str, Any]:
        body = {
            "stock": stock,
            "saleStartsAt": instants.canonical(START),
            "waitingRoom": {"ratePerSecond": rate, "passSeconds": 60},
            **fields,
        }
        return self.shop.put_product(self.product_id, **body)

    def state(self) -> dict[str, Any]:
        response = self.shop.request("GET", f"/products/{self.product_id}/queue")
        assert response.status_code == 200, response.body
        return response.json_body  # type: ignore[no-any-return]

    def join(self, shopper: str) -> Any:
        response = self.shop.request(
            "POST", f"/products/{self.product_id}/queue/join", {"userId": shopper}
        )
        if response.status_code in (200, 201):
            self.tickets[shopper] = response.json_body["ticket"]
        return response

    def me(self, shopper: str) -> dict[str, Any]:
        response = self.shop.request(
            "GET", f"/products/{self.product_id}/queue/me?ticket={self.tickets[shopper]}"
        )
        assert response.status_code == 200, response.body
        self.tickets[shopper] = response.json_body["ticket"]
        return response.json_body  # type: ignore[no-any-return]

    def tick(self, seconds: float = 1.0) -> str:
        """Let `seconds` pass, then run the room's next tick as its message would."""
        self.clock.to(self.clock.moment + timedelta(seconds=seconds))
        room = wiring.rooms()._store.room(self.product_id, consistent=True)
        assert room is not None
        outcome = wiring.rooms().tick(self.product_id, room.tick)
        # What the room's polls read next: this container's copy is a second old
        # at most in real time, which a test's fake clock does not move.
        wiring.rooms()._cached.clear()
        return outcome

    def order(self, shopper: str, admission_pass: str | None, key: str | None = None) -> Any:
        body = {"userId": shopper, "productId": self.product_id, "quantity": 1}
        if admission_pass is not None:
            body["admissionPass"] = admission_pass
        return self.shop.order(body, key=key)

    def start(self) -> None:
        """Past the start and its settle window: the freeze."""
        self.state()  # the room opens when first asked for
        self.clock.to(START + SETTLE)
        assert self.tick(0) == "OPEN"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(instants, "now", fake)
    return fake


@pytest.fixture
def room(shop: Shop, clock: Clock) -> Room:
    return Room(shop, clock)


def test_products_without_a_room_are_unchanged(shop: Shop, room: Room) -> None:
    product = shop.put_product("plain")
    assert "waitingRoom" not in product
    response = shop.request("GET", "/products/plain/queue")
    assert (response.status_code, response.json_body["code"]) == (404, "NOT_FOUND")
    assert shop.order(productId="plain").status_code == 201


def test_an_order_needs_a_pass_while_the_room_is_on(room: Room) -> None:
    product = room.open()
    assert product["waitingRoom"] == {"ratePerSecond": 5, "passSeconds": 60}
    room.start()
    refused = room.order("alice", None)
    assert (refused.status_code, refused.json_body["code"]) == (403, "ADMISSION_REQUIRED")
    forged = room.order("alice", "v1.eyJrIjoicCJ9.AAAA")
    assert (forged.status_code, forged.json_body["code"]) == (403, "ADMISSION_REQUIRED")
    assert room.shop.stock("drop") == 10


def test_joining_twice_is_one_entry(room: Room) -> None:
    room.open()
    first = room.join("alice")
    again = room.join("alice")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json_body["entryId"] == again.json_body["entryId"]
    assert first.json_body["status"] == "WAITING"


def test_the_pre_queue_is_shuffled_as_published(room: Room) -> None:
    room.open(stock=100, rate=10)
    before = room.state()
    assert before["phase"] == "PREQUEUE" and before["seed"] is None
    shoppers = [f"shopper{n:02d}" for n in range(40)]
    entries = {s: room.join(s).json_body["entryId"] for s in shoppers}
    assert room.tick(5) == "before the start"
    room.start()
    after = room.state()
    seed = bytes.fromhex(after["seed"])
    # The seed revealed is the one committed to before anyone joined.
    assert hashlib.sha256(seed).hexdigest() == before["commitment"] == after["commitment"]
    listed = room.shop.request("GET", "/products/drop/queue/entries?page=0").json_body
    assert sorted(listed["entries"]) == sorted(entries.values())
    assert after["digest"] == shuffle.digest(listed["entries"]).hex()
    assert after["preCount"] == 40
    expected = shuffle.order(seed, listed["entries"])
    ranks = {entries[s]: room.me(s)["rank"] for s in shoppers}
    assert sorted(ranks, key=lambda e: ranks[e]) == expected


def test_admission_goes_in_rank_order_at_the_rate(room: Room) -> None:
    room.open(stock=100, rate=3)
    shoppers = [f"s{n}" for n in range(10)]
    for shopper in shoppers:
        room.join(shopper)
    room.start()
    answers = {s: room.me(s) for s in shoppers}
    admitted = sorted(a["rank"] for a in answers.values() if a["status"] == "ADMITTED")
    assert admitted == [1, 2, 3]
    waiting = {a["rank"]: a["ahead"] for a in answers.values() if a["status"] == "WAITING"}
    assert waiting == {rank: rank - 4 for rank in range(4, 11)}
    assert room.state()["admittedThrough"] == 3
    room.tick()
    assert room.state()["admittedThrough"] == 6


def test_a_pass_buys_one_order_of_its_own_shopper(room: Room) -> None:
    room.open(stock=10, rate=5)
    for shopper in ("alice", "bob"):
        room.join(shopper)
    room.start()
    alice = room.me("alice")["pass"]
    bob = room.me("bob")["pass"]
    assert alice and bob
    stolen = room.order("bob", alice)
    assert (stolen.status_code, stolen.json_body["code"]) == (403, "ADMISSION_REQUIRED")
    placed = room.order("alice", alice, key="k1")
    assert placed.status_code == 201, placed.body
    # A replay of the same order still answers (idempotency keys keep working)...
    replay = room.order("alice", alice, key="k1")
    assert replay.status_code == 201
    assert replay.json_body["orderId"] == placed.json_body["orderId"]
    # ...but the pass buys nothing more.
    again = room.order("alice", alice, key="k2")
    assert (again.status_code, again.json_body["code"]) == (403, "ADMISSION_REQUIRED")
    assert room.me("alice")["status"] == "USED"
    assert room.shop.stock("drop") == 9


def test_a_pass_expires_and_its_place_goes_to_the_next(room: Room) -> None:
    room.open(stock=1, rate=5)
    for shopper in ("alice", "bob"):
        room.join(shopper)
    room.start()
    first, second = sorted(("alice", "bob"), key=lambda s: room.me(s)["rank"])
    # One unit: only one pass may be out.
    assert room.me(first)["status"] == "ADMITTED"
    assert room.me(second)["status"] == "WAITING"
    held = room.me(first)["pass"]
    room.tick(61)
    # Past the pass's end: expired at once, whatever the last tick said (a
    # regression: the room answered ADMITTED with a dead pass until its next tick).
    assert room.me(first)["status"] == "EXPIRED"
    late = room.order(first, held)
    assert (late.status_code, late.json_body["code"]) == (409, "PASS_EXPIRED")
    # Its place goes on once an order checked just before the end has had time
    # to commit (EXPIRY_GRACE): until then the unit may still be bought with it.
    assert room.me(second)["status"] == "WAITING"
    room.tick(5)
    assert room.me(second)["status"] == "ADMITTED"
    assert room.order(second, room.me(second)["pass"]).status_code == 201


def test_sold_out_tells_everyone_waiting(room: Room) -> None:
    room.open(stock=2, rate=10)
    shoppers = [f"s{n}" for n in range(6)]
    for shopper in shoppers:
        room.join(shopper)
    room.start()
    admitted = [s for s in shoppers if room.me(s)["status"] == "ADMITTED"]
    assert len(admitted) == 2
    for shopper in admitted:
        assert room.order(shopper, room.me(shopper)["pass"]).status_code == 201
    assert room.tick() == "SOLD_OUT"
    assert room.state()["phase"] == "SOLD_OUT"
    assert {room.me(s)["status"] for s in shoppers if s not in admitted} == {"SOLD_OUT"}


def test_late_arrivals_queue_behind_in_arrival_order(room: Room) -> None:
    room.open(stock=100, rate=1)
    for shopper in ("early1", "early2"):
        room.join(shopper)
    room.start()
    for n, shopper in enumerate(("late1", "late2", "late3")):
        room.clock.to(room.clock.moment + timedelta(milliseconds=10 * (n + 1)))
        room.join(shopper)
    room.tick(3)
    assert [room.me(s)["rank"] for s in ("late1", "late2", "late3")] == [3, 4, 5]
    assert room.state()["queueLength"] == 5


def test_a_tick_delivered_twice_runs_once(room: Room) -> None:
    room.open()
    room.join("alice")
    room.start()
    stored = wiring.rooms()._store.room("drop", consistent=True)
    assert stored is not None
    assert wiring.rooms().tick("drop", stored.tick - 1) == "not this tick"


def test_the_operator_changes_the_rate_live(room: Room) -> None:
    room.open(stock=100, rate=1)
    for n in range(20):
        room.join(f"s{n}")
    room.start()
    assert room.state()["admittedThrough"] == 1
    changed = room.shop.request("PUT", "/admin/rooms/drop", {"ratePerSecond": 5})
    assert changed.status_code == 200, changed.body
    assert changed.json_body["ratePerSecond"] == 5
    version = room.shop.request("GET", "/products/drop").json_body
    assert version["waitingRoom"]["ratePerSecond"] == 5
    room.tick()
    view = room.shop.request("GET", "/admin/rooms/drop").json_body
    assert view["admittedThrough"] == 6
    assert view["queueLength"] == 20
    bad = room.shop.request("PUT", "/admin/rooms/drop", {"ratePerSecond": 0})
    assert (bad.status_code, bad.json_body["code"]) == (400, "INVALID_REQUEST")


def test_a_bad_ticket_is_a_clear_error(room: Room) -> None:
    room.open()
    response = room.shop.request("GET", "/products/drop/queue/me?ticket=v1.abc.def")
    assert (response.status_code, response.json_body["code"]) == (400, "INVALID_REQUEST")
    missing = room.shop.request("GET", "/products/drop/queue/me")
    assert missing.status_code == 400


def test_a_stalled_admitter_is_restarted_by_a_poll(room: Room) -> None:
    room.open()
    room.state()  # opens the room: its first tick is queued
    queue = room.sqs.get_queue_url(QueueName=resources.ROOMS_QUEUE)["QueueUrl"]
    room.sqs.purge_queue(QueueUrl=queue)
    room.clock.to(room.clock.moment + timedelta(minutes=5))
    wiring.rooms()._cached.clear()
    room.state()
    messages = room.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
    assert len(messages.get("Messages", [])) == 1


def test_a_start_moved_earlier_is_noticed_within_seconds(room: Room) -> None:
    # Regression: before the start the admitter slept until the start (up to
    # SQS's 15 minutes), so an operator who brought the start forward got a
    # sale whose queue froze late.
    room.open()
    room.join("alice")
    assert room.tick(0) == "before the start"
    stored = wiring.rooms()._store.room("drop", consistent=True)
    assert stored is not None and stored.next_tick_at is not None
    assert stored.next_tick_at <= room.clock.moment + timedelta(seconds=5)


def test_an_order_between_the_ticks_reads_never_admits_one_too_many(
    room: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: the tick read the stock, then the passes used. An order that
    # committed in between was then counted as a used pass but not as a unit
    # gone, and one more shopper was admitted than units were left (found by
    # bench/rooms.py).
    from chalicelib.rooms import admitter

    room.open(stock=2, rate=10)
    for shopper in ("a", "b", "c"):
        room.join(shopper)
    room.start()
    admitted = [s for s in ("a", "b", "c") if room.me(s)["status"] == "ADMITTED"]
    assert len(admitted) == 2
    real = admitter.read_product
    placed: list[int] = []

    def read_then_an_order_commits(*args: Any, **kwargs: Any) -> Any:
        snapshot = real(*args, **kwargs)
        if not placed:
            buyer = admitted[0]
            placed.append(room.order(buyer, room.me(buyer)["pass"]).status_code)
        return snapshot

    monkeypatch.setattr(admitter, "read_product", read_then_an_order_commits)
    room.tick()
    assert placed == [201]
    # One unit left, one pass still out (the other admitted shopper's): nobody more.
    assert room.state()["admittedThrough"] == 2


SIGNING_KEY_PARAMETER = "/flashsale/dev/rooms/signing-key"


@pytest.mark.parametrize(
    "stored",
    [None, wiring.ROOM_KEY_PLACEHOLDER, "k" * (wiring.ROOM_KEY_MIN_BYTES - 1)],
    ids=["unset", "terraform-placeholder", "too-short"],
)
def test_rooms_refuse_to_sign_with_a_missing_placeholder_or_short_key(
    room: Room, stored: str | None
) -> None:
    # GIVEN a deployed stage whose SecureString still holds what Terraform put
    # there (or a key too short for HMAC-SHA256, or no parameter at all)
    room.open()
    if stored is not None:
        boto3.client("ssm").put_parameter(
            Name=SIGNING_KEY_PARAMETER, Value=stored, Type="SecureString"
        )
    wiring._services["settings"] = wiring.config()._replace(
        room_signing_key=None,
        room_signing_key_parameter=None if stored is None else SIGNING_KEY_PARAMETER,
    )
    # WHEN a shopper joins THEN no ticket is signed with a key anyone could know
    response = room.join("alice")
    assert (response.status_code, response.json_body["code"]) == (503, "BUSY")
    assert response.headers["Retry-After"] == "30"
    assert "ticket" not in response.json_body
    assert stored is None or stored not in response.body.decode()


def test_rooms_sign_with_the_operator_s_key_from_ssm(room: Room) -> None:
    room.open()
    boto3.client("ssm").put_parameter(
        Name=SIGNING_KEY_PARAMETER, Value="o" * wiring.ROOM_KEY_MIN_BYTES, Type="SecureString"
    )
    wiring._services["settings"] = wiring.config()._replace(
        room_signing_key=None, room_signing_key_parameter=SIGNING_KEY_PARAMETER
    )
    response = room.join("alice")
    assert response.status_code == 201, response.body
    assert wiring.room_key() == b"o" * wiring.ROOM_KEY_MIN_BYTES


def test_a_pass_is_for_its_own_product_only(room: Room) -> None:
    room.open(stock=5, rate=5)
    other = Room(room.shop, room.clock, product_id="other-drop")
    other.open(stock=5, rate=5)
    room.join("alice")
    other.join("alice")
    room.start()
    other.tick(0)
    for_drop = room.me("alice")["pass"]
    assert for_drop
    # alice's pass for one drop buys nothing of the other, though she is admitted there too.
    crossed = other.order("alice", for_drop)
    assert (crossed.status_code, crossed.json_body["code"]) == (403, "ADMISSION_REQUIRED")
    assert other.order("alice", other.me("alice")["pass"]).status_code == 201
    assert room.order("alice", for_drop).status_code == 201


def test_a_room_switched_off_and_on_again_reopens(room: Room) -> None:
    # Regression: a room closed (its room off, its product gone or its sale
    # ended) was never ticked again, even once switched back on.
    body = room.open(stock=5, rate=5)
    room.join("alice")
    room.start()
    plain = {k: v for k, v in body.items() if k not in ("waitingRoom", "productId", "shards")}
    room.shop.put_product("drop", **plain)
    assert room.tick() == "closed"
    room.open(stock=5, rate=5)
    queue = room.sqs.get_queue_url(QueueName=resources.ROOMS_QUEUE)["QueueUrl"]
    room.sqs.purge_queue(QueueUrl=queue)
    wiring.rooms()._cached.clear()
    room.state()  # the poll that finds it closed with its room on sends a tick
    assert len(room.sqs.receive_message(QueueUrl=queue).get("Messages", [])) == 1
    assert room.tick() == "OPEN"
    assert room.me("alice")["status"] == "ADMITTED"


def test_a_tick_that_fails_after_its_claim_sends_the_next(
    room: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: SQS's retry of a failed tick was refused by the claim it had
    # made, and the chain waited for the watchdog.
    from chalicelib.rooms import admitter

    room.open()
    room.join("alice")
    room.start()
    queue = room.sqs.get_queue_url(QueueName=resources.ROOMS_QUEUE)["QueueUrl"]
    room.sqs.purge_queue(QueueUrl=queue)

    def throttled(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("throttled")

    monkeypatch.setattr(admitter, "read_product", throttled)
    with pytest.raises(RuntimeError):
        room.tick()
    stored = wiring.rooms()._store.room("drop", consistent=True)
    assert stored is not None
    sent = room.sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2).get("Messages", [])
    assert [json.loads(m["Body"])["tick"] for m in sent] == [stored.tick]
