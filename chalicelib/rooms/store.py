"""The rooms table (docs/waiting-room.md, "Data"): the only code that knows its
items. Hash key `productId`, range key `sk`; the local secondary index
`arrival-index` orders a room's entries by arrival.

| sk | item |
|---|---|
| `room` | the seed, its commitment, the admitter's tick and state |
| `u#<shopper>` | one shopper's entry: `entryId`, `arrival`, `rank`, `redeemedBy` |
| `list#<n>` | page n of the frozen pre-queue's entry ids (sorted, newline-joined) |
| `redeemed#<n>` | one of `REDEEMED_SHARDS` counters of passes used |
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from chalicelib import instants, retry
from chalicelib.rooms.admission import Admission, Batch

ROOM = "room"
ARRIVAL_INDEX = "arrival-index"
PAGE_SIZE = 10_000  # entry ids per list page: ~230 KB, under DynamoDB's 400 KB
# Passes used are counted on this many items, so that orders of one room do not
# all contend on one item (a transaction conflict each time two meet).
REDEEMED_SHARDS = 10
_CONDITION_FAILED = "ConditionalCheckFailedException"


class Entry(NamedTuple):
    shopper: str
    entry_id: str
    arrival: str  # `<canonical instant>#<entryId>`: sorts by arrival, ties by id
    rank: int | None = None
    redeemed_by: str | None = None

    @property
    def arrived_at(self) -> datetime:
        return instants.parse(self.arrival.split("#", 1)[0])


class Room(NamedTuple):
    product_id: str
    seed: bytes
    commitment: str
    created_at: datetime
    tick: int = 0
    next_tick_at: datetime | None = None
    state: Admission = Admission()
    frozen: bool = False
    pre_count: int | None = None
    digest: str | None = None
    pages: int = 0
    cursor: str = ""  # the last arrival ranked after the freeze
    units_left: int = 0
    rate: int = 0
    pass_seconds: int = 0
    updated_at: datetime | None = None


def entry_key(product_id: str, shopper: str) -> dict[str, Any]:
    return {"productId": {"S": product_id}, "sk": {"S": f"u#{shopper}"}}


def redeemed_key(product_id: str, shard: int) -> dict[str, Any]:
    return {"productId": {"S": product_id}, "sk": {"S": f"redeemed#{shard}"}}


def _room_key(product_id: str) -> dict[str, Any]:
    return {"productId": {"S": product_id}, "sk": {"S": ROOM}}


def _instant(item: dict[str, Any], name: str) -> datetime | None:
    return instants.parse(item[name]["S"]) if name in item else None


def _room(item: dict[str, Any]) -> Room:
    def n(name: str, default: int = 0) -> int:
        return int(item[name]["N"]) if name in item else default

    batches = tuple(
        Batch(int(through), instants.parse(at))
        for through, at in json.loads(item.get("batches", {"S": "[]"})["S"])
    )
    return Room(
        product_id=item["productId"]["S"],
        seed=bytes.fromhex(item["seed"]["S"]),
        commitment=item["commitment"]["S"],
        created_at=instants.parse(item["createdAt"]["S"]),
        tick=n("tick"),
        next_tick_at=_instant(item, "nextTickAt"),
        state=Admission(
            phase=item.get("phase", {"S": "PREQUEUE"})["S"],
            ranked=n("ranked"),
            admitted_through=n("admittedThrough"),
            expired_through=n("expiredThrough"),
            batches=batches,
            credit=float(item.get("credit", {"N": "0"})["N"]),
            last_tick_at=_instant(item, "lastTickAt"),
        ),
        frozen=item.get("frozen", {"BOOL": False})["BOOL"],
        pre_count=int(item["preCount"]["N"]) if "preCount" in item else None,
        digest=item["digest"]["S"] if "digest" in item else None,
        pages=n("pages"),
        cursor=item.get("cursor", {"S": ""})["S"],
        units_left=n("unitsLeft"),
        rate=n("rate"),
        pass_seconds=n("passSeconds"),
        updated_at=_instant(item, "updatedAt"),
    )


def _entry(item: dict[str, Any]) -> Entry:
    return Entry(
        shopper=item["sk"]["S"][2:],
        entry_id=item["entryId"]["S"],
        arrival=item["arrival"]["S"],
        rank=int(item["rank"]["N"]) if "rank" in item else None,
        redeemed_by=item["redeemedBy"]["S"] if "redeemedBy" in item else None,
    )


def _entry_item(product_id: str, entry: Entry) -> dict[str, Any]:
    item: dict[str, Any] = {
        **entry_key(product_id, entry.shopper),
        "entryId": {"S": entry.entry_id},
        "arrival": {"S": entry.arrival},
    }
    if entry.rank is not None:
        item["rank"] = {"N": str(entry.rank)}
    if entry.redeemed_by is not None:
        item["redeemedBy"] = {"S": entry.redeemed_by}
    return item


class RoomStore:
    """Reads and writes one stage's rooms table."""

    def __init__(
        self, client: Any, table: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._client = client
        self._table = table
        self._sleep = sleep

    # --- the room item ---------------------------------------------------------------

    def room(self, product_id: str, consistent: bool = False) -> Room | None:
        item = self._client.get_item(
            TableName=self._table, Key=_room_key(product_id), ConsistentRead=consistent
        ).get("Item")
        return None if item is None else _room(item)

    def create(self, room: Room) -> Room:
        """The room, created with its seed unless it exists (then the stored one:
        the first seed committed to stands)."""
        item = {
            **_room_key(room.product_id),
            "seed": {"S": room.seed.hex()},
            "commitment": {"S": room.commitment},
            "createdAt": {"S": instants.canonical(room.created_at)},
            "tick": {"N": "0"},
            "phase": {"S": room.state.phase},
        }
        stored = self._put_new(item)
        return room if stored is None else _room(stored)

    def claim(self, product_id: str, tick: int, quiet_until: datetime) -> Room | None:
        """Take tick number `tick` (None: another took it, or the room is gone):
        an SQS message delivered twice must not fork the admitter's chain."""
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=_room_key(product_id),
                UpdateExpression="SET tick = :next, nextTickAt = :quiet",
                ConditionExpression="tick = :t",
                ExpressionAttributeValues={
                    ":t": {"N": str(tick)},
                    ":next": {"N": str(tick + 1)},
                    ":quiet": {"S": instants.canonical(quiet_until)},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == _CONDITION_FAILED:
                return None
            raise
        return _room(answer["Attributes"])

    def save(self, room: Room) -> bool:
        """Write the admitter's state, if its tick is still the room's."""
        state = room.state
        values: dict[str, Any] = {
            ":t": {"N": str(room.tick)},
            ":phase": {"S": state.phase},
            ":ranked": {"N": str(state.ranked)},
            ":admitted": {"N": str(state.admitted_through)},
            ":expired": {"N": str(state.expired_through)},
            ":batches": {
                "S": json.dumps([[b.through, instants.canonical(b.at)] for b in state.batches])
            },
            ":credit": {"N": repr(round(state.credit, 6))},
            ":frozen": {"BOOL": room.frozen},
            ":pages": {"N": str(room.pages)},
            ":cursor": {"S": room.cursor},
            ":units": {"N": str(room.units_left)},
            ":rate": {"N": str(room.rate)},
            ":life": {"N": str(room.pass_seconds)},
            ":updated": {"S": instants.canonical(room.updated_at or instants.now())},
            ":next": {"S": instants.canonical(room.next_tick_at or instants.now())},
        }
        sets = [
            "phase = :phase",
            "ranked = :ranked",
            "admittedThrough = :admitted",
            "expiredThrough = :expired",
            "batches = :batches",
            "credit = :credit",
            "frozen = :frozen",
            "pages = :pages",
            "#cursor = :cursor",
            "unitsLeft = :units",
            "rate = :rate",
            "passSeconds = :life",
            "updatedAt = :updated",
            "nextTickAt = :next",
        ]
        if state.last_tick_at is not None:
            values[":last"] = {"S": instants.canonical(state.last_tick_at)}
            sets.append("lastTickAt = :last")
        if room.pre_count is not None and room.digest is not None:
            values[":pre"] = {"N": str(room.pre_count)}
            values[":digest"] = {"S": room.digest}
            sets += ["preCount = :pre", "digest = :digest"]
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_room_key(room.product_id),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="tick = :t",
                ExpressionAttributeNames={"#cursor": "cursor"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == _CONDITION_FAILED:
                return False
            raise
        return True

    # --- entries ---------------------------------------------------------------------

    def join(self, product_id: str, entry: Entry) -> tuple[Entry, bool]:
        """(the shopper's entry, whether it is new): one conditional write, a
        second join answered from the condition's ALL_OLD."""
        stored = self._put_new(_entry_item(product_id, entry))
        return (entry, True) if stored is None else (_entry(stored), False)

    def entry(self, product_id: str, shopper: str, consistent: bool = False) -> Entry | None:
        item = self._client.get_item(
            TableName=self._table, Key=entry_key(product_id, shopper), ConsistentRead=consistent
        ).get("Item")
        return None if item is None else _entry(item)

    def restamp(self, product_id: str, entry: Entry, arrival: str) -> bool:
        """Move an entry the ranking missed (its write landed after the tick that
        passed its arrival) to a new arrival, so the next tick ranks it."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=entry_key(product_id, entry.shopper),
                UpdateExpression="SET arrival = :a",
                ConditionExpression="attribute_not_exists(#rank) AND arrival = :old",
                ExpressionAttributeNames={"#rank": "rank"},
                ExpressionAttributeValues={":a": {"S": arrival}, ":old": {"S": entry.arrival}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == _CONDITION_FAILED:
                return False
            raise
        return True

    def arrivals(
        self, product_id: str, after: str | None, upto: str, limit: int | None = None
    ) -> Iterator[Entry]:
        """Entries whose arrival is in (after, upto] (after None: from the first),
        oldest first."""
        values = {":p": {"S": product_id}, ":b": {"S": upto}}
        if after is None:
            condition = "productId = :p AND arrival <= :b"
        else:
            condition = "productId = :p AND arrival BETWEEN :a AND :b"
            values[":a"] = {"S": after}
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": ARRIVAL_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        given = 0
        while True:
            page = self._client.query(**query)
            for item in page.get("Items", []):
                if item["arrival"]["S"] == after:
                    continue
                yield _entry(item)
                given += 1
                if limit is not None and given >= limit:
                    return
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            query["ExclusiveStartKey"] = last

    def rank(self, product_id: str, entries: list[Entry], writers: int = 1) -> None:
        """Write the entries' ranks (BatchWriteItem, 25 a request, `writers` at
        once). Only unranked, unadmitted entries are written, and only by the
        tick that holds the room."""
        requests = [
            {
                self._table: [
                    {"PutRequest": {"Item": _entry_item(product_id, e)}}
                    for e in entries[start : start + 25]
                ]
            }
            for start in range(0, len(entries), 25)
        ]
        if writers <= 1 or len(requests) <= 1:
            for request in requests:
                self._batch_write(request)
            return
        with ThreadPoolExecutor(max_workers=writers) as pool:
            list(pool.map(self._batch_write, requests))

    def write_pages(self, product_id: str, ids: list[str]) -> int:
        """The frozen pre-queue's list, in pages; how many pages."""
        pages = [ids[i : i + PAGE_SIZE] for i in range(0, len(ids), PAGE_SIZE)] or [[]]
        for number, page in enumerate(pages):
            self._client.put_item(
                TableName=self._table,
                Item={
                    "productId": {"S": product_id},
                    "sk": {"S": f"list#{number}"},
                    "ids": {"S": "\n".join(page)},
                },
            )
        return len(pages)

    def page(self, product_id: str, number: int) -> list[str] | None:
        item = self._client.get_item(
            TableName=self._table,
            Key={"productId": {"S": product_id}, "sk": {"S": f"list#{number}"}},
        ).get("Item")
        if item is None:
            return None
        text = item["ids"]["S"]
        return text.split("\n") if text else []

    def redeemed(self, product_id: str) -> int:
        """Passes used so far (one Query of the counters)."""
        answer = self._client.query(
            TableName=self._table,
            KeyConditionExpression="productId = :p AND begins_with(sk, :r)",
            ExpressionAttributeValues={":p": {"S": product_id}, ":r": {"S": "redeemed#"}},
            ConsistentRead=True,
        )
        return sum(int(item.get("n", {"N": "0"})["N"]) for item in answer.get("Items", []))

    def _put_new(self, item: dict[str, Any]) -> dict[str, Any] | None:
        """Put `item` unless its key exists: None if put, else the stored item
        (from the condition's ALL_OLD, or one consistent read without it)."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(sk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != _CONDITION_FAILED:
                raise
            key = {"productId": item["productId"], "sk": item["sk"]}
            stored: dict[str, Any] = exc.response.get("Item") or self._client.get_item(
                TableName=self._table, Key=key, ConsistentRead=True
            ).get("Item")
            return stored
        return None

    def _batch_write(self, request: dict[str, Any]) -> None:
        for attempt in range(retry.BATCH_ROUNDS):
            answer = self._client.batch_write_item(RequestItems=request)
            request = answer.get("UnprocessedItems") or {}
            if not request:
                return
            self._sleep(retry.BATCH.delay(attempt))
        raise retry.Unprocessed("rank writes left unprocessed")
