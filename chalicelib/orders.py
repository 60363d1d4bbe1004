"""The order writer: one DynamoDB TransactWriteItems request per order."""

from __future__ import annotations

import base64
import binascii
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from chalicelib import observability
from chalicelib.catalog import Catalog, Item, Product, number
from chalicelib.errors import (
    Busy,
    FlashSaleError,
    IdempotencyKeyReused,
    InvalidRequest,
    OrderNotFound,
    OutOfStock,
    ProductNotFound,
    PurchaseLimitExceeded,
    SaleNotActive,
)
from chalicelib.settings import Settings
from chalicelib.validation import OrderRequest, format_instant

# Order ids derived from an Idempotency-Key live in their own UUID namespace, so a
# replayed request targets the very same Orders item and cannot create a second one.
_KEYED_ORDERS = uuid.UUID("5b0f4a5e-8f55-4c6e-9d8e-0d6f1a5e7c21")
# Cancellation reasons that mean "try again", not "no".
_TRANSIENT = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
_THROTTLED = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionInProgressException",
    "InternalServerError",
}
_FAILED = "ConditionalCheckFailed"
MAX_ATTEMPTS = 6
BACKOFF_BASE = 0.02
BACKOFF_CAP = 0.4
MAX_REFRESHES = 3
PURCHASE_COUNTER_LIFETIME = timedelta(days=30)


def order_id_for(idempotency_key: str | None) -> str:
    """A fresh order id, or the one an Idempotency-Key always maps to."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_KEYED_ORDERS, idempotency_key))


class Order(NamedTuple):
    order_id: str
    user_id: str
    product_id: str
    product_name: str
    quantity: int
    unit_price: Decimal
    total_amount: Decimal
    status: str
    created_at: str

    @classmethod
    def confirm(cls, order_id: str, request: OrderRequest, product: Product) -> Order:
        """A confirmed order for `request` at the product's current price."""
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        return cls(
            order_id=order_id,
            user_id=request.user_id,
            product_id=product.product_id,
            product_name=product.name,
            quantity=request.quantity,
            unit_price=product.price,
            total_amount=product.price * request.quantity,
            status="CONFIRMED",
            created_at=now.replace("+00:00", "Z"),
        )

    @classmethod
    def from_item(cls, item: Item) -> Order:
        """Build an Order from a DynamoDB item in wire format."""
        return cls(
            order_id=item["orderId"]["S"],
            user_id=item["userId"]["S"],
            product_id=item["productId"]["S"],
            product_name=item["productName"]["S"],
            quantity=int(item["quantity"]["N"]),
            unit_price=Decimal(item["unitPrice"]["N"]),
            total_amount=Decimal(item["totalAmount"]["N"]),
            status=item["status"]["S"],
            created_at=item["createdAt"]["S"],
        )

    def to_item(self) -> Item:
        """The Orders table item."""
        return {
            "orderId": {"S": self.order_id},
            "userId": {"S": self.user_id},
            "productId": {"S": self.product_id},
            "productName": {"S": self.product_name},
            "quantity": {"N": str(self.quantity)},
            "unitPrice": {"N": str(self.unit_price)},
            "totalAmount": {"N": str(self.total_amount)},
            "status": {"S": self.status},
            "createdAt": {"S": self.created_at},
        }

    def to_json(self) -> dict[str, Any]:
        """The contract's Order representation."""
        return {
            "orderId": self.order_id,
            "userId": self.user_id,
            "productId": self.product_id,
            "productName": self.product_name,
            "quantity": self.quantity,
            "unitPrice": number(self.unit_price),
            "totalAmount": number(self.total_amount),
            "status": self.status,
            "createdAt": self.created_at,
        }

    def answers(self, request: OrderRequest) -> bool:
        """Whether this stored order is what `request` asked for (a true replay)."""
        return (self.user_id, self.product_id, self.quantity) == (
            request.user_id,
            request.product_id,
            request.quantity,
        )


class Placed(NamedTuple):
    order: Order
    replayed: bool


class _Stale(Exception):
    """The cached product was out of date; the transaction must be rebuilt."""


class _Transient(Exception):
    """DynamoDB asked us to try again (conflict or throttling)."""


class _Short(Exception):
    """Shards of a sharded product held too little; their stock as seen now."""

    def __init__(self, seen: dict[str, int]) -> None:
        super().__init__()
        self.seen = seen


Allocation = list[tuple[str, int]]  # (stock item key, units taken from it)


