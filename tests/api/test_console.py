"""Cancellation and the operator console's API, on in-process moto."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config

import app as application
from chalicelib import aws, instants, wiring
from local.delivery import StreamPoller
from tests.api.test_auth import invoke
from tests.conftest import Shop


def cancel(shop: Shop, order_id: str, body: Any = None) -> Any:
    return shop.request("POST", f"/orders/{order_id}/cancel", body)


def stream(shop: Shop) -> StreamPoller:
    """The Orders stream delivered to the app's handler, as Lambda would."""
    return StreamPoller(
        shop.dynamodb,
        boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled")),
        shop.config.orders_table,
        application.notify_orders,
        sleep=lambda seconds: None,
    )


@pytest.fixture
def topic(shop: Shop) -> None:
    from local import resources

    resources.create_topic(boto3.client("sns"))


# --- cancellation ------------------------------------------------------------------------


def test_a_shopper_cancels_their_order_once_and_gets_their_units_back(shop: Shop) -> None:
    shop.put_product(stock=5, maxPerUser=2)
    order = shop.order(quantity=2).json_body
    assert shop.order(quantity=1).json_body["code"] == "PURCHASE_LIMIT_EXCEEDED"

    first = cancel(shop, order["orderId"], {"userId": "alice"})

    assert first.status_code == 200
    assert first.json_body["status"] == "CANCELLED" and "cancelledAt" in first.json_body
    assert shop.stock() == 5
    assert shop.purchased("alice") == 0
    again = cancel(shop, order["orderId"], {"userId": "alice"})
    assert (again.status_code, again.json_body) == (200, first.json_body)
    assert shop.stock() == 5
    # The limit counts confirmed orders only: alice may buy again.
    assert shop.order(quantity=2).status_code == 201
    stored = shop.request("GET", f"/orders/{order['orderId']}").json_body
    assert stored["status"] == "CANCELLED"


