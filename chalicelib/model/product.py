"""A product: what an operator asks for (`ProductInput`), what is stored
(`Product`), and its one mapping each way to the Products table and to the
contract's JSON.

A product is one item (`productId`) holding its name, price, sale window and
`version`; its stock lives in that item when it has one shard, else in shard
items `{productId}#0..N-1`, each carrying copies of the fields an order's
condition checks (`guarded_fields`: version, price, window).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from chalicelib import instants
from chalicelib.model import wire
from chalicelib.model.wire import Item, number

# What a product written without them gets (the contract describes them to clients).
DEFAULT_CANCEL_WINDOW_MINUTES = 15
DEFAULT_HOLD_MINUTES = 10
DEFAULT_PASS_SECONDS = 120  # how long an admitted shopper has to order


class WaitingRoom(NamedTuple):
    """A product's waiting room (docs/waiting-room.md): on when present. The rate
    is the operator's, changed live without a new product version."""

    rate_per_second: int
    pass_seconds: int = DEFAULT_PASS_SECONDS

    def to_json(self) -> dict[str, int]:
        return {"ratePerSecond": self.rate_per_second, "passSeconds": self.pass_seconds}

    def to_attribute(self) -> dict[str, Any]:
        return {
            "M": {
                "ratePerSecond": {"N": str(self.rate_per_second)},
                "passSeconds": {"N": str(self.pass_seconds)},
            }
        }

    @classmethod
    def from_attribute(cls, value: dict[str, Any] | None) -> WaitingRoom | None:
        if value is None or "M" not in value:
            return None
        fields = value["M"]
        return cls(int(fields["ratePerSecond"]["N"]), int(fields["passSeconds"]["N"]))


def shard_key(product_id: str, index: int) -> str:
    """The Products-table key of one stock shard ('#' never occurs in product ids)."""
    return f"{product_id}#{index}"