class OrderService:
    """Places and reads orders. Products are cached per container: every order's
    transaction re-checks the cached version and price, so a stale entry can cost a
    retry but never an order at the wrong price. A product known to be sold out is
    answered from memory for `sold_out_ttl` seconds."""

    def __init__(
        self,
        client: Any,
        settings: Settings,
        catalog: Catalog,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        sold_out_ttl: float = 1.0,
    ) -> None:
        self._client = client
        self._settings = settings
        self._catalog = catalog
        self._sleep = sleep
        self._clock = clock
        self._sold_out_ttl = sold_out_ttl
        self._products: dict[str, Product] = {}
        self._sold_out: dict[str, float] = {}
        self._filling = threading.Lock()
        catalog.on_change(self.forget)

    def forget(self, product_id: str) -> None:
        """Drop what this container believes about a product (it was just changed)."""
        self._products.pop(product_id, None)
        self._sold_out.pop(product_id, None)

    def place(self, request: OrderRequest, idempotency_key: str | None = None) -> Placed:
        """Place an order atomically: stock, per-user count and order in one write."""
        try:
            placed = self._place(request, idempotency_key)
        except FlashSaleError as error:
            observability.logger.info(
                "order rejected", reason=error.code, product_id=request.product_id
            )
            observability.count("OrdersRejected", reason=error.code)
            raise
        observability.logger.info(
            "order placed",
            order_id=placed.order.order_id,
            product_id=placed.order.product_id,
            quantity=placed.order.quantity,
            replayed=placed.replayed,
        )
        if not placed.replayed:
            observability.count("OrdersPlaced")
        return placed

    def _place(self, request: OrderRequest, idempotency_key: str | None) -> Placed:
        order_id = order_id_for(idempotency_key)
        product = self._cached_product(request.product_id)
        if self._still_sold_out(product.product_id):
            # Sold out moments ago: no write, and nothing near the hot item. A keyed
            # request may still be the replay of an order placed before the end;
            # one read of its own order (its own partition) tells.
            if idempotency_key is not None:
                replayed = self._find(order_id)
                if replayed is not None:
                    if not replayed.answers(request):
                        raise IdempotencyKeyReused(
                            "this Idempotency-Key was already used for a different order"
                        )
                    return Placed(replayed, replayed=True)
            raise OutOfStock(f"{product.name} is sold out")
        refreshes = transient = shortages = 0
        seen: dict[str, int] = {}  # stock per shard, as failed attempts reported it
        while True:
            if product.max_per_user is not None and request.quantity > product.max_per_user:
                product = self._refresh(request.product_id)
                if product.max_per_user is not None and request.quantity > product.max_per_user:
                    raise PurchaseLimitExceeded(
                        f"at most {product.max_per_user} per customer for this product"
                    )
            try:
                allocation = self._allocate(product, request.quantity, seen)
            except OutOfStock as error:
                self._note_sold_out(product, error)
                raise
            order = Order.confirm(order_id, request, product)
            now = format_instant(datetime.now(UTC))
            try:
                self._client.transact_write_items(
                    TransactItems=self._transaction(order, product, allocation, now)
                )
                self._sold_out.pop(product.product_id, None)  # restocked, if it was out
                return Placed(order, replayed=False)
            except ClientError as exc:
                try:
                    replay = self._explain(exc, request, product, allocation, now)
                except _Short as short:
                    seen.update(short.seen)
                    shortages += 1
                    if shortages > product.shards + MAX_REFRESHES:
                        raise Busy("stock is moving fast; try again") from exc
                    continue
                except _Stale:
                    refreshes += 1
                    if refreshes > MAX_REFRESHES:
                        raise Busy("the product is being updated; try again") from exc
                    product = self._products[request.product_id]
                    seen.clear()
                    continue
                except _Transient:
                    transient += 1
                    if transient >= MAX_ATTEMPTS:
                        raise Busy("too many shoppers at once; try again") from exc
                    # Full jitter keeps colliding buyers from retrying in lockstep.
                    self._sleep(random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**transient)))
                    continue
                except OutOfStock as error:
                    self._note_sold_out(product, error)
                    raise
                return Placed(replay, replayed=True)

    def _still_sold_out(self, product_id: str) -> bool:
        """Whether to answer sold out from memory. When the belief expires, the
        first request renews it and goes to DynamoDB to look; until it is back,
        the others keep the answer (one probe per product per second, no herd)."""
        deadline = self._sold_out.get(product_id)
        if deadline is None:
            return False
        now = self._clock()
        if deadline > now:
            return True
        with self._filling:
            if self._sold_out.get(product_id, 0.0) > now:
                return True
            self._sold_out[product_id] = now + self._sold_out_ttl
        return False

    def _note_sold_out(self, product: Product, error: OutOfStock) -> None:
        if error.remaining == 0:
            self._sold_out[product.product_id] = self._clock() + self._sold_out_ttl
        else:
            self._sold_out.pop(product.product_id, None)

    def _allocate(self, product: Product, quantity: int, seen: dict[str, int]) -> Allocation:
        """Where to take the units from: a random shard not yet found short, else,
        once every shard has reported, the fullest shards together."""
        keys = product.stock_keys
        if len(keys) == 1:
            return [(keys[0], quantity)]
        untried = [key for key in keys if key not in seen]
        if untried:
            return [(random.choice(untried), quantity)]
        total = sum(seen.values())
        if total < quantity:
            if total == 0:
                raise OutOfStock(f"{product.name} is sold out")
            raise OutOfStock(f"only {total} of {product.name} left", remaining=total)
        allocation: Allocation = []
        needed = quantity
        for key, stock in sorted(seen.items(), key=lambda kv: -kv[1]):
            take = min(stock, needed)
            if take:
                allocation.append((key, take))
                needed -= take
            if not needed:
                break
        return allocation

    def _transaction(
        self, order: Order, product: Product, allocation: Allocation, now: str
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._settings.products_table,
                    "Key": {"productId": {"S": key}},
                    "UpdateExpression": "SET stock = stock - :q",
                    # Never oversell; never sell outside the window; never record an
                    # order at a price or name the product no longer has (version
                    # pins every field the order copies, price guards writers that
                    # do not bump it). Shards carry copies of all of these.
                    "ConditionExpression": (
                        "stock >= :q AND version = :v AND price = :p"
                        " AND (attribute_not_exists(saleStartsAt) OR saleStartsAt <= :now)"
                        " AND (attribute_not_exists(saleEndsAt) OR saleEndsAt > :now)"
                    ),
                    "ExpressionAttributeValues": {
                        ":q": {"N": str(units)},
                        ":v": {"N": str(product.version)},
                        ":p": {"N": str(product.price)},
                        ":now": {"S": now},
                    },
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
            for key, units in allocation
        ]
        items.append(
            {
                "Put": {
                    "TableName": self._settings.orders_table,
                    "Item": order.to_item(),
                    # A replay finds its own order here and gets it back, unwritten.
                    "ConditionExpression": "attribute_not_exists(orderId)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        )
        if product.max_per_user is not None:
            items.append(self._count_purchase(order, product))
        return items

    def _count_purchase(self, order: Order, product: Product) -> dict[str, Any]:
        assert product.max_per_user is not None
        update = "ADD purchased :q"
        values = {
            ":q": {"N": str(order.quantity)},
            ":room": {"N": str(product.max_per_user - order.quantity)},
        }
        if product.sale_ends_at is not None:
            # The counter matters until the sale is over; TTL clears it a month later.
            update += " SET expiresAt = :expires"
            ends = datetime.strptime(product.sale_ends_at, "%Y-%m-%dT%H:%M:%SZ")
            expires = ends.replace(tzinfo=UTC) + PURCHASE_COUNTER_LIFETIME
            values[":expires"] = {"N": str(int(expires.timestamp()))}
        return {
            "Update": {
                "TableName": self._settings.purchases_table,
                "Key": {"userId": {"S": order.user_id}, "productId": {"S": order.product_id}},
                "UpdateExpression": update,
                # purchased + q <= maxPerUser, rearranged: no arithmetic in conditions.
                "ConditionExpression": "attribute_not_exists(purchased) OR purchased <= :room",
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _explain(
        self,
        exc: ClientError,
        request: OrderRequest,
        product: Product,
        allocation: Allocation,
        now: str,
    ) -> Order:
        """Turn a failed transaction into a replayed order, a retry or a domain error."""
        code = exc.response.get("Error", {}).get("Code")
        if code in _THROTTLED:
            raise _Transient() from exc
        if code != "TransactionCanceledException":
            raise exc
        count = len(allocation)
        reasons = exc.response.get("CancellationReasons") or []
        reasons = reasons + [{}] * (count + 2 - len(reasons))
        stock_reasons, order_reason, purchase_reason = (
            reasons[:count],
            reasons[count],
            reasons[count + 1],
        )
        if order_reason.get("Code") == _FAILED and "Item" in order_reason:
            existing = Order.from_item(order_reason["Item"])
            if existing.answers(request):
                return existing
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used for a different order"
            ) from exc
        short: dict[str, int] = {}
        for (key, units), reason in zip(allocation, stock_reasons, strict=True):
            if reason.get("Code") == _FAILED:
                stock = self._judge_stock_item(reason.get("Item"), request, product, now)
                if stock < units:
                    short[key] = stock
        if short:
            if product.shards == 1:
                left = short[product.product_id]
                if left == 0:
                    raise OutOfStock(f"{product.name} is sold out") from exc
                raise OutOfStock(f"only {left} of {product.name} left", left) from exc
            raise _Short(short) from exc
        if purchase_reason.get("Code") == _FAILED:
            bought = purchase_reason.get("Item", {}).get("purchased", {}).get("N", "0")
            raise PurchaseLimitExceeded(
                f"at most {product.max_per_user} per customer; you already have {bought}"
            ) from exc
        if any(reason.get("Code") in _TRANSIENT for reason in reasons):
            raise _Transient() from exc
        raise exc

    def _judge_stock_item(
        self, item: Item | None, request: OrderRequest, cached: Product, now: str
    ) -> int:
        """Why a stock item refused: raises for a gone product, a stale cache or a
        closed sale; otherwise returns the stock it holds."""
        if item is None:
            if cached.shards > 1:
                # A shard that vanished was resharded away: read the product again.
                self._refresh(request.product_id)
                raise _Stale()
            self._products.pop(request.product_id, None)
            raise ProductNotFound(f"product {request.product_id} does not exist")
        version, price = int(item["version"]["N"]), Decimal(item["price"]["N"])
        if (version, price) != (cached.version, cached.price):
            self._refresh(request.product_id)
            raise _Stale()
        window = cached._replace(
            sale_starts_at=item.get("saleStartsAt", {}).get("S"),
            sale_ends_at=item.get("saleEndsAt", {}).get("S"),
        )
        if not window.sale_active(now):
            raise SaleNotActive(_window_message(window, now))
        return int(item["stock"]["N"])

    def _cached_product(self, product_id: str) -> Product:
        cached = self._products.get(product_id)
        if cached is not None:
            return cached
        # When a sale opens every thread misses at once; one read fills the cache.
        with self._filling:
            cached = self._products.get(product_id)
            return cached if cached is not None else self._refresh(product_id)

    def _refresh(self, product_id: str) -> Product:
        product = self._catalog.describe(product_id)
        self._products[product_id] = product
        return product

    def get(self, order_id: str, owner: str | None = None) -> Order:
        """One order, or OrderNotFound; with an `owner`, only that shopper's (another
        shopper's order is reported missing, so order ids reveal nothing)."""
        order = self._find(order_id)
        if order is None or (owner is not None and order.user_id != owner):
            raise OrderNotFound(f"order {order_id} does not exist")
        return order

    def _find(self, order_id: str) -> Order | None:
        response = self._client.get_item(
            TableName=self._settings.orders_table,
            Key={"orderId": {"S": order_id}},
            # Read-your-write: a shopper opens the confirmation right after paying.
            ConsistentRead=True,
        )
        return Order.from_item(response["Item"]) if "Item" in response else None

    def for_user(self, user_id: str, limit: int, token: str | None) -> dict[str, Any]:
        """A user's orders, newest first, a page at a time."""
        query: dict[str, Any] = {
            "TableName": self._settings.orders_table,
            "IndexName": self._settings.orders_by_user_index,
            "KeyConditionExpression": "userId = :u",
            "ExpressionAttributeValues": {":u": {"S": user_id}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if token is not None:
            query["ExclusiveStartKey"] = _decode_token(token, user_id)
        response = self._client.query(**query)
        page: dict[str, Any] = {
            "orders": [Order.from_item(item).to_json() for item in response["Items"]]
        }
        if "LastEvaluatedKey" in response:
            raw = json.dumps(response["LastEvaluatedKey"], sort_keys=True).encode()
            page["nextToken"] = base64.urlsafe_b64encode(raw).decode()
        return page


def _decode_token(token: str, user_id: str) -> Item:
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
        valid = (
            isinstance(key, dict)
            and set(key) == {"orderId", "userId", "createdAt"}
            and all(isinstance(v, dict) and set(v) == {"S"} for v in key.values())
            and key["userId"]["S"] == user_id
        )
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise InvalidRequest("nextToken is not valid") from exc
    if not valid:
        raise InvalidRequest("nextToken is not valid")
    return dict(key)


def _window_message(product: Product, now: str) -> str:
    if product.sale_starts_at is not None and now < product.sale_starts_at:
        return f"the sale for {product.name} starts at {product.sale_starts_at}"
    return f"the sale for {product.name} has ended"
