"""What POST /orders asks of a product whose waiting room is on: a pass of the
shopper's own for this product, unexpired (`admitted`), used once, inside the
order's own transaction (`redemption_items`), so one pass buys one order,
atomically with the stock it takes, for no extra request."""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

from chalicelib.errors import AdmissionRequired, PassExpired
from chalicelib.model import OrderRequest, Product
from chalicelib.rooms import tokens
from chalicelib.rooms.store import REDEEMED_SHARDS, entry_key, redeemed_key


def admitted(
    product: Product, request: OrderRequest, key: bytes, moment: datetime
) -> tokens.Token | None:
    """The order's pass (None when the product has no room on), or the refusal."""
    if product.waiting_room is None:
        return None
    if request.admission_pass is None:
        raise AdmissionRequired(
            f"{product.name} sells through a waiting room: join the queue for a pass"
        )
    try:
        admission = tokens.read(key, request.admission_pass, tokens.PASS)
    except tokens.BadToken as exc:
        raise AdmissionRequired(f"this admission pass is not valid ({exc})") from exc
    if admission.product_id != product.product_id or admission.shopper != request.user_id:
        raise AdmissionRequired("this admission pass is for another shopper or product")
    if admission.expires is None or admission.expires <= moment.timestamp():
        raise PassExpired("your admission pass has expired; your place went to the next shopper")
    return admission


def redemption_items(table: str, admission: tokens.Token, order_id: str) -> list[dict[str, Any]]:
    """The order transaction's last two items: the entry marked used by this
    order (a replay of the same order passes: idempotency keys keep working) and
    one of the used-pass counters the admitter reads."""
    shard = zlib.crc32(admission.shopper.encode()) % REDEEMED_SHARDS
    return [
        {
            "Update": {
                "TableName": table,
                "Key": entry_key(admission.product_id, admission.shopper),
                "UpdateExpression": "SET redeemedBy = :o",
                "ConditionExpression": (
                    "entryId = :e AND (attribute_not_exists(redeemedBy) OR redeemedBy = :o)"
                ),
                "ExpressionAttributeValues": {
                    ":e": {"S": admission.entry_id},
                    ":o": {"S": order_id},
                },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
        {
            "Update": {
                "TableName": table,
                "Key": redeemed_key(admission.product_id, shard),
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
    ]
