"""Requests checked against the contract (chalicelib.contract): every bad input
becomes InvalidRequest (400) or UnsupportedMediaType (415), never a 500.

JSON is parsed strictly before any type is looked at: a key given twice, NaN
or Infinity, a number with more digits than any field allows and nesting
deeper than the parser can follow are all 400s. Then msgspec checks the
parsed value against the contract's types without coercion ("1" is not 1).
"""

from __future__ import annotations

import functools
import json
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar, get_args, get_origin
from urllib.parse import unquote

import msgspec

from chalicelib import contract, instants
from chalicelib.errors import InvalidRequest, UnsupportedMediaType
from chalicelib.model import OrderRequest, ProductInput, WaitingRoom

T = TypeVar("T")
# No field takes a number longer than this; longer ones are refused before
# Python converts them (int() of thousands of digits is slow, then refused).
MAX_NUMBER_CHARS = 32
_FIELD_PATH = re.compile(r" - at `\$\.?([A-Za-z]*)[^`]*`$")
_QUOTED = re.compile(r"`([^`]+)`")


# --- strict JSON -----------------------------------------------------------------


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise InvalidRequest(f"the field {key!r} is given twice")
        found[key] = value
    return found


def _number(text: str) -> None:
    if len(text) > MAX_NUMBER_CHARS:
        raise InvalidRequest(f"a number in the body is longer than {MAX_NUMBER_CHARS} characters")


def _int(text: str) -> int:
    _number(text)
    return int(text)


def _decimal(text: str) -> Decimal:
    _number(text)
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # an exponent past Decimal's own range: 1e99999999999999999
        raise InvalidRequest("a number in the body is out of range") from exc


def _constant(name: str) -> Any:
    raise InvalidRequest(f"{name} is not a JSON number")


def parse_json(raw: bytes | None, content_type: str | None) -> Any:
    """A request body parsed as strict JSON (any JSON value): UTF-8 (RFC 8259),
    so no byte-order mark and no other charset, which Python's json would
    otherwise detect and accept."""
    if content_type:
        media, *parameters = content_type.split(";")
        if media.strip().lower() != "application/json":
            raise UnsupportedMediaType("Content-Type must be application/json")
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            charset = value.strip().strip('"').lower()
            if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
                raise UnsupportedMediaType("JSON bodies are UTF-8: charset must be utf-8")
    if not raw:
        raise InvalidRequest("request body must be a JSON object")
    if len(raw) > contract.MAX_BODY_BYTES:
        raise InvalidRequest(f"request body is larger than {contract.MAX_BODY_BYTES} bytes")
    try:
        return json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_object,
            parse_int=_int,
            parse_float=_decimal,
            parse_constant=_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidRequest("request body is not valid JSON") from exc


# --- the contract's types ------------------------------------------------------------


@functools.cache
def _descriptions(model: type) -> dict[str, str]:
    """What each field of `model` must be, from the contract's JSON Schema."""
    (_,), components = msgspec.json.schema_components([model], schema_hook=contract.schema_hook)
    properties = components[model.__name__]["properties"]
    return {name: contract.rule(spec) for name, spec in properties.items()}


def _invalid(error: msgspec.ValidationError, model: type) -> InvalidRequest:
    """A contract error message for what msgspec found ('quantity must be ...')."""
    text = str(error)
    quoted = _QUOTED.search(text)
    if text.startswith("Object contains unknown field") and quoted:
        return InvalidRequest(f"unknown field(s): {quoted.group(1)}")
    if text.startswith("Object missing required field") and quoted:
        field = quoted.group(1)
    else:
        at = _FIELD_PATH.search(text)
        field = at.group(1) if at else ""
    if not field:
        return InvalidRequest("request body must be a JSON object")
    return InvalidRequest(f"{field} must be {_descriptions(model).get(field, 'valid')}")


def _convert(value: Any, model: type[T]) -> T:
    _text_is_unicode(value)
    try:
        return msgspec.convert(value, model, strict=True, dec_hook=contract.dec_hook)
    except msgspec.ValidationError as exc:
        raise _invalid(exc, model) from exc


def body(raw: bytes | None, content_type: str | None, model: type[T]) -> T:
    """A request body as one of the contract's Body types."""
    parsed = parse_json(raw, content_type)
    if not isinstance(parsed, dict):
        raise InvalidRequest("request body must be a JSON object")
    return _convert(parsed, model)


