"""Deployed-stage identity: API Gateway's Cognito claims decide who the shopper is.

The events are what API Gateway hands Lambda after its Cognito authorizer has
checked the token; the routes' own checks are what these tests hold.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import app as application
from chalicelib import wiring
from tests.conftest import Shop


def invoke(method: str, path: str, resource: str, sub: str | None, body: Any = None,
           params: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:  # fmt: skip
    authorizer = {"claims": {"sub": sub, "email": f"{sub}@example.com"}} if sub else {}
    event = {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": params,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/api{path}",
            "requestId": "req-1",
            "authorizer": authorizer,
        },
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }
    response = application.app(event, None)
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def cognito(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> Shop:
    shop.put_product()
    monkeypatch.setenv("AUTH_MODE", "cognito")
    wiring.reset()
    return shop


def order(sub: str | None, user_id: str) -> tuple[int, dict[str, Any]]:
    body = {"userId": user_id, "productId": "p1", "quantity": 1}
    return invoke("POST", "/orders", "/orders", sub, body)


def test_signed_in_shopper_buys_as_themselves(cognito: Shop) -> None:
    status, body = order("alice", "alice")
    assert status == 201 and body["userId"] == "alice"


def test_a_body_userid_other_than_the_token_is_rejected(cognito: Shop) -> None:
    status, body = order("mallory", "alice")
    assert (status, body["code"]) == (403, "FORBIDDEN")
    assert cognito.orders() == [] and cognito.stock() == 10


def test_a_route_without_claims_is_refused(cognito: Shop) -> None:
    status, body = order(None, "alice")
    assert (status, body["code"]) == (403, "FORBIDDEN")


def test_shoppers_read_only_their_own_orders(cognito: Shop) -> None:
    _, placed = order("alice", "alice")
    mine = invoke(
        "GET", "/users/alice/orders", "/users/{userId}/orders", "alice", params={"userId": "alice"}
    )
    assert mine[0] == 200 and [o["orderId"] for o in mine[1]["orders"]] == [placed["orderId"]]
    theirs = invoke(
        "GET",
        "/users/alice/orders",
        "/users/{userId}/orders",
        "mallory",
        params={"userId": "alice"},
    )
    assert (theirs[0], theirs[1]["code"]) == (403, "FORBIDDEN")

    path = f"/orders/{placed['orderId']}"
    own = invoke("GET", path, "/orders/{orderId}", "alice", params={"orderId": placed["orderId"]})
    assert own == (200, placed)
    other = invoke(
        "GET", path, "/orders/{orderId}", "mallory", params={"orderId": placed["orderId"]}
    )
    # Someone else's order is "not found": an order id reveals nothing.
    assert (other[0], other[1]["code"]) == (404, "ORDER_NOT_FOUND")


def test_local_stage_trusts_the_dev_identity(shop: Shop) -> None:
    shop.put_product()
    assert shop.order(userId="anyone").status_code == 201
    assert shop.request("GET", "/users/anyone/orders").status_code == 200
