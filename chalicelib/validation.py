"""Request parsing and validation: every bad input becomes InvalidRequest."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from chalicelib.errors import InvalidRequest, UnsupportedMediaType

MAX_BODY_BYTES = 16 * 1024
MAX_PRICE = Decimal("1000000")
MAX_STOCK = 10_000_000
# A hot product's stock can be split over up to this many items (see catalog.py).
MAX_SHARDS = 32
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}$")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_URL = re.compile(r"^(https://|http://|/)[^\s]{0,2040}$")


class OrderRequest(NamedTuple):
    user_id: str
    product_id: str
    quantity: int


class ProductInput(NamedTuple):
    product_id: str
    name: str
    price: Decimal
    stock: int
    description: str | None
    image_url: str | None
    max_per_user: int | None
    sale_starts_at: str | None
    sale_ends_at: str | None
    shards: int = 1


def _reject_constant(name: str) -> Any:
    raise InvalidRequest(f"{name} is not a valid JSON number")


def json_object(raw: bytes | None, content_type: str | None) -> dict[str, Any]:
    """Parse a request body that must be one JSON object."""
    if content_type and content_type.split(";")[0].strip().lower() != "application/json":
        raise UnsupportedMediaType("Content-Type must be application/json")
    if not raw:
        raise InvalidRequest("request body must be a JSON object")
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidRequest(f"request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidRequest("request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object")
    return body


def identifier(value: Any, field: str) -> str:
    """An id: 1-128 letters, digits and _.@:- starting with a letter or digit."""
    if not isinstance(value, str) or not _ID.match(value):
        raise InvalidRequest(
            f"{field} must be 1-128 characters of letters, digits and _.@:- "
            "starting with a letter or digit"
        )
    return value


def idempotency_key(value: str | None) -> str | None:
    """The optional Idempotency-Key header: 1-255 visible ASCII characters."""
    if value is None:
        return None
    if not _IDEMPOTENCY_KEY.match(value):
        raise InvalidRequest("Idempotency-Key must be 1-255 visible ASCII characters")
    return value


def _integer(body: dict[str, Any], field: str, low: int, high: int) -> int:
    value = body.get(field)
    # bool is an int in Python; JSON true is not a quantity.
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidRequest(f"{field} must be an integer from {low} to {high}")
    return value


def _text(body: dict[str, Any], field: str, limit: int, required: bool) -> str | None:
    value = body.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidRequest(f"{field} must be a non-empty string of at most {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        # JSON allows a lone "\ud800" escape; no store or email can hold it.
        raise InvalidRequest(f"{field} is not valid Unicode text") from exc
    return value


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(unknown)}")


def order_request(body: dict[str, Any], max_quantity: int) -> OrderRequest:
    """Validate a POST /orders body."""
    _only(body, {"userId", "productId", "quantity"})
    return OrderRequest(
        user_id=identifier(body.get("userId"), "userId"),
        product_id=identifier(body.get("productId"), "productId"),
        quantity=_integer(body, "quantity", 1, max_quantity),
    )


def _price(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise InvalidRequest("price must be a number")
    try:
        price = Decimal(value)
        exponent = price.as_tuple().exponent
    except InvalidOperation as exc:
        raise InvalidRequest("price must be a number") from exc
    if not isinstance(exponent, int) or exponent < -2 or not 0 < price <= MAX_PRICE:
        raise InvalidRequest(
            f"price must be greater than 0 and at most {MAX_PRICE}, with at most 2 decimals"
        )
    return price.quantize(Decimal(1)) if exponent > 0 else price


def timestamp(value: Any, field: str) -> str | None:
    """An ISO-8601 instant with a zone, normalised to YYYY-MM-DDTHH:MM:SSZ (UTC)."""
    if value is None:
        return None
    try:
        if not isinstance(value, str) or len(value) > 40:
            raise ValueError(value)
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError(value)
    except ValueError as exc:
        raise InvalidRequest(
            f"{field} must be an ISO-8601 time with a zone, e.g. 2026-11-27T00:00:00Z"
        ) from exc
    return format_instant(parsed)


def format_instant(moment: datetime) -> str:
    """The one timestamp format stored, so that strings compare like instants."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def product_input(product_id: str, body: dict[str, Any]) -> ProductInput:
    """Validate a PUT /products/{productId} body."""
    _only(
        body,
        {
            "productId",
            "name",
            "description",
            "imageUrl",
            "price",
            "stock",
            "maxPerUser",
            "saleStartsAt",
            "saleEndsAt",
            "shards",
        },
    )
    identifier(product_id, "productId")
    if "productId" in body and body["productId"] != product_id:
        raise InvalidRequest("productId in the body does not match the path")
    image_url = _text(body, "imageUrl", 2048, required=False)
    if image_url is not None and not _URL.match(image_url):
        raise InvalidRequest("imageUrl must be an http(s) URL or a path starting with /")
    starts = timestamp(body.get("saleStartsAt"), "saleStartsAt")
    ends = timestamp(body.get("saleEndsAt"), "saleEndsAt")
    if starts and ends and starts >= ends:
        raise InvalidRequest("saleStartsAt must be before saleEndsAt")
    max_per_user = None
    if body.get("maxPerUser") is not None:
        max_per_user = _integer(body, "maxPerUser", 1, 1000)
    name = _text(body, "name", 200, required=True)
    assert name is not None
    return ProductInput(
        product_id=product_id,
        name=name,
        price=_price(body.get("price")),
        stock=_integer(body, "stock", 0, MAX_STOCK),
        description=_text(body, "description", 2000, required=False),
        image_url=image_url,
        max_per_user=max_per_user,
        sale_starts_at=starts,
        sale_ends_at=ends,
        shards=1 if body.get("shards") is None else _integer(body, "shards", 1, MAX_SHARDS),
    )


def page_size(value: str | None, default: int = 50, most: int = 100) -> int:
    """The `limit` query parameter: 1 to `most`."""
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= most:
        raise InvalidRequest(f"limit must be an integer from 1 to {most}")
    return int(value)
