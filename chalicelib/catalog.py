"""Products: the catalog table, read and written through the low-level client."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chalicelib.errors import ProductNotFound
from chalicelib.validation import ProductInput

Item = dict[str, dict[str, Any]]

# Optional product attributes: (JSON field, DynamoDB attribute, type tag).
_OPTIONAL = (
    ("description", "description", "S"),
    ("imageUrl", "imageUrl", "S"),
    ("maxPerUser", "maxPerUser", "N"),
    ("saleStartsAt", "saleStartsAt", "S"),
    ("saleEndsAt", "saleEndsAt", "S"),
)


def number(value: Decimal | int) -> int | float:
    """A JSON number for a DynamoDB number: int when whole, else float."""
    if isinstance(value, int) or value == value.to_integral_value():
        return int(value)
    return float(value)


@dataclass(frozen=True)
class Product:
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

    @classmethod
    def from_item(cls, item: Item) -> Product:
        """Build a Product from a DynamoDB item in wire format."""

        def opt(name: str) -> str | None:
            value = item.get(name)
            return None if value is None else next(iter(value.values()))

        max_per_user = opt("maxPerUser")
        return cls(
            product_id=item["productId"]["S"],
            name=item["name"]["S"],
            price=Decimal(item["price"]["N"]),
            stock=int(item["stock"]["N"]),
            version=int(item.get("version", {"N": "0"})["N"]),
            description=opt("description"),
            image_url=opt("imageUrl"),
            max_per_user=None if max_per_user is None else int(max_per_user),
            sale_starts_at=opt("saleStartsAt"),
            sale_ends_at=opt("saleEndsAt"),
        )

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
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body


class Catalog:
    """Reads and writes products in the Products table."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def get(self, product_id: str) -> Product:
        """One product, or ProductNotFound."""
        found = self.find(product_id)
        if found is None:
            raise ProductNotFound(f"product {product_id} does not exist")
        return found

    def find(self, product_id: str) -> Product | None:
        """One product, or None."""
        response = self._client.get_item(
            TableName=self._table, Key={"productId": {"S": product_id}}
        )
        item = response.get("Item")
        return None if item is None else Product.from_item(item)

    def list(self) -> list[Product]:
        """Every product, sorted by id (a flash-sale catalog is small)."""
        products: list[Product] = []
        for page in self._client.get_paginator("scan").paginate(TableName=self._table):
            products.extend(Product.from_item(item) for item in page["Items"])
        return sorted(products, key=lambda p: p.product_id)

    def put(self, spec: ProductInput) -> Product:
        """Create or replace a product; bumps its version so order caches notice."""
        values: dict[str, Any] = {
            ":name": {"S": spec.name},
            ":price": {"N": str(spec.price)},
            ":stock": {"N": str(spec.stock)},
            ":zero": {"N": "0"},
            ":one": {"N": "1"},
        }
        sets = ["#name = :name", "price = :price", "stock = :stock"]
        sets.append("version = if_not_exists(version, :zero) + :one")
        removes = []
        given = {
            "description": spec.description,
            "imageUrl": spec.image_url,
            "maxPerUser": spec.max_per_user,
            "saleStartsAt": spec.sale_starts_at,
            "saleEndsAt": spec.sale_ends_at,
        }
        for field, attribute, tag in _OPTIONAL:
            value = given[field]
            if value is None:
                removes.append(attribute)
            else:
                values[f":{attribute}"] = {tag: str(value)}
                sets.append(f"{attribute} = :{attribute}")
        expression = "SET " + ", ".join(sets)
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        response = self._client.update_item(
            TableName=self._table,
            Key={"productId": {"S": spec.product_id}},
            UpdateExpression=expression,
            ExpressionAttributeNames={"#name": "name"},
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        return Product.from_item(response["Attributes"])
