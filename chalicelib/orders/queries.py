"""Reading orders: one by id, a shopper's newest first, and the page tokens
that carry DynamoDB's LastEvaluatedKey."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from chalicelib.errors import InvalidRequest
from chalicelib.model import Item, Order
from chalicelib.settings import Settings


def find(client: Any, settings: Settings, order_id: str) -> Order | None:
    response = client.get_item(
        TableName=settings.orders_table,
        Key={"orderId": {"S": order_id}},
        # Read-your-write: a shopper opens the confirmation right after paying.
        ConsistentRead=True,
    )
    return Order.from_item(response["Item"]) if "Item" in response else None


def for_user(
    client: Any, settings: Settings, user_id: str, limit: int, token: str | None
) -> dict[str, Any]:
    """A user's orders, newest first, a page at a time."""
    query: dict[str, Any] = {
        "TableName": settings.orders_table,
        "IndexName": settings.orders_by_user_index,
        "KeyConditionExpression": "userId = :u",
        "ExpressionAttributeValues": {":u": {"S": user_id}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if token is not None:
        query["ExclusiveStartKey"] = decode_token(token, {"userId": user_id})
    response = client.query(**query)
    page: dict[str, Any] = {
        "orders": [Order.from_item(item).to_json() for item in response["Items"]]
    }
    if "LastEvaluatedKey" in response:
        page["nextToken"] = encode_token(response["LastEvaluatedKey"])
    return page


# --- page tokens -------------------------------------------------------------------------

_TOKEN_KEYS = frozenset({"orderId", "userId", "productId", "createdAt"})


def encode_token(key: Mapping[str, Any]) -> str:
    """A page token for DynamoDB's LastEvaluatedKey."""
    raw = json.dumps(key, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_token(token: str, pinned: Mapping[str, str]) -> Item:
    """The ExclusiveStartKey a page token carries, checked to be one this API
    made: string attributes of our key schema only, with `pinned` values (the
    token of one shopper's list cannot page through another's)."""
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error, UnicodeError, RecursionError) as exc:
        raise InvalidRequest("nextToken is not valid") from exc
    valid = (
        isinstance(key, dict)
        and "orderId" in key
        and set(key) <= _TOKEN_KEYS
        and all(
            isinstance(value, dict)
            and set(value) == {"S"}
            and isinstance(value["S"], str)
            and 0 < len(value["S"]) <= 256
            for value in key.values()
        )
        and all(key.get(name, {}).get("S") == value for name, value in pinned.items())
    )
    if not valid:
        raise InvalidRequest("nextToken is not valid")
    return dict(key)
