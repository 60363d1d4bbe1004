"""Products: the catalog table, read and written through the low-level client."""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

from chalicelib.errors import ProductNotFound
from chalicelib.validation import ProductInput

Item = dict[str, dict[str, Any]]


def number(value: Decimal | int) -> int | float:
    """A JSON number for a DynamoDB number: int when whole, else float."""
    if isinstance(value, int) or value == value.to_integral_value():
        return int(value)
    return float(value)


class Product(NamedTuple):
    product_id: str
    name: str
    price: Decimal
    stock: int
    version: int
    description: str | None = None
    image_url: str | None = None
    max_per_user: int | None = None
    sale_starts_at: str | None = None
    sale_ends_at: str | None = None
    shards: int = 1

    @classmethod
    def from_item(cls, item: Item, stock: int | None = None) -> Product:
        """Build a Product from its item in wire format (a sharded product's stock
        lives in its shard items and is passed in)."""

        def opt(name: str) -> str | None:
            value = item.get(name)
            return None if value is None else next(iter(value.values()))

        max_per_user = opt("maxPerUser")
        return cls(
            product_id=item["productId"]["S"],
            name=item["name"]["S"],
            price=Decimal(item["price"]["N"]),
            stock=int(item.get("stock", {"N": "0"})["N"]) if stock is None else stock,
            version=int(item.get("version", {"N": "0"})["N"]),
            description=opt("description"),
            image_url=opt("imageUrl"),
            max_per_user=None if max_per_user is None else int(max_per_user),
            sale_starts_at=opt("saleStartsAt"),
            sale_ends_at=opt("saleEndsAt"),
            shards=int(item.get("shards", {"N": "1"})["N"]),
        )

    @property
    def stock_keys(self) -> list[str]:
        """The items that hold this product's stock: itself, or its shards."""
        if self.shards == 1:
            return [self.product_id]
        return [shard_key(self.product_id, i) for i in range(self.shards)]

    def sale_active(self, now: str) -> bool:
        """Whether `now` (a stored-format instant) lies in the sale window."""
        starts_ok = self.sale_starts_at is None or self.sale_starts_at <= now
        ends_ok = self.sale_ends_at is None or now < self.sale_ends_at
        return starts_ok and ends_ok

    def to_json(self) -> dict[str, Any]:
        """The contract's Product representation."""
        body: dict[str, Any] = {
            "productId": self.product_id,
            "name": self.name,
            "price": number(self.price),
            "stock": self.stock,
        }
        optional = {
            "description": self.description,
            "imageUrl": self.image_url,
            "maxPerUser": self.max_per_user,
            "saleStartsAt": self.sale_starts_at,
            "saleEndsAt": self.sale_ends_at,
            "shards": self.shards if self.shards > 1 else None,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body


def shard_key(product_id: str, index: int) -> str:
    """The Products-table key of one stock shard ('#' never occurs in product ids)."""
    return f"{product_id}#{index}"


def split(stock: int, shards: int) -> list[int]:
    """Stock spread over shards as evenly as whole units allow."""
    base, extra = divmod(stock, shards)
    return [base + (1 if i < extra else 0) for i in range(shards)]


class Catalog:
    """Reads and writes products in the Products table. Reads are cached in the
    container for `ttl` seconds: a sale's refresh storm costs one read a second."""

    def __init__(
        self,
        client: Any,
        table: str,
        ttl: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._table = table
        self._ttl = ttl
        self._clock = clock
        self._listing: tuple[float, list[Product]] | None = None
        self._one: dict[str, tuple[float, Product | None]] = {}
        self._listeners: list[Callable[[str], None]] = []
        # One reader refreshes an expired entry; the other threads wait for it
        # instead of all reading at once when a sale's traffic is at its peak.
        self._refreshing = threading.Lock()

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
                    cached = (self._clock() + self._ttl, self._read(product_id))
                    self._one[product_id] = cached
        found = cached[1]
        if found is None:
            raise ProductNotFound(f"product {product_id} does not exist")
        return found

    def describe(self, product_id: str) -> Product:
        """One product read now, without its shards' stock (what orders copy)."""
        item = self._client.get_item(
            TableName=self._table, Key={"productId": {"S": product_id}}
        ).get("Item")
        if item is None or "shardOf" in item:
            raise ProductNotFound(f"product {product_id} does not exist")
        return Product.from_item(item)

    def _read(self, product_id: str) -> Product | None:
        try:
            product = self.describe(product_id)
        except ProductNotFound:
            return None
        if product.shards == 1:
            return product
        keys = [{"productId": {"S": key}} for key in product.stock_keys]
        stock = 0
        request = {self._table: {"Keys": keys, "ProjectionExpression": "stock"}}
        while request:
            response = self._client.batch_get_item(RequestItems=request)
            stock += sum(int(i["stock"]["N"]) for i in response["Responses"][self._table])
            request = response.get("UnprocessedKeys") or {}
        return product._replace(stock=stock)

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
        for page in self._client.get_paginator("scan").paginate(TableName=self._table):
            items.extend(page["Items"])
        shard_stock: dict[str, int] = {}
        for item in items:
            if "shardOf" in item:
                owner = item["shardOf"]["S"]
                shard_stock[owner] = shard_stock.get(owner, 0) + int(item["stock"]["N"])
        products = [
            Product.from_item(item, shard_stock.get(item["productId"]["S"]))
            if int(item.get("shards", {"N": "1"})["N"]) > 1
            else Product.from_item(item)
            for item in items
            if "shardOf" not in item
        ]
        products.sort(key=lambda p: p.product_id)
        self._listing = (self._clock() + self._ttl, products)
        return products

    def put(self, spec: ProductInput) -> Product:
        """Create or replace a product and its stock shards in one transaction."""
        previous = self._client.get_item(
            TableName=self._table,
            Key={"productId": {"S": spec.product_id}},
            ProjectionExpression="shards",
        ).get("Item", {})
        old_shards = int(previous.get("shards", {"N": "1"})["N"])
        # Orders only compare versions for equality, so a fresh unique number
        # serves, and the product and its shards can share it without a read.
        product = Product(
            product_id=spec.product_id,
            name=spec.name,
            price=spec.price,
            stock=spec.stock,
            version=time.time_ns(),
            description=spec.description,
            image_url=spec.image_url,
            max_per_user=spec.max_per_user,
            sale_starts_at=spec.sale_starts_at,
            sale_ends_at=spec.sale_ends_at,
            shards=spec.shards,
        )
        writes = [{"Put": {"TableName": self._table, "Item": _product_item(product)}}]
        if product.shards > 1:
            for index, stock in enumerate(split(product.stock, product.shards)):
                writes.append(
                    {"Put": {"TableName": self._table, "Item": _shard_item(product, index, stock)}}
                )
        for index in range(
            product.shards if product.shards > 1 else 0, old_shards if old_shards > 1 else 0
        ):
            key = {"productId": {"S": shard_key(product.product_id, index)}}
            writes.append({"Delete": {"TableName": self._table, "Key": key}})
        if len(writes) == 1:
            self._client.put_item(**writes[0]["Put"])
        else:
            self._client.transact_write_items(TransactItems=writes)
        self._listing = None
        self._one.pop(product.product_id, None)
        for listener in self._listeners:
            listener(product.product_id)
        return product


def _guarded_fields(product: Product) -> Item:
    """What every stock item carries so an order's condition can check it."""
    item: Item = {"version": {"N": str(product.version)}, "price": {"N": str(product.price)}}
    if product.sale_starts_at is not None:
        item["saleStartsAt"] = {"S": product.sale_starts_at}
    if product.sale_ends_at is not None:
        item["saleEndsAt"] = {"S": product.sale_ends_at}
    return item


def _product_item(product: Product) -> Item:
    item: Item = {
        "productId": {"S": product.product_id},
        "name": {"S": product.name},
        "shards": {"N": str(product.shards)},
        **_guarded_fields(product),
    }
    if product.shards == 1:
        item["stock"] = {"N": str(product.stock)}
    if product.description is not None:
        item["description"] = {"S": product.description}
    if product.image_url is not None:
        item["imageUrl"] = {"S": product.image_url}
    if product.max_per_user is not None:
        item["maxPerUser"] = {"N": str(product.max_per_user)}
    return item


def _shard_item(product: Product, index: int, stock: int) -> Item:
    return {
        "productId": {"S": shard_key(product.product_id, index)},
        "shardOf": {"S": product.product_id},
        "stock": {"N": str(stock)},
        **_guarded_fields(product),
    }
