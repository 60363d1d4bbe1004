"""A sale's counters, kept exactly once (the console, chalicelib.console, reads them).

Counters live in the sales-stats table, one item per product per minute
(`bucket = "m#YYYY-MM-DDTHH:MM"`) and one running total (`bucket = "total"`):
units sold and cancelled, orders, revenue, operator stock changes, and
refusals by reason. Sales are counted from the Orders stream (`count`), each
order exactly once: the same transaction that adds it to the counters marks
the order (`statsPlaced` / `statsCancelled`, conditional on the mark being
absent), so a redelivered stream batch adds nothing. A live view is then one
Query of a product's buckets and its total, however many orders there are.

Refusals write nothing when they happen; each container tallies them and adds
its tally to the counters at most every few seconds (approximate by design:
a container frozen or recycled before its next flush loses its last seconds).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import aws, instants, retry
from chalicelib.model import CANCELLED, CONFIRMED, Order
from chalicelib.observability import logger

TOTAL = "total"
CHUNK = 30  # orders per counting transaction: marks + two counter updates each, <= 100 items
COUNT_ATTEMPTS = 8


def bucket(moment: datetime) -> str:
    """The counter item of the minute `moment` falls in."""
    return "m#" + instants.canonical(moment)[:16]


def minute_of(name: str) -> datetime:
    """The start of a bucket's minute."""
    return instants.parse(name[2:] + ":00Z")


class Counts(NamedTuple):
    units_sold: int = 0
    units_cancelled: int = 0
    orders: int = 0
    cancelled_orders: int = 0
    revenue: Decimal = Decimal(0)
    stock_delta: int = 0
    rejections: dict[str, int] = {}  # noqa: RUF012 - never mutated

    @classmethod
    def from_item(cls, item: Mapping[str, Any] | None) -> Counts:
        """Counters from a stats item (missing counters are zero)."""
        if not item:
            return cls()

        def n(name: str) -> Decimal:
            return Decimal(item[name]["N"]) if name in item else Decimal(0)

        return cls(
            units_sold=int(n("unitsSold")),
            units_cancelled=int(n("unitsCancelled")),
            orders=int(n("orders")),
            cancelled_orders=int(n("cancelledOrders")),
            revenue=n("revenue"),
            stock_delta=int(n("stockDelta")),
            rejections={
                name[4:]: int(value["N"]) for name, value in item.items() if name.startswith("rej_")
            },
        )


