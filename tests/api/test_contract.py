"""The request contract: one declaration, strict JSON, whole-string patterns,
bounded numbers, times as instants, and every defect found against it."""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import msgspec
import pytest

from api import openapi, readme
from chalicelib import contract, instants
from tests.conftest import Shop

# --- one source -----------------------------------------------------------------------


def test_readme_table_is_the_contract() -> None:
    text = readme.README.read_text()
    assert readme.section() in text, "README is stale: run `python -m api.readme --write`"


def test_openapi_bodies_are_the_contract_schemas() -> None:
    document = openapi.generate()
    schemas = document["components"]["schemas"]
    order = schemas["OrderBody"]
    assert order["required"] == ["userId", "productId", "quantity"]
    assert order["additionalProperties"] is False
    quantity = order["properties"]["quantity"]
    assert (quantity["minimum"], quantity["maximum"]) == (1, contract.MAX_ORDER_QUANTITY)
    price = schemas["ProductBody"]["properties"]["price"]
    assert price["type"] == "number" and price["maximum"] == int(contract.MAX_PRICE)
    listing = document["paths"]["/users/{userId}/orders"]["get"]["parameters"]
    limit = next(p for p in listing if p["name"] == "limit")["schema"]
    assert limit["maximum"] == contract.MAX_PAGE_SIZE


def test_every_route_of_the_app_is_in_the_document() -> None:
    import app

    served = {(method, path) for path, methods in app.app.routes.items() for method in methods}
    assert served == set(openapi.ROUTES)


def _patterns() -> list[tuple[str, str]]:
    found = []
    for name in dir(contract):
        kind = getattr(contract, name)
        args = get_args(kind)
        if len(args) == 2 and isinstance(args[1], msgspec.Meta) and args[1].pattern:
            found.append((name, args[1].pattern))
    return found


@pytest.mark.parametrize(("name", "pattern"), _patterns())
def test_every_pattern_matches_whole_values_only(name: str, pattern: str) -> None:
    # Regression: patterns ended in `$`, which Python also matches before a final
    # newline, so "u\n" passed as a userId (and took stock).
    sample = {
        "Id": "u",
        "Name": "Widget",
        "Description": "Line one",
        "ImageUrl": "/images/a.svg",
        "IdempotencyKey": "k-1",
        "PageToken": "abc",
        "Currency": "usd",
        "PaymentMethod": "pm_card1",
        "IntentId": "pi_1",
        "RoomToken": "v1.eyJrIjoicCJ9.c2ln",
    }[name]
    kind = getattr(contract, name)
    assert msgspec.convert(sample, kind) == sample
    # A character the pattern refuses, at either end (a description may hold "\n").
    refused = "\x00" if name == "Description" else "\n"
    for bad in (sample + refused, refused + sample):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(bad, kind)
    # The JSON Schema dialect (ECMA 262) reads the same pattern the same way.
    assert pattern.startswith("^(?:") and pattern.endswith("$(?!\\n)")


# --- strict JSON -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        # Regression: the last of two keys won, so this bought 1 and said nothing.
        (b'{"userId": "alice", "productId": "p1", "quantity": 9, "quantity": 1}', "twice"),
        (b'{"userId": "alice", "userId": "bob", "productId": "p1", "quantity": 1}', "twice"),
        (b'{"userId": "alice", "productId": "p1", "quantity": 1' + b"0" * 5000 + b"}", "longer"),
        (b'{"userId": "alice", "productId": "p1", "quantity": NaN}', "not a JSON number"),
        # Found by the stack fuzzer: Decimal refused the exponent with a 500.
        (b'{"userId": "alice", "productId": "p1", "quantity": 1e99999999999999999999}', "range"),
        (b'{"userId": "alice", "productId": "p1", "quantity": 1e2}', "quantity"),
        (b'{"userId": "alice", "productId": "p1", "quantity": "1"}', "quantity"),
        (b'{"userId": "alice", "productId": "p1", "quantity": true}', "quantity"),
        (b"[" * 5000 + b"]" * 5000, "not valid JSON"),
        # A lone surrogate reached msgspec's pattern check, which raised: a 500.
        (b'{"userId": "\\ud800", "productId": "p1", "quantity": 1}', "Unicode"),
        (
            b'{"userId": "alice", "productId": "p1", "quantity": 1, "x": '
            + b"[" * 3000
            + b"]" * 3000
            + b"}",
            "JSON",
        ),
    ],
)
def test_strict_json_rejects_and_writes_nothing(shop: Shop, raw: bytes, words: str) -> None:
    shop.put_product()
    response = shop.order(raw=raw)
    assert response.status_code == 400, response.body
    assert response.json_body["code"] == "INVALID_REQUEST"
    assert words in response.json_body["message"]
    assert shop.stock() == 10
    assert shop.orders() == []


def test_duplicate_keys_in_a_product_are_400_and_store_nothing(shop: Shop) -> None:
    # Regression: "stock": 10, "stock": 0 stored a sold-out product.
    raw = b'{"name": "W", "price": 5, "stock": 10, "stock": 0}'
    response = shop.request("PUT", "/products/p1", raw=raw)
    assert response.status_code == 400
    assert shop.request("GET", "/products/p1").status_code == 404