class Product(NamedTuple):
    product_id: str
    name: str
    price: Decimal
    stock: int
    version: int
    description: str | None = None
    image_url: str | None = None
    max_per_user: int | None = None
    sale_starts_at: datetime | None = None
    sale_ends_at: datetime | None = None
    shards: int = 1
    cancel_window_minutes: int = DEFAULT_CANCEL_WINDOW_MINUTES
    checkout: str = "instant"  # or "pay": held until paid (docs/payments.md)
    hold_minutes: int = DEFAULT_HOLD_MINUTES
    currency: str = "usd"
    waiting_room: WaitingRoom | None = None

    @property
    def pays(self) -> bool:
        """Whether an order of this product is held until it is paid."""
        return self.checkout == "pay"

    @classmethod
    def from_item(cls, item: Item, stock: int | None = None) -> Product:
        """Build a Product from its item in wire format (a sharded product's stock
        lives in its shard items and is passed in)."""
        cancel_window = wire.integer(item, "cancelWindowMinutes")
        return cls(
            product_id=item["productId"]["S"],
            name=item["name"]["S"],
            price=Decimal(item["price"]["N"]),
            stock=int(item.get("stock", {"N": "0"})["N"]) if stock is None else stock,
            version=int(item.get("version", {"N": "0"})["N"]),
            description=wire.text(item, "description"),
            image_url=wire.text(item, "imageUrl"),
            max_per_user=wire.integer(item, "maxPerUser"),
            sale_starts_at=wire.instant(item, "saleStartsAt"),
            sale_ends_at=wire.instant(item, "saleEndsAt"),
            shards=wire.integer(item, "shards") or 1,
            cancel_window_minutes=(
                DEFAULT_CANCEL_WINDOW_MINUTES if cancel_window is None else cancel_window
            ),
            # Items written before checkout modes existed are instant, in dollars.
            checkout=wire.text(item, "checkout") or "instant",
            hold_minutes=wire.integer(item, "holdMinutes") or DEFAULT_HOLD_MINUTES,
            currency=wire.text(item, "currency") or "usd",
            waiting_room=WaitingRoom.from_attribute(item.get("waitingRoom")),
        )

    def with_guarded_fields(self, item: Item) -> Product:
        """This product as a stock item's copies of the guarded fields say it is
        (version, price, window): the inverse of `guarded_fields`."""
        return self._replace(
            version=int(item["version"]["N"]),
            price=Decimal(item["price"]["N"]),
            sale_starts_at=wire.instant(item, "saleStartsAt"),
            sale_ends_at=wire.instant(item, "saleEndsAt"),
        )

    @property
    def stock_keys(self) -> list[str]:
        """The items that hold this product's stock: itself, or its shards."""
        if self.shards == 1:
            return [self.product_id]
        return [shard_key(self.product_id, i) for i in range(self.shards)]

    def sale_active(self, moment: datetime) -> bool:
        """Whether the instant `moment` lies in the sale window."""
        starts_ok = self.sale_starts_at is None or self.sale_starts_at <= moment
        ends_ok = self.sale_ends_at is None or moment < self.sale_ends_at
        return starts_ok and ends_ok

    def to_json(self) -> dict[str, Any]:
        """The contract's Product representation."""
        body: dict[str, Any] = {
            "productId": self.product_id,
            "name": self.name,
            "price": number(self.price),
            "stock": self.stock,
            "shards": self.shards,
            "cancelWindowMinutes": self.cancel_window_minutes,
        }
        if self.pays:
            # Instant products' JSON is exactly what it was before checkout modes.
            body.update(checkout="pay", holdMinutes=self.hold_minutes, currency=self.currency)
        if self.waiting_room is not None:
            body["waitingRoom"] = self.waiting_room.to_json()
        optional = {
            "description": self.description,
            "imageUrl": self.image_url,
            "maxPerUser": self.max_per_user,
            "saleStartsAt": None
            if self.sale_starts_at is None
            else instants.canonical(self.sale_starts_at),
            "saleEndsAt": None
            if self.sale_ends_at is None
            else instants.canonical(self.sale_ends_at),
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body

    def guarded_fields(self) -> Item:
        """What every stock item carries so an order's condition can check it."""
        item: Item = {"version": {"N": str(self.version)}, "price": {"N": str(self.price)}}
        if self.sale_starts_at is not None:
            item["saleStartsAt"] = {"S": instants.canonical(self.sale_starts_at)}
        if self.sale_ends_at is not None:
            item["saleEndsAt"] = {"S": instants.canonical(self.sale_ends_at)}
        return item

    def to_item(self) -> Item:
        """The product's own item."""
        item: Item = {
            "productId": {"S": self.product_id},
            "name": {"S": self.name},
            "shards": {"N": str(self.shards)},
            "cancelWindowMinutes": {"N": str(self.cancel_window_minutes)},
            "checkout": {"S": self.checkout},
            "currency": {"S": self.currency},
            **self.guarded_fields(),
        }
        if self.pays:
            item["holdMinutes"] = {"N": str(self.hold_minutes)}
        if self.shards == 1:
            item["stock"] = {"N": str(self.stock)}
        if self.description is not None:
            item["description"] = {"S": self.description}
        if self.image_url is not None:
            item["imageUrl"] = {"S": self.image_url}
        if self.max_per_user is not None:
            item["maxPerUser"] = {"N": str(self.max_per_user)}
        if self.waiting_room is not None:
            item["waitingRoom"] = self.waiting_room.to_attribute()
        return item

    def shard_item(self, index: int, stock: int) -> Item:
        """One stock shard's item."""
        return {
            "productId": {"S": shard_key(self.product_id, index)},
            "shardOf": {"S": self.product_id},
            "stock": {"N": str(stock)},
            **self.guarded_fields(),
        }


class ProductInput(NamedTuple):
    """A product as an operator writes it (PUT /products, the console's save):
    a Product's fields less what the writer decides."""

    product_id: str
    name: str
    price: Decimal
    stock: int
    description: str | None = None
    image_url: str | None = None
    max_per_user: int | None = None
    sale_starts_at: datetime | None = None
    sale_ends_at: datetime | None = None
    shards: int | None = None  # None: chosen from the stock
    cancel_window_minutes: int = DEFAULT_CANCEL_WINDOW_MINUTES
    checkout: str | None = None  # None: the stage's default
    hold_minutes: int = DEFAULT_HOLD_MINUTES
    currency: str | None = None  # None: the stage's default
    waiting_room: WaitingRoom | None = None

    def product(self, version: int, shards: int, checkout: str, currency: str) -> Product:
        """The product this input writes, with what the writer decided."""
        decided = {"version": version, "shards": shards, "checkout": checkout, "currency": currency}
        return Product(**{**self._asdict(), **decided})
