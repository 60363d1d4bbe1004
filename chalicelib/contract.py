"""The request contract, declared once.

Every type, range, pattern and size a client may send is written here and only
here, as msgspec Structs and annotated types. `chalicelib.validation` checks
requests against them, `api/openapi.py` turns them into the OpenAPI document
the fuzzer and clients use, and `python -m api.readme` renders README's input
table from them (a test keeps README in step).

msgspec rather than pydantic: both give typed models with JSON Schema, but
importing pydantic and building two small models cost 45% of `import boto3,
chalice` in instructions, msgspec 4% (bench/coldstart.py's budget is 10%).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

# The defaults a product takes when a field is omitted are the model's.
from chalicelib.model.product import (
    DEFAULT_CANCEL_WINDOW_MINUTES,
    DEFAULT_HOLD_MINUTES,
    DEFAULT_PASS_SECONDS,
)

MAX_BODY_BYTES = 16 * 1024
MAX_ORDER_QUANTITY = 100
MAX_PER_USER = 1000
MAX_PRICE = Decimal("1000000")
PRICE_DECIMALS = 2
MAX_STOCK = 10_000_000
# A hot product's stock is spread over up to this many items (see catalog.py).
MAX_SHARDS = 32
MAX_CANCEL_WINDOW_MINUTES = 7 * 24 * 60
# Pay-checkout holds (docs/payments.md): how long a shopper has to pay.
MAX_HOLD_MINUTES = 60
CHECKOUT_MODES = ("instant", "pay")
# Waiting rooms (docs/waiting-room.md): admissions a second, and a pass's life.
MAX_ROOM_RATE = 10_000
MIN_PASS_SECONDS = 30
MAX_PASS_SECONDS = 3600
MAX_ROOM_TOKEN_LENGTH = 1024
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
MAX_TOKEN_LENGTH = 1024


def whole(pattern: str) -> str:
    """`pattern` anchored to the whole string in both regex dialects that read it.

    msgspec checks patterns with Python's `re.search`, where `$` also matches
    before a final newline ("u\\n" would pass as "u"); the JSON Schema reader
    (ECMA 262) has no `\\Z`. The lookahead refuses that newline in Python and is
    a no-op at the true end of the string in ECMA.
    """
    return f"^(?:{pattern})$(?!\\n)"


Id = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=128,
        pattern=whole(r"[A-Za-z0-9][A-Za-z0-9_.@:-]*"),
        description="1-128 letters, digits and _.@:- starting with a letter or digit",
    ),
]
Quantity = Annotated[
    int,
    Meta(
        ge=1,
        le=MAX_ORDER_QUANTITY,
        description=f"an integer from 1 to {MAX_ORDER_QUANTITY}",
    ),
]
Name = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        # Not blank, and no control characters: names go into emails and CSV.
        pattern=whole(r"[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*"),
        description="1-200 characters, not blank, no control characters",
    ),
]
Description = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=2000,
        # Line breaks and tabs are text here; other control characters are not.
        pattern=whole(r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*"),
        description="1-2000 characters; line breaks and tabs allowed, no other controls",
    ),
]
ImageUrl = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=2048,
        # A path must stay on this site: browsers read "//host" and "/\host" as
        # another host's address.
        pattern=whole(r"(?:https?://[\x21-\x7e]+|/(?![/\\])[\x21-\x7e]*)"),
        description="an http(s) URL or a path starting with one /, visible ASCII, at most 2048",
    ),
]


class Money(Decimal):
    """A price: a JSON number (never a string), greater than 0 and at most
    MAX_PRICE, with at most PRICE_DECIMALS decimals. msgspec range-checks ints and
    floats but not Decimals, so this type checks itself (see `dec_hook`)."""

    DESCRIPTION = (
        f"a number greater than 0 and at most {MAX_PRICE}, with at most {PRICE_DECIMALS} decimals"
    )
    JSON_SCHEMA: dict[str, Any] = {  # noqa: RUF012 - read-only
        "type": "number",
        "exclusiveMinimum": 0,
        "maximum": int(MAX_PRICE),
        "multipleOf": 10**-PRICE_DECIMALS,
        "description": DESCRIPTION,
    }

    @classmethod
    def parse(cls, value: Any) -> Money:
        """`value` as parsed from JSON (int or Decimal) if it is a valid price."""
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise TypeError(cls.DESCRIPTION)
        price = cls(value)
        exponent = price.as_tuple().exponent
        if not isinstance(exponent, int) or exponent < -PRICE_DECIMALS:
            raise ValueError(cls.DESCRIPTION)
        if not 0 < price <= MAX_PRICE:
            raise ValueError(cls.DESCRIPTION)
        # 1E+2 is a valid price of 100; store it as 100, not in exponent form.
        return cls(price.quantize(Decimal(1))) if exponent > 0 else price


def dec_hook(kind: type, value: Any) -> Any:
    """msgspec's hook for the contract's own types."""
    if kind is Money:
        return Money.parse(value)
    raise NotImplementedError(f"no decoder for {kind}")


def schema_hook(kind: type) -> dict[str, Any]:
    """The JSON Schema of the contract's own types."""
    if kind is Money:
        return dict(Money.JSON_SCHEMA)
    raise NotImplementedError(f"no schema for {kind}")


