"""GET/PUT /products and /health through the Chalice test client."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Shop


def test_health_is_ok(shop: Shop) -> None:
    response = shop.request("GET", "/health")
    assert response.status_code == 200
    assert response.json_body == {"status": "ok"}


def test_put_then_get_returns_the_product(shop: Shop) -> None:
    created = shop.put_product(
        "p1",
        name="Headphones",
        description="Over-ear",
        imageUrl="https://img.example/h.jpg",
        price=79.99,
        stock=100,
        maxPerUser=2,
        saleStartsAt="2026-11-27T08:00:00+05:30",
        saleEndsAt="2026-11-28T00:00:00Z",
    )
    expected = {
        "productId": "p1",
        "name": "Headphones",
        "description": "Over-ear",
        "imageUrl": "https://img.example/h.jpg",
        "price": 79.99,
        "stock": 100,
        "maxPerUser": 2,
        # One canonical form, UTC with microseconds: strings that sort as instants.
        "saleStartsAt": "2026-11-27T02:30:00.000000Z",
        "saleEndsAt": "2026-11-28T00:00:00.000000Z",
        # Chosen from the stock: 100 units, 5 shards of 20.
        "shards": 5,
        "cancelWindowMinutes": 15,
    }
    assert created == expected
    assert shop.request("GET", "/products/p1").json_body == expected


def test_put_replaces_and_drops_omitted_optional_fields(shop: Shop) -> None:
    shop.put_product("p1", maxPerUser=2, description="old")
    replaced = shop.put_product("p1", name="New", price=5, stock=3)
    assert replaced == {
        "productId": "p1",
        "name": "New",
        "price": 5,
        "stock": 3,
        "shards": 1,
        "cancelWindowMinutes": 15,
    }


def test_list_products_returns_all_with_count(shop: Shop) -> None:
    assert shop.request("GET", "/products").json_body == {"products": [], "count": 0}
    shop.put_product("b")
    shop.put_product("a", price=1)
    body = shop.request("GET", "/products").json_body
    assert body["count"] == 2
    assert [p["productId"] for p in body["products"]] == ["a", "b"]


def test_unknown_product_is_404(shop: Shop) -> None:
    response = shop.request("GET", "/products/nope")
    assert response.status_code == 404
    assert response.json_body["code"] == "PRODUCT_NOT_FOUND"
    assert "nope" in response.json_body["message"]


@pytest.mark.parametrize(
    "fields",
    [
        {"name": None},
        {"name": ""},
        {"name": "x" * 201},
        {"price": None},
        {"price": -1},
        {"price": 0},
        {"price": "10"},
        {"price": 1.999},
        {"price": True},
        {"price": 10_000_001},
        {"stock": -1},
        {"stock": 1.5},
        {"stock": "5"},
        {"maxPerUser": 0},
        {"imageUrl": "javascript:alert(1)"},
        # Regression (adversarial run): protocol-relative, so another host's image.
        {"imageUrl": "//evil.example/x.png"},
        {"imageUrl": "/\\evil.example/x.png"},
        {"imageUrl": "https://"},
        {"saleStartsAt": "2026-11-27T00:00:00"},
        {"saleStartsAt": "tomorrow"},
        {"saleStartsAt": "2026-11-28T00:00:00Z", "saleEndsAt": "2026-11-27T00:00:00Z"},
        {"colour": "red"},
        {"productId": "other"},
    ],
)
def test_invalid_product_is_rejected_and_not_stored(shop: Shop, fields: dict[str, Any]) -> None:
    body = {"name": "Widget", "price": 19.99, "stock": 10, **fields}
    response = shop.request("PUT", "/products/p1", body)
    assert response.status_code == 400, response.body
    assert response.json_body["code"] == "INVALID_REQUEST"
    assert shop.request("GET", "/products/p1").status_code == 404


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1,2]", b'{"name": NaN}', b"\xff\xfe"])
def test_unparseable_product_body_is_400(shop: Shop, raw: bytes) -> None:
    response = shop.request("PUT", "/products/p1", raw=raw)
    assert response.status_code == 400
    assert response.json_body["code"] == "INVALID_REQUEST"


def test_bad_product_id_in_path_is_400(shop: Shop) -> None:
    response = shop.request("GET", "/products/-bad")
    assert response.status_code == 400
    assert response.json_body["code"] == "INVALID_REQUEST"


def test_unexpected_failure_is_a_contract_500_without_internals(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import wiring

    def explode() -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(wiring.catalog(), "list", explode)
    response = shop.request("GET", "/products")
    assert response.status_code == 500
    assert response.json_body == {
        "code": "INTERNAL_ERROR",
        "message": "something went wrong on our side",
    }
    assert b"secret" not in response.body and b"Traceback" not in response.body


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b'{"name": "\\ud800", "price": 1, "stock": 1}', 400),  # lone surrogate
        (b'{"name": "Widget", "description": "\\udfff x", "price": 1, "stock": 1}', 400),
        ('{"name": "Diya 🪔 दीया", "price": 1, "stock": 1}'.encode(), 200),
        (b'{"name": "\xc3\x28", "price": 1, "stock": 1}', 400),  # invalid UTF-8
    ],
)
def test_unicode_edge_cases_are_clear(shop: Shop, raw: bytes, status: int) -> None:
    response = shop.request("PUT", "/products/p1", raw=raw)
    assert response.status_code == status, response.body
    if status == 200:
        assert response.json_body["name"] == "Diya 🪔 दीया"
        assert shop.request("GET", "/products/p1").json_body["name"] == "Diya 🪔 दीया"
    else:
        assert response.json_body["code"] == "INVALID_REQUEST"