def optional_body(raw: bytes | None, content_type: str | None, model: type[T]) -> T:
    """Like `body`, but an empty body is the model's defaults."""
    if not raw:
        return _convert({}, model)
    return body(raw, content_type, model)


def _text_is_unicode(value: Any) -> None:
    """Refuse text no store, email or CSV can hold: JSON may escape a lone
    surrogate ("\\ud800"). Iterative, as the value may be nested deep."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InvalidRequest("the request holds text that is not valid Unicode") from exc
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _single(value: Any, kind: Any, name: str) -> Any:
    """`value` checked against one annotated contract type."""
    _text_is_unicode(value)
    try:
        return msgspec.convert(value, kind, strict=True)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"{name} must be {get_args(kind)[1].description}") from exc


def identifier(value: Any, field: str) -> str:
    """A path or body id (contract.Id)."""
    checked: str = _single(value, contract.Id, field)
    return checked


def path_id(value: str, field: str) -> str:
    """An id from the URL path. Clients percent-encode ids ("@" as %40); API
    Gateway and chalice local do not always decode path parameters, and "%" is
    never part of an id, so decoding here is unambiguous."""
    try:
        decoded = unquote(value, errors="strict") if "%" in value else value
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"{field} is not valid percent-encoded UTF-8") from exc
    return identifier(decoded, field)


def idempotency_key(value: str | None) -> str | None:
    """The optional Idempotency-Key header (contract.IdempotencyKey)."""
    if value is None:
        return None
    checked: str = _single(value, contract.IdempotencyKey, "Idempotency-Key")
    return checked


def query(params: dict[str, str] | None, model: type[T]) -> T:
    """Query parameters as one of the contract's query types. Integers arrive as
    text: only plain digits no longer than the field's maximum are converted."""
    values: dict[str, Any] = {}
    struct: Any = model
    kinds = {f.encode_name: f.type for f in msgspec.structs.fields(struct)}
    for name, text in (params or {}).items():
        if _is_int(kinds.get(name)):
            if not (text.isascii() and text.isdigit() and len(text) <= 9):
                raise InvalidRequest(f"{name} must be {_descriptions(struct)[name]}")
            values[name] = int(text)
        else:
            values[name] = text
    return _convert(values, model)


def _is_int(kind: Any) -> bool:
    if get_origin(kind) is Annotated:
        kind = get_args(kind)[0]
    return kind is int


# --- requests -----------------------------------------------------------------------


def order_request(raw: bytes | None, content_type: str | None) -> OrderRequest:
    """POST /orders"""
    order = body(raw, content_type, contract.OrderBody)
    return OrderRequest(order.user_id, order.product_id, order.quantity, order.admission_pass)


def product_input(product_id: str, spec: contract.ProductBody) -> ProductInput:
    """PUT /products/{productId}: the body, checked against the path and itself."""
    identifier(product_id, "productId")
    if spec.product_id is not None and spec.product_id != product_id:
        raise InvalidRequest("productId in the body does not match the path")
    starts = _instant(spec.sale_starts_at, "saleStartsAt")
    ends = _instant(spec.sale_ends_at, "saleEndsAt")
    if starts is not None and ends is not None and starts >= ends:
        raise InvalidRequest("saleStartsAt must be before saleEndsAt")
    # The body's fields are the input's, by name; one omitted takes the input's default.
    given = {k: v for k, v in msgspec.structs.asdict(spec).items() if v is not None}
    checked = {"product_id": product_id, "price": Decimal(spec.price)}
    window = {"sale_starts_at": starts, "sale_ends_at": ends}
    room = spec.waiting_room
    if room is not None:
        checked["waiting_room"] = WaitingRoom(room.rate_per_second, room.pass_seconds)
    return ProductInput(**{**given, **checked, **window})


def product_request(product_id: str, raw: bytes | None, content_type: str | None) -> ProductInput:
    """PUT /products/{productId} from the raw request."""
    return product_input(product_id, body(raw, content_type, contract.ProductBody))


def product_from_dict(product_id: str, fields: dict[str, Any]) -> ProductInput:
    """A product from already-parsed JSON (seed data, tests)."""
    return product_input(product_id, _convert(fields, contract.ProductBody))


def _instant(moment: datetime | None, field: str) -> datetime | None:
    if moment is None:
        return None
    try:
        return instants.to_utc(moment)
    except instants.InstantOutOfRange as exc:
        raise InvalidRequest(f"{field} is outside years 0001-9999 in UTC") from exc