@pytest.mark.parametrize("user", ["u\n", "u\r\n", "\nu", "u\t", "u\u2028"])
def test_ids_with_control_characters_take_no_stock(shop: Shop, user: str) -> None:
    shop.put_product()
    response = shop.order(userId=user)
    assert response.status_code == 400
    assert response.json_body["message"].startswith("userId must be")
    assert shop.stock() == 10


@pytest.mark.parametrize("field", ["name", "description"])
@pytest.mark.parametrize("control", ["\u0080", "\u0085", "\u009f", "\x7f", "\x00"])
def test_product_text_refuses_c0_and_c1_control_characters(
    shop: Shop, field: str, control: str
) -> None:
    # Regression (adversarial run): C1 controls (U+0080-U+009F) passed where
    # C0 and DEL were refused; names go into emails and CSV.
    body = {"name": "Lamp", "price": 5, "stock": 1, field: f"a{control}b"}
    response = shop.request("PUT", "/products/p1", body)
    assert response.status_code == 400, response.body
    assert shop.request("GET", "/products/p1").status_code == 404


# --- bounded numbers and hostile tokens ---------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        # Regression: int() of 5,000 digits raised ValueError past Python's limit: 500.
        "limit=" + "9" * 5000,
        "limit=",
        "limit=-1",
        "limit=1.5",
        "limit=%EF%BC%91",  # a full-width digit: isdigit() says yes, int() agrees, we do not
        "limit=0",
        "limit=101",
        "nextToken=" + base64.urlsafe_b64encode(b"[" * 3000).decode(),  # was RecursionError
        "nextToken="
        + base64.urlsafe_b64encode(
            json.dumps({"orderId": {"S": 1}, "userId": {"S": "alice"}}).encode()
        ).decode(),  # was a boto3 parameter error
        "nextToken="
        + base64.urlsafe_b64encode(
            json.dumps({"orderId": {"S": "o"}, "userId": {"S": "bob"}}).encode()
        ).decode(),  # another shopper's list
        "nextToken=" + base64.urlsafe_b64encode(json.dumps({"x": {"N": "1"}}).encode()).decode(),
        "nextToken=%%%",
        "nextToken=" + "A" * 5000,
        "unknown=1",
    ],
)
def test_hostile_list_parameters_are_400(shop: Shop, query: str) -> None:
    response = shop.request("GET", f"/users/alice/orders?{query}")
    assert response.status_code == 400, response.body
    assert set(response.json_body) == {"code", "message"}


# --- time as instants ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "window",
    [
        # Regression: converting to UTC overflowed: 500.
        {"saleStartsAt": "0001-01-01T00:00:00+14:00"},
        {"saleEndsAt": "9999-12-31T23:59:59-14:00"},
        {"saleStartsAt": "2026-11-27T10:00:00"},  # no zone
        {"saleStartsAt": "2026-11-27T24:00:00Z"},
        {"saleStartsAt": "2026-11-27T10:00:60Z"},
        {"saleStartsAt": "2026-02-30T10:00:00Z"},
        {"saleStartsAt": "+2026-11-27T10:00:00Z"},
        {"saleStartsAt": 1764237600},
        {"saleStartsAt": "2026-11-28T00:00:00Z", "saleEndsAt": "2026-11-28T00:00:00Z"},
    ],
)
def test_impossible_windows_are_400(shop: Shop, window: dict[str, Any]) -> None:
    response = shop.request("PUT", "/products/p1", {"name": "W", "price": 5, "stock": 1, **window})
    assert response.status_code == 400, response.body
    assert shop.request("GET", "/products/p1").status_code == 404