class SalesStats:
    """The counters of every sale, in the sales-stats table."""

    def __init__(
        self,
        client: Any,
        table: str,
        orders_table: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._table = table
        self._orders_table = orders_table
        self._sleep = sleep

    # --- counting sales from the stream, exactly once ------------------------------

    def count(self, placed: Iterable[Order], cancelled: Iterable[Order]) -> int:
        """Add new orders and cancellations to the counters; each order once, however
        often it is passed in. Returns how many were added now."""
        added = 0
        for kind, orders in (("Placed", list(placed)), ("Cancelled", list(cancelled))):
            unique = list({order.order_id: order for order in orders}.values())
            for start in range(0, len(unique), CHUNK):
                added += self._count_chunk(kind, unique[start : start + CHUNK])
        return added

    def _count_chunk(self, kind: str, orders: list[Order]) -> int:
        pending = list(orders)
        for attempt in range(COUNT_ATTEMPTS):
            if not pending:
                return 0
            try:
                self._client.transact_write_items(TransactItems=self._counting(kind, pending))
                return len(pending)
            except ClientError as exc:
                reasons = exc.response.get("CancellationReasons") or []
                counted = {
                    order.order_id
                    for order, reason in zip(pending, reasons, strict=False)
                    if reason.get("Code") == "ConditionalCheckFailed"
                }
                if counted:
                    # Counted before (a redelivery), or gone: the rest go in alone.
                    pending = [order for order in pending if order.order_id not in counted]
                    continue
                code = exc.response.get("Error", {}).get("Code")
                transient = code in aws.THROTTLING or any(
                    r.get("Code") in aws.TRANSIENT_CANCELLATIONS for r in reasons
                )
                if not transient:
                    raise
            except BotoCoreError:
                pass
            self._sleep(retry.DELIVERY.delay(attempt))
        raise RuntimeError(f"could not count {len(pending)} orders; the stream retries them")

    def _counting(self, kind: str, orders: list[Order]) -> list[dict[str, Any]]:
        mark = f"stats{kind}"
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._orders_table,
                    "Key": {"orderId": {"S": order.order_id}},
                    "UpdateExpression": "SET #mark = :yes",
                    "ConditionExpression": (
                        "attribute_exists(orderId) AND attribute_not_exists(#mark)"
                    ),
                    "ExpressionAttributeNames": {"#mark": mark},
                    "ExpressionAttributeValues": {":yes": {"BOOL": True}},
                }
            }
            for order in orders
        ]
        sums: dict[tuple[str, str], Counter[str]] = {}
        revenue: dict[tuple[str, str], Decimal] = {}
        for order in orders:
            moment = order.created_at if kind == "Placed" else order.cancelled_at
            assert moment is not None
            for name in (bucket(moment), TOTAL):
                key = (order.product_id, name)
                tally = sums.setdefault(key, Counter())
                if kind == "Placed":
                    tally["unitsSold"] += order.quantity
                    tally["orders"] += 1
                    revenue[key] = revenue.get(key, Decimal(0)) + order.total_amount
                else:
                    tally["unitsCancelled"] += order.quantity
                    tally["cancelledOrders"] += 1
                    revenue[key] = revenue.get(key, Decimal(0)) - order.total_amount
        for (product_id, name), tally in sums.items():
            values = {f":{field}": {"N": str(n)} for field, n in tally.items()}
            values[":revenue"] = {"N": str(revenue[(product_id, name)])}
            adds = ", ".join(f"{field} :{field}" for field in [*tally, "revenue"])
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": {"productId": {"S": product_id}, "bucket": {"S": name}},
                        "UpdateExpression": f"ADD {adds}",
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        return items

    # --- operator changes and refusals ----------------------------------------------

    def add(
        self,
        product_id: str,
        moment: datetime,
        counters: Mapping[str, int],
        total: bool = True,
        client: Any = None,
    ) -> None:
        """Add to a product's counters of the minute `moment` (and its total)."""
        if not any(counters.values()):
            return
        values = {f":c{i}": {"N": str(n)} for i, n in enumerate(counters.values())}
        adds = ", ".join(f"{name} :c{i}" for i, name in enumerate(counters))
        for name in (bucket(moment), TOTAL) if total else (bucket(moment),):
            (client or self._client).update_item(
                TableName=self._table,
                Key={"productId": {"S": product_id}, "bucket": {"S": name}},
                UpdateExpression=f"ADD {adds}",
                ExpressionAttributeValues=values,
            )

    # --- reading --------------------------------------------------------------------

    def totals(self, product_ids: list[str]) -> dict[str, Counts]:
        """Each product's running total (BatchGetItem, 100 keys a request)."""
        found: dict[str, Counts] = {pid: Counts() for pid in product_ids}
        for start in range(0, len(product_ids), 100):
            keys = [
                {"productId": {"S": pid}, "bucket": {"S": TOTAL}}
                for pid in product_ids[start : start + 100]
            ]
            items = retry.batch_get(self._client, {self._table: {"Keys": keys}}, sleep=self._sleep)
            for item in items.get(self._table, []):
                found[item["productId"]["S"]] = Counts.from_item(item)
        return found

    def since(self, product_id: str, start: datetime) -> tuple[Counts, dict[str, Counts]]:
        """A product's total and its minutes from `start`: one Query ("total"
        sorts after every "m#..." bucket)."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "productId = :p AND #b >= :from",
            "ExpressionAttributeNames": {"#b": "bucket"},
            "ExpressionAttributeValues": {":p": {"S": product_id}, ":from": {"S": bucket(start)}},
        }
        total = Counts()
        minutes: dict[str, Counts] = {}
        while True:
            response = self._client.query(**query)
            for item in response["Items"]:
                name = item["bucket"]["S"]
                if name == TOTAL:
                    total = Counts.from_item(item)
                else:
                    minutes[name] = Counts.from_item(item)
            if "LastEvaluatedKey" not in response:
                return total, minutes
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


# Seconds between a container's writes of the refusals it counted.
REFUSALS_EVERY = 5.0


class RejectionTally:
    """Refusals counted in the container and added to the minute's counters at
    most every `every` seconds, by whichever request comes along then (never a
    write per refusal: a sold-out product is refused thousands of times a
    second). One attempt per write, on a client that does not retry: a lost
    count is cheaper than load on a busy table."""

    def __init__(
        self,
        stats: SalesStats,
        every: float = REFUSALS_EVERY,
        clock: Callable[[], float] = time.monotonic,
        client: Any = None,
    ) -> None:
        self._stats = stats
        self._client = client
        self._every = every
        self._clock = clock
        self._lock = threading.Lock()
        self._tally: Counter[tuple[str, str, str]] = Counter()
        self._due = clock() + every

    def add(self, product_id: str, code: str, moment: datetime) -> None:
        """Count one refusal."""
        with self._lock:
            self._tally[(product_id, bucket(moment), code)] += 1

    def flush(self, force: bool = False) -> None:
        """Write the tally if it is due (or `force`); a failure keeps nothing worse
        than a lost count, never a failed request."""
        with self._lock:
            if not force and self._clock() < self._due:
                return
            tally, self._tally = self._tally, Counter()
            self._due = self._clock() + self._every
        grouped: dict[tuple[str, str], dict[str, int]] = {}
        for (product_id, name, code), n in tally.items():
            grouped.setdefault((product_id, name), {})[f"rej_{code}"] = n
        for (product_id, name), counters in grouped.items():
            try:
                self._stats.add(
                    product_id, minute_of(name), counters, total=False, client=self._client
                )
            except (ClientError, BotoCoreError):
                logger.warning("refusal counts for %s not saved", product_id)


def order_events(
    images: Iterable[tuple[str, Mapping[str, Any]]],
) -> tuple[list[Order], list[Order]]:
    """New orders and fresh cancellations among stream records (event name, NEW_IMAGE)."""
    placed: list[Order] = []
    cancelled: list[Order] = []
    for event, image in images:
        if not image or "orderId" not in image:
            continue
        try:
            order = Order.from_item(dict(image))
        except (KeyError, ValueError, ArithmeticError):
            continue
        if event == "INSERT" and order.status == CONFIRMED:
            placed.append(order)
        elif event == "MODIFY" and order.status == CONFIRMED and "paidAt" in image:
            # A pay-checkout hold counts as sold when it is paid (once: the marks).
            if "statsPlaced" not in image:
                placed.append(order)
        elif order.status == CANCELLED and "statsCancelled" not in image:
            cancelled.append(order)
    return placed, cancelled
