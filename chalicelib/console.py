"""The operator console: every sale with its counters, one sale's live view,
its orders (a page, a search, CSV) and the changes an operator makes (save,
restock, end). The routes are chalicelib.console_api's; the counters are
chalicelib.sales's.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from chalicelib import instants
from chalicelib.catalog import Catalog
from chalicelib.errors import ProductNotFound
from chalicelib.model import Order, Product, ProductInput, number
from chalicelib.orders.queries import decode_token, encode_token
from chalicelib.sales import Counts, SalesStats, bucket, minute_of

CSV_COLUMNS = [
    "orderId", "userId", "email", "quantity", "unitPrice", "totalAmount", "status",
    "createdAt", "cancelledAt",
]  # fmt: skip


def sale_state(product: Product, moment: datetime) -> str:
    """scheduled, live, sold_out or ended."""
    if product.sale_ends_at is not None and product.sale_ends_at <= moment:
        return "ended"
    if product.sale_starts_at is not None and moment < product.sale_starts_at:
        return "scheduled"
    return "sold_out" if product.stock <= 0 else "live"


def sale_json(product: Product, counts: Counts, moment: datetime) -> dict[str, Any]:
    """The console's Sale: the product, its state and its counters."""
    return {
        **product.to_json(),
        "state": sale_state(product, moment),
        "unitsSold": counts.units_sold - counts.units_cancelled,
        "unitsCancelled": counts.units_cancelled,
        "orders": counts.orders - counts.cancelled_orders,
        "cancelledOrders": counts.cancelled_orders,
        "revenue": number(counts.revenue),
    }


class Console:
    """What the operator console reads and changes."""

    def __init__(
        self,
        catalog: Catalog,
        stats: SalesStats,
        reader: Any,
        orders_table: str,
        orders_by_product: str,
        orders_by_user: str,
    ) -> None:
        self._catalog = catalog
        self._stats = stats
        self._reader = reader
        self._orders_table = orders_table
        self._by_product = orders_by_product
        self._by_user = orders_by_user

    def sales(self) -> list[dict[str, Any]]:
        """Every sale with its counters (one Scan, cached, and one BatchGetItem)."""
        products = self._catalog.list()
        totals = self._stats.totals([p.product_id for p in products])
        moment = instants.now()
        return [sale_json(p, totals[p.product_id], moment) for p in products]

    def sale(self, product_id: str) -> dict[str, Any]:
        """One sale with its counters, read now."""
        snapshot = self._catalog.snapshot(product_id)
        if snapshot is None:
            raise ProductNotFound(f"product {product_id} does not exist")
        total = self._stats.totals([product_id])[product_id]
        return sale_json(snapshot.product, total, instants.now())

    def put_product(self, spec: ProductInput) -> Product:
        """Create or replace a product, counting its change of stock for the
        chart: every product write goes through here (PUT /products and the
        console's save), so the live series is right whichever route wrote."""
        before = self._catalog.snapshot(spec.product_id)
        product = self._catalog.put(spec)
        previous = 0 if before is None else before.product.stock
        self._stats.add(
            product.product_id, instants.now(), {"stockDelta": product.stock - previous}
        )
        return product

    def save(self, spec: ProductInput) -> dict[str, Any]:
        """Create or replace a sale; the console's view of it."""
        return self.sale(self.put_product(spec).product_id)

    def restock(self, product_id: str, units: int) -> dict[str, Any]:
        """Add units to a sale."""
        self._catalog.restock(product_id, units)
        self._stats.add(product_id, instants.now(), {"stockDelta": units})
        return self.sale(product_id)

    def end(self, product_id: str) -> dict[str, Any]:
        """End a sale now."""
        self._catalog.end_sale(product_id, instants.now())
        return self.sale(product_id)

    def live(self, product_id: str, minutes: int) -> dict[str, Any]:
        """A sale's live view: its product (the 1 s catalog cache) and one Query of
        its counters, whatever the number of orders."""
        product = self._catalog.get(product_id)
        moment = instants.now()
        first = minute_of(bucket(moment)) - timedelta(minutes=minutes - 1)
        total, found = self._stats.since(product_id, first)
        series = []
        stock_after = product.stock
        # Stock at the end of each minute, walking back from now: undo what each
        # later minute sold, returned and added.
        for i in reversed(range(minutes)):
            start = first + timedelta(minutes=i)
            counts = found.get(bucket(start), Counts())
            series.append(
                {
                    "minute": instants.canonical(start),
                    "unitsSold": counts.units_sold,
                    "unitsCancelled": counts.units_cancelled,
                    "orders": counts.orders,
                    "stock": max(stock_after, 0),
                }
            )
            stock_after += counts.units_sold - counts.units_cancelled - counts.stock_delta
        series.reverse()
        refused: Counter[str] = Counter()
        for counts in found.values():
            refused.update(counts.rejections)
        return {
            "sale": sale_json(product, total, moment),
            "serverTime": instants.canonical(moment),
            "minutes": series,
            # Refusals in the window shown (they are tallied by the minute only).
            "rejections": dict(sorted(refused.items())),
        }

    def orders(
        self,
        product_id: str,
        limit: int,
        token: str | None,
        order_id: str | None = None,
        user_id: str | None = None,
    ) -> dict[str, Any]:
        """A sale's orders, newest first, a page at a time; or one order; or one
        shopper's orders of this sale. 404 for a sale that does not exist, as
        its other console routes answer."""
        self._catalog.get(product_id)
        if order_id is not None:
            item = self._reader.get_item(
                TableName=self._orders_table, Key={"orderId": {"S": order_id}}, ConsistentRead=True
            ).get("Item")
            found = [] if item is None else [Order.from_item(item)]
            return {"orders": [o.to_json() for o in found if o.product_id == product_id]}
        query: dict[str, Any] = {
            "TableName": self._orders_table,
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if user_id is not None:
            query.update(
                IndexName=self._by_user,
                KeyConditionExpression="userId = :u",
                FilterExpression="productId = :p",
                ExpressionAttributeValues={":u": {"S": user_id}, ":p": {"S": product_id}},
            )
            pinned = {"userId": user_id}
        else:
            query.update(
                IndexName=self._by_product,
                KeyConditionExpression="productId = :p",
                ExpressionAttributeValues={":p": {"S": product_id}},
            )
            pinned = {"productId": product_id}
        if token is not None:
            query["ExclusiveStartKey"] = decode_token(token, pinned)
        response = self._reader.query(**query)
        page: dict[str, Any] = {"orders": [Order.from_item(i).to_json() for i in response["Items"]]}
        if "LastEvaluatedKey" in response:
            page["nextToken"] = encode_token(response["LastEvaluatedKey"])
        return page

    def csv(self, product_id: str) -> str:
        """Every order of a sale as CSV (spreadsheet formulas neutralised)."""
        self._catalog.get(product_id)  # 404 for an unknown sale
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        token: str | None = None
        while True:
            page = self.orders(product_id, 100, token)
            for order in page["orders"]:
                writer.writerow([_cell(order.get(column, "")) for column in CSV_COLUMNS])
            token = page.get("nextToken")
            if token is None:
                return out.getvalue()


def _cell(value: Any) -> str:
    text = str(value)
    # A cell starting with = + - @ is a formula to a spreadsheet (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