def test_times_are_stored_canonical_with_their_precision(shop: Shop) -> None:
    created = shop.put_product(
        saleStartsAt="0999-01-01T00:00:00.8Z", saleEndsAt="9999-12-31T23:59:59.123456789Z"
    )
    assert created["saleStartsAt"] == "0999-01-01T00:00:00.800000Z"
    # Beyond microseconds, the nearest microsecond.
    assert created["saleEndsAt"] == "9999-12-31T23:59:59.123457Z"
    for value in (created["saleStartsAt"], created["saleEndsAt"]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", value)


def test_canonical_strings_sort_as_instants() -> None:
    moments = [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1000, 1, 1, tzinfo=UTC),
        datetime(2026, 11, 27, 10, 0, 0, 800000, tzinfo=UTC),
        datetime(2026, 11, 27, 10, 0, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    texts = [instants.canonical(m) for m in moments]
    assert sorted(texts) == texts
    assert [instants.parse(t) for t in texts] == moments


def frozen(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr(instants, "now", lambda: moment)


def test_a_sale_opens_at_its_fraction_of_a_second(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: ".800Z" was stored as ":37Z", so orders were taken up to 0.8 s early.
    opens = datetime(2030, 1, 1, 10, 0, 37, 800000, tzinfo=UTC)
    shop.put_product(saleStartsAt="2030-01-01T10:00:37.800Z")
    frozen(monkeypatch, opens - timedelta(milliseconds=300))
    early = shop.order()
    assert (early.status_code, early.json_body["code"]) == (409, "SALE_NOT_ACTIVE")
    assert "2030-01-01T10:00:37.800000Z" in early.json_body["message"]
    # This container remembers the sale is shut (0.3 s here), never past its opening.
    frozen(monkeypatch, opens)
    time.sleep(0.35)
    assert shop.order().status_code == 201


def test_a_sale_that_ended_before_year_1000_is_closed(shop: Shop) -> None:
    # Regression: stored as "999-01-01T00:00:00Z", which sorts after "2026-...".
    shop.put_product(saleEndsAt="0999-01-01T00:00:00Z")
    response = shop.order()
    assert (response.status_code, response.json_body["code"]) == (409, "SALE_NOT_ACTIVE")
    assert shop.stock() == 10


def test_order_times_are_canonical_instants(shop: Shop) -> None:
    shop.put_product()
    before = instants.now()
    order = shop.order().json_body
    created = instants.parse(order["createdAt"])
    assert order["createdAt"] == instants.canonical(created)
    assert before <= created <= instants.now()


# --- replays return their order whatever changed --------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"maxPerUser": 1},  # Regression: was 409 PURCHASE_LIMIT_EXCEEDED
        {"price": 25},
        {"saleEndsAt": "2020-01-01T00:00:00Z"},
        {"saleStartsAt": "2099-01-01T00:00:00Z"},
        {"stock": 0},
        {"shards": 8, "stock": 40},
    ],
)
def test_a_replay_returns_its_order_whatever_changed(shop: Shop, change: dict[str, Any]) -> None:
    shop.put_product(maxPerUser=5)
    first = shop.order(key="checkout-1", quantity=3)
    assert first.status_code == 201
    shop.put_product(**{"maxPerUser": 5, **change})
    stock_after_change = shop.stock()

    replay = shop.order(key="checkout-1", quantity=3)

    assert replay.status_code == 201, replay.body
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json_body == first.json_body
    assert shop.stock() == stock_after_change
    assert len(shop.orders()) == 1
    # The same key for another quantity is still a misuse, not a replay.
    assert shop.order(key="checkout-1", quantity=2).json_body["code"] == "IDEMPOTENCY_KEY_REUSED"


# --- the contract's error body everywhere ------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/nope", 404, "NOT_FOUND"),
        ("POST", "/products", 405, "METHOD_NOT_ALLOWED"),
        ("DELETE", "/orders/o-1", 405, "METHOD_NOT_ALLOWED"),
        ("GET", "/products/p1/extra", 404, "NOT_FOUND"),
    ],
)
def test_unknown_routes_and_methods_answer_the_contract_body(
    shop: Shop, method: str, path: str, status: int, code: str
) -> None:
    # Regression: {"message": "Missing Authentication Token"} and {"Code": "MethodNotAllowedError"}.
    response = shop.request(method, path)
    assert response.status_code == status
    assert response.json_body["code"] == code
    assert set(response.json_body) == {"code", "message"}


def test_percent_encoded_ids_in_paths_are_decoded_once(shop: Shop) -> None:
    # Regression: the shop encodes "@" as %40 and the API refused its own shopper.
    shop.put_product()
    assert shop.order(userId="dana@example.com").status_code == 201
    mine = shop.request("GET", "/users/dana%40example.com/orders")
    assert mine.status_code == 200 and len(mine.json_body["orders"]) == 1
    for bad in ("/users/dana%2540example.com/orders", "/users/%ff/orders", "/users/a%0A/orders"):
        assert shop.request("GET", bad).status_code == 400


def test_wrong_content_type_is_415_in_the_contract_shape(shop: Shop) -> None:
    response = shop.request(
        "POST", "/orders", raw=b"userId=a", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert set(response.json_body) == {"code", "message"}


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        # Regression (adversarial run): Python's json detects UTF-16/32 and skips a
        # UTF-8 byte-order mark, and any charset was taken.
        ('{"userId": "u", "productId": "p1", "quantity": 1}'.encode("utf-16"), None, 400),
        (b'\xef\xbb\xbf{"userId": "u", "productId": "p1", "quantity": 1}', None, 400),
        (
            b'{"userId": "u", "productId": "p1", "quantity": 1}',
            "application/json; charset=latin-1",
            415,
        ),
        (
            b'{"userId": "u", "productId": "p1", "quantity": 1}',
            'application/json; charset="UTF-8"',
            201,
        ),
    ],
)
def test_json_bodies_are_utf_8(
    shop: Shop, raw: bytes, content_type: str | None, status: int
) -> None:
    shop.put_product()
    headers = {"Content-Type": content_type or "application/json"}
    response = shop.request("POST", "/orders", raw=raw, headers=headers)
    assert response.status_code == status, response.body
    if status >= 400:
        assert set(response.json_body) == {"code", "message"}
        assert shop.stock() == 10