Stock = Annotated[int, Meta(ge=0, le=MAX_STOCK, description=f"an integer from 0 to {MAX_STOCK}")]
Units = Annotated[int, Meta(ge=1, le=MAX_STOCK, description=f"an integer from 1 to {MAX_STOCK}")]
PerUser = Annotated[
    int, Meta(ge=1, le=MAX_PER_USER, description=f"an integer from 1 to {MAX_PER_USER}")
]
Shards = Annotated[
    int,
    Meta(
        ge=1,
        le=MAX_SHARDS,
        description=f"an integer from 1 to {MAX_SHARDS}; omitted: chosen from the stock",
    ),
]
CancelWindow = Annotated[
    int,
    Meta(
        ge=0,
        le=MAX_CANCEL_WINDOW_MINUTES,
        description=f"minutes a shopper may cancel, 0 to {MAX_CANCEL_WINDOW_MINUTES} "
        f"(default {DEFAULT_CANCEL_WINDOW_MINUTES})",
    ),
]
Checkout = Annotated[
    Literal["instant", "pay"],
    Meta(description='"instant" (confirmed when the stock is taken) or "pay" (held until paid)'),
]
HoldMinutes = Annotated[
    int,
    Meta(
        ge=1,
        le=MAX_HOLD_MINUTES,
        description=f"minutes a pay-checkout hold lasts, 1 to {MAX_HOLD_MINUTES} "
        f"(default {DEFAULT_HOLD_MINUTES})",
    ),
]
Currency = Annotated[
    str,
    Meta(
        min_length=3,
        max_length=3,
        pattern=whole(r"[a-z]{3}"),
        description="an ISO 4217 currency code in lower case, e.g. usd",
    ),
]
RoomRate = Annotated[
    int,
    Meta(ge=1, le=MAX_ROOM_RATE, description=f"shoppers admitted a second, 1 to {MAX_ROOM_RATE}"),
]
PassSeconds = Annotated[
    int,
    Meta(
        ge=MIN_PASS_SECONDS,
        le=MAX_PASS_SECONDS,
        description=f"seconds an admitted shopper has to order, {MIN_PASS_SECONDS} to "
        f"{MAX_PASS_SECONDS} (default {DEFAULT_PASS_SECONDS})",
    ),
]
RoomToken = Annotated[
    str,
    Meta(
        min_length=8,
        max_length=MAX_ROOM_TOKEN_LENGTH,
        pattern=whole(r"v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"),
        description="a waiting-room ticket or pass as the queue gave it",
    ),
]
QueuePage = Annotated[int, Meta(ge=0, le=100_000, description="a page number from 0")]
PaymentMethod = Annotated[
    str,
    Meta(
        min_length=4,
        max_length=255,
        pattern=whole(r"(?:pm|card|src)_[A-Za-z0-9_]+"),
        description="a Stripe payment method id (pm_..., or card_... from Stripe.js createToken)",
    ),
]
IntentId = Annotated[
    str,
    Meta(
        min_length=4,
        max_length=255,
        pattern=whole(r"pi_[A-Za-z0-9_]+"),
        description="a Stripe PaymentIntent id (pi_...)",
    ),
]
Signature = Annotated[
    str,
    Meta(max_length=2048, description="Stripe's webhook signature, t=...,v1=..."),
]
Instant = Annotated[
    datetime,
    Meta(
        tz=True,
        description="an RFC 3339 time with a zone, years 0001-9999 in UTC, "
        "e.g. 2026-11-27T09:00:00.000Z",
    ),
]
IdempotencyKey = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=255,
        pattern=whole(r"[\x21-\x7e]+"),
        description="1-255 visible ASCII characters",
    ),
]
PageSize = Annotated[
    int,
    Meta(
        ge=1,
        le=MAX_PAGE_SIZE,
        description=f"an integer from 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE})",
    ),
]
PageToken = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_TOKEN_LENGTH,
        pattern=whole(r"[A-Za-z0-9_-]+={0,2}"),
        description="the nextToken of the previous page",
    ),
]
LiveMinutes = Annotated[int, Meta(ge=1, le=1440, description="an integer from 1 to 1440")]