def test_a_shopper_cannot_cancel_after_the_window(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.put_product(cancelWindowMinutes=15)
    order = shop.order().json_body
    later = instants.parse(order["createdAt"]) + timedelta(minutes=15, seconds=1)
    monkeypatch.setattr(instants, "now", lambda: later)

    response = cancel(shop, order["orderId"], {"userId": "alice"})

    assert (response.status_code, response.json_body["code"]) == (409, "ORDER_NOT_CANCELLABLE")
    assert shop.stock() == 9
    # An operator still can (locally: a cancel without a body).
    assert cancel(shop, order["orderId"]).json_body["status"] == "CANCELLED"
    assert shop.stock() == 10


def test_a_shopper_cannot_cancel_someone_elses_order(shop: Shop) -> None:
    shop.put_product()
    order = shop.order().json_body
    response = cancel(shop, order["orderId"], {"userId": "mallory"})
    assert (response.status_code, response.json_body["code"]) == (404, "ORDER_NOT_FOUND")
    assert cancel(shop, "no-such-order").status_code == 404
    assert shop.stock() == 9


def test_units_go_back_to_the_shards_they_came_from(shop: Shop) -> None:
    shop.put_product(stock=4, shards=4)  # one unit per shard
    order = shop.order(quantity=3).json_body
    stocks_after_order = shop.shard_stocks()
    assert sorted(stocks_after_order.values()) == [0, 0, 0, 1]
    assert cancel(shop, order["orderId"]).status_code == 200
    assert shop.shard_stocks() == {key: 1 for key in stocks_after_order}


def test_after_resharding_units_go_to_a_stock_item_that_exists(shop: Shop) -> None:
    shop.put_product(stock=40, shards=4)
    order = shop.order(quantity=2).json_body
    shop.put_product(stock=10, shards=1)
    assert cancel(shop, order["orderId"]).status_code == 200
    assert shop.stock() == 12
    assert shop.shard_stocks() == {}  # no shard brought back to life


def test_a_cancellation_reopens_a_sold_out_product_at_once(shop: Shop) -> None:
    shop.put_product(stock=1)
    order = shop.order().json_body
    assert shop.order(userId="bob").json_body["code"] == "OUT_OF_STOCK"  # remembered for 1 s
    assert cancel(shop, order["orderId"]).status_code == 200
    assert shop.order(userId="bob").status_code == 201


def test_cancel_in_cognito_stages(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    shop.put_product()
    monkeypatch.setenv("AUTH_MODE", "cognito")
    wiring.reset()
    body = {"userId": "alice", "productId": "p1", "quantity": 1}
    _, mine = invoke("POST", "/orders", "/orders", "alice", body)
    _, theirs = invoke("POST", "/orders", "/orders", "bob", {**body, "userId": "bob"})
    resource = "/orders/{orderId}/cancel"

    def cancel_as(sub: str, order: dict[str, Any], **claims: Any) -> tuple[int, dict[str, Any]]:
        path = f"/orders/{order['orderId']}/cancel"
        return invoke(
            "POST", path, resource, sub, None, {"orderId": order["orderId"]}, claims=claims
        )

    assert cancel_as("alice", theirs)[0] == 404
    assert cancel_as("alice", mine)[1]["status"] == "CANCELLED"
    status, answer = cancel_as("root", theirs, **{"cognito:groups": "[admins]"})
    assert (status, answer["status"]) == (200, "CANCELLED")


# --- the console API ------------------------------------------------------------------------


def admin(shop: Shop, method: str, path: str, body: Any = None) -> Any:
    return shop.request(method, f"/admin{path}", body)


def test_operators_create_restock_and_end_a_sale(shop: Shop, topic: None) -> None:
    sale = admin(shop, "PUT", "/sales/s1", {"name": "Lamp", "price": 10, "stock": 60}).json_body
    assert (sale["state"], sale["stock"], sale["shards"], sale["unitsSold"]) == ("live", 60, 3, 0)
    restocked = admin(shop, "POST", "/sales/s1/restock", {"units": 7}).json_body
    assert restocked["stock"] == 67
    assert sum(shop.shard_stocks("s1").values()) == 67
    ended = admin(shop, "POST", "/sales/s1/end").json_body
    assert ended["state"] == "ended"
    refused = shop.order(productId="s1")
    assert refused.json_body["code"] == "SALE_NOT_ACTIVE"
    listing = admin(shop, "GET", "/sales").json_body
    assert [s["productId"] for s in listing["sales"]] == ["s1"] and listing["count"] == 1


def test_an_ended_sale_ends_after_every_order_it_accepted(shop: Shop) -> None:
    # Regression (adversarial run): the end was written with the moment it was
    # asked for, before its consistent read of every shard, so an order that
    # committed in between (judged on the old window) carried a createdAt after
    # the sale's recorded end.
    admin(shop, "PUT", "/sales/s1", {"name": "Lamp", "price": 10, "stock": 60})
    asked = instants.now()  # the end is asked for ...
    order = shop.order(productId="s1").json_body  # ... an order commits ...
    ended = wiring.catalog().end_sale("s1", asked)  # ... then the end is written
    assert ended.sale_ends_at is not None
    assert instants.parse(order["createdAt"]) < ended.sale_ends_at
    stored = wiring.catalog().snapshot("s1")
    assert stored is not None and stored.product.sale_ends_at == ended.sale_ends_at
    assert shop.order(productId="s1", userId="late").json_body["code"] == "SALE_NOT_ACTIVE"
    windows = {
        item["productId"]["S"]: item["saleEndsAt"]["S"]
        for item in shop.dynamodb.scan(TableName=shop.config.products_table)["Items"]
    }
    assert len(windows) == 4 and len(set(windows.values())) == 1  # product and 3 shards


def test_a_restock_never_takes_the_stock_past_the_contracts_maximum(shop: Shop) -> None:
    # Regression (adversarial run): two restocks of 10,000,000 took a sale to
    # 20,000,005 units, where PUT refuses more than 10,000,000.
    admin(shop, "PUT", "/sales/s1", {"name": "Lamp", "price": 10, "stock": 5})
    refused = admin(shop, "POST", "/sales/s1/restock", {"units": 10_000_000})
    assert refused.status_code == 400 and "10000000" in refused.json_body["message"]
    filled = admin(shop, "POST", "/sales/s1/restock", {"units": 9_999_995})
    assert filled.json_body["stock"] == 10_000_000
    assert admin(shop, "POST", "/sales/s1/restock", {"units": 1}).status_code == 400
    stored = wiring.catalog().snapshot("s1")
    assert stored is not None and sum(stored.stocks.values()) == 10_000_000


def test_restock_and_end_of_an_unknown_sale_are_404(shop: Shop) -> None:
    assert admin(shop, "POST", "/sales/nope/restock", {"units": 1}).status_code == 404
    assert admin(shop, "POST", "/sales/nope/end").status_code == 404
    assert admin(shop, "GET", "/sales/nope/live").status_code == 404
    # Regression (adversarial run): the orders of a sale that does not exist were 200 [].
    assert admin(shop, "GET", "/sales/nope/orders").status_code == 404
    assert admin(shop, "POST", "/sales/x/restock", {"units": 0}).status_code == 400


def test_live_view_counts_each_order_once_from_the_stream(shop: Shop, topic: None) -> None:
    admin(shop, "PUT", "/sales/p1", {"name": "Lamp", "price": 2.5, "stock": 10})
    orders = [shop.order(userId=f"u{n}", quantity=2).json_body for n in range(3)]
    cancel(shop, orders[0]["orderId"])
    poller = stream(shop)
    poller.drain()
    # A redelivered stream adds nothing.
    stream(shop).drain()

    live = admin(shop, "GET", "/sales/p1/live?minutes=5").json_body

    sale = live["sale"]
    assert (sale["unitsSold"], sale["unitsCancelled"], sale["orders"]) == (4, 2, 2)
    assert sale["revenue"] == 10 and sale["stock"] == 6
    assert len(live["minutes"]) == 5
    now = live["minutes"][-1]
    assert (now["unitsSold"], now["unitsCancelled"], now["orders"], now["stock"]) == (6, 2, 3, 6)
    # Before this minute: the stock the operator set, then nothing sold.
    assert [m["stock"] for m in live["minutes"][:-1]] == [0, 0, 0, 0]


def test_an_edit_through_put_products_shows_in_the_live_series(shop: Shop) -> None:
    # Regression: PUT /products wrote the product without the console's stockDelta,
    # so the series walked back from today's stock to a stock the sale never had.
    shop.put_product("p1", name="Lamp", price=2.5, stock=10)
    shop.put_product("p1", name="Lamp", price=2.5, stock=4)
    admin(shop, "PUT", "/sales/p1", {"name": "Lamp", "price": 2.5, "stock": 6})

    live = admin(shop, "GET", "/sales/p1/live?minutes=3").json_body

    assert live["sale"]["stock"] == 6
    # Before this minute the sale did not exist: every write's change was counted.
    assert [m["stock"] for m in live["minutes"]] == [0, 0, 6]


def test_live_view_costs_the_same_requests_however_many_orders(shop: Shop, topic: None) -> None:
    admin(shop, "PUT", "/sales/p1", {"name": "Lamp", "price": 1, "stock": 500})

    def requests_for_live() -> Counter[str]:
        calls: Counter[str] = Counter()
        client = aws.client("dynamodb")
        handler = lambda model, **_: calls.update([model.name])  # noqa: E731
        client.meta.events.register("before-call.dynamodb.*", handler)
        assert admin(shop, "GET", "/sales/p1/live").status_code == 200
        client.meta.events.unregister("before-call.dynamodb.*", handler)
        return calls

    few = requests_for_live()
    for n in range(40):
        shop.order(userId=f"u{n}")
    stream(shop).drain()
    many = requests_for_live()
    # The product (cached for a second; read with its shards when not) and one Query.
    assert sum(few.values()) <= 3 and sum(many.values()) <= 3, (few, many)
    assert "Scan" not in many and many["Query"] == 1


def test_refusals_are_counted_by_reason(shop: Shop) -> None:
    admin(shop, "PUT", "/sales/p1", {"name": "Lamp", "price": 1, "stock": 2, "maxPerUser": 1})
    shop.order()
    shop.order(quantity=2, userId="carol")  # above the limit
    shop.order(userId="bob")
    shop.order(userId="dave")  # sold out
    wiring.refusals().flush(force=True)
    rejections = admin(shop, "GET", "/sales/p1/live").json_body["rejections"]
    assert rejections == {"OUT_OF_STOCK": 1, "PURCHASE_LIMIT_EXCEEDED": 1}


def test_orders_of_a_sale_are_searchable_and_exported(shop: Shop) -> None:
    admin(shop, "PUT", "/sales/p1", {"name": "Lamp", "price": 3, "stock": 10})
    shop.put_product("other", stock=5)
    placed = [shop.order(userId=f"u{n}").json_body for n in range(3)]
    shop.order(userId="u0", productId="other")
    cancel(shop, placed[1]["orderId"])

    page = admin(shop, "GET", "/sales/p1/orders?limit=2").json_body
    assert [o["orderId"] for o in page["orders"]] == [placed[2]["orderId"], placed[1]["orderId"]]
    rest = admin(shop, "GET", f"/sales/p1/orders?limit=2&nextToken={page['nextToken']}").json_body
    assert [o["orderId"] for o in rest["orders"]] == [placed[0]["orderId"]]
    one = admin(shop, "GET", f"/sales/p1/orders?orderId={placed[0]['orderId']}").json_body
    assert [o["orderId"] for o in one["orders"]] == [placed[0]["orderId"]]
    theirs = admin(shop, "GET", "/sales/p1/orders?userId=u0").json_body
    assert [o["productId"] for o in theirs["orders"]] == ["p1"]
    assert admin(shop, "GET", "/sales/other/orders?orderId=" + placed[0]["orderId"]).json_body == {
        "orders": []
    }

    exported = admin(shop, "GET", "/sales/p1/orders.csv")
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.body.decode())))
    assert sorted(r["orderId"] for r in rows) == sorted(o["orderId"] for o in placed)
    assert {r["status"] for r in rows} == {"CONFIRMED", "CANCELLED"}
    assert all(r["quantity"] == "1" and r["totalAmount"] == "3" for r in rows)


def test_csv_cells_never_start_a_formula(shop: Shop) -> None:
    from chalicelib.console import _cell

    assert [_cell(v) for v in ("=1+1", "+x", "-2", "@a", "ok")] == [
        "'=1+1",
        "'+x",
        "'-2",
        "'@a",
        "ok",
    ]


def test_admin_routes_need_the_admins_group(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    shop.put_product()
    monkeypatch.setenv("AUTH_MODE", "cognito")
    wiring.reset()
    shopper = invoke("GET", "/admin/sales", "/admin/sales", "alice")
    assert (shopper[0], shopper[1]["code"]) == (403, "FORBIDDEN")
    operator = invoke(
        "GET", "/admin/sales", "/admin/sales", "root", claims={"cognito:groups": "[admins, staff]"}
    )
    assert operator[0] == 200 and operator[1]["count"] == 1
