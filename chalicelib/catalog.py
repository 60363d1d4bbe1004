"""Products: the catalog table, read and written through the low-level client.

How a product and its stock shards are stored is the model's
(chalicelib.model.product); this module reads them, caches them and writes
them in transactions. The shard count is chosen from the stock unless the
operator sets one (see `shards_for`).
"""

from __future__ import annotations

import builtins
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from chalicelib import contract, instants, money, retry
from chalicelib.errors import Busy, InvalidRequest, NotFound, ProductNotFound
from chalicelib.model import Item, Product, ProductInput, shard_key

# One shard per this many units, up to MAX_SHARDS: every shard of a fresh
# product can fill a typical order alone, and a product sold to hundreds of
# buyers at once never funnels them through one item.
UNITS_PER_SHARD = 20
PUT_ATTEMPTS = 5


def shards_for(stock: int) -> int:
    """The default shard count for a product of `stock` units."""
    return max(1, min(contract.MAX_SHARDS, stock // UNITS_PER_SHARD))


def split(stock: int, shards: int) -> list[int]:
    """Stock spread over shards as evenly as whole units allow."""
    base, extra = divmod(stock, shards)
    return [base + (1 if i < extra else 0) for i in range(shards)]


class Snapshot(NamedTuple):
    """A product and the units each of its stock items holds, read together."""

    product: Product
    stocks: dict[str, int]


def read(client: Any, table: str, product_id: str, shards: int | None = None) -> Snapshot | None:
    """The product and its stock items, strongly consistent; None if it does not
    exist. With the right shard count known this is one BatchGetItem; otherwise a
    GetItem of the product first tells which shards to read."""
    if shards is None:
        item = client.get_item(
            TableName=table, Key={"productId": {"S": product_id}}, ConsistentRead=True
        ).get("Item")
        if item is None or "shardOf" in item:
            return None
        shards = int(item.get("shards", {"N": "1"})["N"])
        if shards == 1:
            product = Product.from_item(item)
            return Snapshot(product, {product_id: product.stock})
    items = _batch_read(client, table, [product_id, *_shard_keys(product_id, shards)])
    item = items.get(product_id)
    if item is None or "shardOf" in item:
        return None
    actual = int(item.get("shards", {"N": "1"})["N"])
    if actual != shards:
        # Resharded since the caller last looked: read the shards it has now.
        return read(client, table, product_id, None if actual == 1 else actual)
    if actual == 1:
        product = Product.from_item(item)
        return Snapshot(product, {product_id: product.stock})
    stocks = {
        key: int(items[key]["stock"]["N"]) if key in items else 0
        for key in _shard_keys(product_id, actual)
    }
    product = Product.from_item(item, stock=sum(stocks.values()))
    return Snapshot(product, stocks)


def _shard_keys(product_id: str, shards: int) -> list[str]:
    return [] if shards == 1 else [shard_key(product_id, i) for i in range(shards)]


def _batch_read(client: Any, table: str, keys: list[str]) -> dict[str, Item]:
    request: dict[str, Any] = {
        table: {"Keys": [{"productId": {"S": key}} for key in keys], "ConsistentRead": True}
    }
    return {
        item["productId"]["S"]: item for item in retry.batch_get(client, request).get(table, [])
    }


class Catalog:
    """Reads and writes products in the Products table. Reads are cached in the
    container for `ttl` seconds: a sale's refresh storm costs one read a second."""

    def __init__(
        self,
        client: Any,
        table: str,
        ttl: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        checkout: str = "instant",
        currency: str = "usd",
    ) -> None:
        self._client = client
        # What a product written without a checkout mode or currency gets: the stage's.
        self._checkout = checkout
        self._currency = currency
        self._table = table
        self._ttl = ttl
        self._clock = clock
        self._listing: tuple[float, list[Product]] | None = None
        self._one: dict[str, tuple[float, Product | None]] = {}
        self._listeners: list[Callable[[str], None]] = []
        # One reader refreshes an expired entry; the other threads wait for it
        # instead of all reading at once when a sale's traffic is at its peak.
        self._refreshing = threading.Lock()

    @property
    def table(self) -> str:
        """The Products table's name."""
        return self._table

    def on_change(self, listener: Callable[[str], None]) -> None:
        """Call `listener(product_id)` after this container changes a product."""
        self._listeners.append(listener)

    def get(self, product_id: str) -> Product:
        """One product with its current stock (cached), or ProductNotFound."""
        cached = self._one.get(product_id)
        if cached is None or cached[0] <= self._clock():
            with self._refreshing:
                cached = self._one.get(product_id)
                if cached is None or cached[0] <= self._clock():
                    known = cached[1] if cached is not None else None
                    snapshot = read(
                        self._client,
                        self._table,
                        product_id,
                        None if known is None else known.shards,
                    )
                    found = None if snapshot is None else snapshot.product
                    cached = (self._clock() + self._ttl, found)
                    self._one[product_id] = cached
        if cached[1] is None:
            raise ProductNotFound(f"product {product_id} does not exist")
        return cached[1]

    def list(self) -> list[Product]:
        """Every product with its stock, sorted by id (cached; one Scan)."""
        listing = self._listing
        if listing is not None and listing[0] > self._clock():
            return listing[1]
        with self._refreshing:
            listing = self._listing
            if listing is not None and listing[0] > self._clock():
                return listing[1]
            return self._scan()

    def _scan(self) -> builtins.list[Product]:
        items: list[Item] = []
        for page in self._client.get_paginator("scan").paginate(
            TableName=self._table, ConsistentRead=True
        ):
            items.extend(page["Items"])
        products = assemble(items)
        self._listing = (self._clock() + self._ttl, products)
        return products

    def put(self, spec: ProductInput) -> Product:
        """Create or replace a product and its stock shards in one transaction.

        The transaction is conditional on the product item being exactly the one
        read just before (its version, or its absence), so it deletes exactly the
        shards that exist: two concurrent PUTs with different shard counts are
        serialised, the loser re-reads and retries, and no shard is ever orphaned.
        """
        shards = spec.shards if spec.shards is not None else shards_for(spec.stock)
        for _ in range(PUT_ATTEMPTS):
            current = self._client.get_item(
                TableName=self._table,
                Key={"productId": {"S": spec.product_id}},
                ProjectionExpression="shards, version, shardOf",
                ConsistentRead=True,
            ).get("Item")
            if current is not None and "shardOf" in current:
                raise ProductNotFound(f"{spec.product_id} is a stock shard, not a product")
            old_shards = int((current or {}).get("shards", {"N": "1"})["N"])
            product = _new_product(
                spec._replace(
                    checkout=spec.checkout or self._checkout,
                    currency=spec.currency or self._currency,
                ),
                shards,
            )
            writes = _put_writes(self._table, product, current, old_shards)
            if not self._won(writes):
                continue
            self._changed(product.product_id)
            return product
        raise _busy()

    def restock(self, product_id: str, units: int) -> Product:
        """Add `units` to a product's stock, spread over its stock items, in one
        transaction conditional on the product not having been replaced meanwhile
        and on no item holding more than it did when read (orders only lower it;
        a cancel or another restock meanwhile means reading again), so no
        restock takes the stock past the contract's maximum. (A cancel may
        later return units above it: they were sold from under it.)"""
        for _ in range(PUT_ATTEMPTS):
            snapshot = self._existing(product_id)
            if snapshot.product.stock + units > contract.MAX_STOCK:
                raise InvalidRequest(
                    f"units: the stock would pass {contract.MAX_STOCK}"
                    f" (it holds {snapshot.product.stock})"
                )
            keys = list(snapshot.stocks)
            adds = dict(zip(keys, split(units, len(keys)), strict=True))
            writes = [
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": {"productId": {"S": key}},
                        "UpdateExpression": "SET stock = stock + :u",
                        "ConditionExpression": "stock <= :seen AND version = :v",
                        "ExpressionAttributeValues": {
                            ":u": {"N": str(add)},
                            ":seen": {"N": str(snapshot.stocks[key])},
                            ":v": {"N": str(snapshot.product.version)},
                        },
                    }
                }
                for key, add in adds.items()
                if add
            ]
            if not self._won(writes):
                continue
            self._changed(product_id)
            return snapshot.product._replace(stock=snapshot.product.stock + units)
        raise _busy()

    def end_sale(self, product_id: str, moment: datetime) -> Product:
        """Close a sale at `moment` (on the product and every shard, which carry
        the window orders check). A sale that has not started ends unstarted."""
        for _ in range(PUT_ATTEMPTS):
            snapshot = self._existing(product_id)
            product = snapshot.product
            # The end is the moment its write is sent, not when it was asked for:
            # orders that commit meanwhile (judged on the old window) then carry
            # an earlier createdAt. Only the write's own latency is left, in
            # which an order can still commit with a later one; moving the end
            # after its commit would re-open the sale for orders stamped in
            # between, so it is not moved.
            moment = max(moment, instants.now())
            if product.sale_ends_at is not None and product.sale_ends_at <= moment:
                return product
            starts = product.sale_starts_at
            if starts is not None and starts >= moment:
                starts = moment - timedelta(microseconds=1)
            ended = product._replace(sale_starts_at=starts, sale_ends_at=moment)
            window = ended.guarded_fields()
            update = "SET saleEndsAt = :ends" + (", saleStartsAt = :starts" if starts else "")
            values: Item = {":ends": window["saleEndsAt"], ":v": {"N": str(product.version)}}
            if starts is not None:
                values[":starts"] = window["saleStartsAt"]
            writes = [
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": {"productId": {"S": key}},
                        "UpdateExpression": update,
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": values,
                    }
                }
                for key in [product_id, *_shard_keys(product_id, product.shards)]
            ]
            if not self._won(writes):
                continue
            self._changed(product_id)
            return ended
        raise _busy()

    def _existing(self, product_id: str) -> Snapshot:
        snapshot = read(self._client, self._table, product_id)
        if snapshot is None:
            raise ProductNotFound(f"product {product_id} does not exist")
        return snapshot

    def _won(self, writes: builtins.list[dict[str, Any]]) -> bool:
        """Write one product transaction; False (after a short pause) when another
        writer got there first, and the caller reads again."""
        try:
            self._client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            if not _lost_race(exc):
                raise
            time.sleep(random.uniform(0, retry.RACE.cap))
            return False
        return True

    def snapshot(self, product_id: str) -> Snapshot | None:
        """The product and its stock items now (strongly consistent, uncached)."""
        return read(self._client, self._table, product_id)

    def set_room_rate(self, product_id: str, rate: int) -> Product:
        """Change a waiting room's admission rate live. Orders do not copy the
        rate, so it is written without a new version (orders in flight are not
        sent back to re-read); the admitter reads it at its next tick."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"productId": {"S": product_id}},
                UpdateExpression="SET waitingRoom.ratePerSecond = :r",
                ConditionExpression=(
                    "attribute_exists(waitingRoom) AND attribute_not_exists(shardOf)"
                ),
                ExpressionAttributeValues={":r": {"N": str(rate)}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            raise NotFound(f"product {product_id} has no waiting room") from exc
        self._changed(product_id)
        return self._existing(product_id).product

    def _changed(self, product_id: str) -> None:
        self._listing = None
        self._one.pop(product_id, None)
        for listener in self._listeners:
            listener(product_id)


def assemble(items: list[Item]) -> list[Product]:
    """Products from a scan of the Products table (shard stock summed per product)."""
    shard_stock: dict[str, int] = {}
    for item in items:
        if "shardOf" in item:
            owner = item["shardOf"]["S"]
            shard_stock[owner] = shard_stock.get(owner, 0) + int(item["stock"]["N"])
    products = [
        Product.from_item(item, shard_stock.get(item["productId"]["S"], 0))
        if int(item.get("shards", {"N": "1"})["N"]) > 1
        else Product.from_item(item)
        for item in items
        if "shardOf" not in item
    ]
    products.sort(key=lambda p: p.product_id)
    return products


def _new_product(spec: ProductInput, shards: int) -> Product:
    currency = spec.currency or "usd"
    if not money.fits(spec.price, currency):
        raise InvalidRequest(
            f"price: {spec.price} has more decimals than {currency.upper()} has"
            f" (at most {money.decimals(currency)})"
        )
    # Orders compare versions only for equality, so a fresh unique number serves,
    # and the product and its shards share it without a read.
    return spec.product(
        version=time.time_ns(),
        shards=shards,
        checkout=spec.checkout or "instant",
        currency=currency,
    )


def _put_writes(
    table: str, product: Product, current: Item | None, old_shards: int
) -> list[dict[str, Any]]:
    if current is None:
        guard: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(productId)"}
    else:
        guard = {
            "ConditionExpression": "version = :seen",
            "ExpressionAttributeValues": {":seen": current["version"]},
        }
    writes: list[dict[str, Any]] = [
        {"Put": {"TableName": table, "Item": product.to_item(), **guard}}
    ]
    if product.shards > 1:
        for index, stock in enumerate(split(product.stock, product.shards)):
            writes.append({"Put": {"TableName": table, "Item": product.shard_item(index, stock)}})
    first_gone = product.shards if product.shards > 1 else 0
    for index in range(first_gone, old_shards if old_shards > 1 else 0):
        key = {"productId": {"S": shard_key(product.product_id, index)}}
        writes.append({"Delete": {"TableName": table, "Key": key}})
    return writes


def _busy() -> Busy:
    return Busy("the product is being changed by someone else; try again")


def _lost_race(exc: ClientError) -> bool:
    """Whether a product transaction failed because another writer got there first."""
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return False
    reasons = exc.response.get("CancellationReasons") or []
    codes = {reason.get("Code") for reason in reasons}
    return bool(codes & {"ConditionalCheckFailed", "TransactionConflict"})