class Body(Struct, forbid_unknown_fields=True, rename="camel"):
    """A JSON request body: unknown fields are errors, field names are camelCase."""


class OrderBody(Body):
    """POST /orders"""

    user_id: Id
    product_id: Id
    quantity: Quantity
    # Required while the product's waiting room is on (docs/waiting-room.md).
    admission_pass: RoomToken | None = None


class WaitingRoomBody(Body):
    """{"ratePerSecond", "passSeconds"?}: sold through a waiting room (null: none)"""

    rate_per_second: RoomRate
    pass_seconds: PassSeconds = DEFAULT_PASS_SECONDS


class ProductBody(Body):
    """PUT /products/{productId} and PUT /admin/sales/{productId}"""

    name: Name
    price: Money
    stock: Stock
    product_id: Id | None = None
    description: Description | None = None
    image_url: ImageUrl | None = None
    max_per_user: PerUser | None = None
    sale_starts_at: Instant | None = None
    sale_ends_at: Instant | None = None
    shards: Shards | None = None
    cancel_window_minutes: CancelWindow | None = None
    checkout: Checkout | None = None
    hold_minutes: HoldMinutes | None = None
    currency: Currency | None = None
    waiting_room: WaitingRoomBody | None = None


class PayBody(Body):
    """POST /orders/{orderId}/pay"""

    payment_method: PaymentMethod
    # The order's PaymentIntent, as POST /orders gave it: with it the server asks
    # Stripe, not the order table, what the hold is (docs/payments.md).
    payment_intent_id: IntentId | None = None


class JoinBody(Body):
    """POST /products/{productId}/queue/join (the local stage names the shopper here)"""

    user_id: Id | None = None


class RoomRateBody(Body):
    """PUT /admin/rooms/{productId}: the admission rate, changed live"""

    rate_per_second: RoomRate


class TicketQuery(Body):
    """GET /products/{productId}/queue/me"""

    ticket: RoomToken


class EntriesQuery(Body):
    """GET /products/{productId}/queue/entries"""

    page: QueuePage = 0


class EmptyBody(Body):
    """A POST that takes no fields (an empty body, or {})."""


class RestockBody(Body):
    """POST /admin/sales/{productId}/restock"""

    units: Units


class CancelBody(Body):
    """POST /orders/{orderId}/cancel (the local stage names the shopper here)"""

    user_id: Id | None = None


class PageQuery(Body):
    """GET /users/{userId}/orders and GET /admin/sales/{productId}/orders"""

    limit: PageSize = DEFAULT_PAGE_SIZE
    next_token: PageToken | None = None


class AdminOrdersQuery(PageQuery):
    """GET /admin/sales/{productId}/orders: a page, or one order, or one shopper's"""

    order_id: Id | None = None
    user_id: Id | None = None


class LiveQuery(Body):
    """GET /admin/sales/{productId}/live"""

    minutes: LiveMinutes = 60


def rule(schema: dict[str, Any], components: dict[str, Any] | None = None) -> str:
    """What a value must be, from its JSON Schema (an optional field's is inside
    anyOf; an object's is its model's docstring, among `components`)."""
    if "description" in schema:
        return str(schema["description"])
    if "$ref" in schema and components is not None:
        return rule(components[schema["$ref"].rsplit("/", 1)[1]])
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return rule(option, components)
    return "valid"


# Path parameters, by name: every one is an Id.
PATH_PARAMETERS: dict[str, Any] = {"productId": Id, "orderId": Id, "userId": Id}
