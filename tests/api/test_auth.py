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
           params: dict[str, str] | None = None,
           claims: dict[str, Any] | None = None,
           signer: str | None = None) -> tuple[int, dict[str, Any]]:  # fmt: skip
    given = {"sub": sub, "email": f"{sub}@example.com", "email_verified": "true", **(claims or {})}
    authorizer = {"claims": given} if sub else {}
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
            "identity": {"userArn": signer} if signer else {},
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


def test_the_order_records_the_verified_address_of_the_token(cognito: Shop) -> None:
    status, body = order("alice", "alice")
    assert status == 201 and body["email"] == "alice@example.com"
    assert cognito.orders()[0]["email"] == "alice@example.com"


def test_an_unverified_address_is_never_recorded(cognito: Shop) -> None:
    body = {"userId": "bob", "productId": "p1", "quantity": 1}
    status, placed = invoke(
        "POST", "/orders", "/orders", "bob", body, claims={"email_verified": "false"}
    )
    assert status == 201 and "email" not in placed
    assert "email" not in cognito.orders()[0]


def test_an_address_in_the_body_is_refused(cognito: Shop) -> None:
    body = {"userId": "alice", "productId": "p1", "quantity": 1, "email": "x@evil.example"}
    status, answer = invoke("POST", "/orders", "/orders", "alice", body)
    assert (status, answer["code"]) == (400, "INVALID_REQUEST")


@pytest.mark.parametrize(("user", "email"), [("shopper-ab12@example.com", True), ("bob", False)])
def test_local_dev_identity_is_the_address_when_it_is_one(
    shop: Shop, user: str, email: bool
) -> None:
    shop.put_product()
    placed = shop.order(userId=user).json_body
    assert placed.get("email") == (user if email else None)


@pytest.mark.parametrize(
    ("method", "path", "resource", "params", "body"),
    [
        ("POST", "/orders", "/orders", None, {"userId": "a", "productId": "p1", "quantity": 1}),
        ("GET", "/orders/o-1", "/orders/{orderId}", {"orderId": "o-1"}, None),
        ("GET", "/users/a/orders", "/users/{userId}/orders", {"userId": "a"}, None),
        ("PUT", "/products/p1", "/products/{productId}", {"productId": "p1"},
         {"name": "Free", "price": 1, "stock": 1}),
    ],
)  # fmt: skip
def test_in_lambda_without_an_auth_mode_every_protected_route_fails_closed(
    shop: Shop,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    path: str,
    resource: str,
    params: dict[str, str] | None,
    body: Any,
) -> None:
    # Regression: a stage deployed without AUTH_MODE trusted the body's userId.
    shop.put_product()
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "flashsale-prod")
    monkeypatch.delenv("AUTH_MODE", raising=False)
    wiring.reset()
    status, answer = invoke(method, path, resource, None, body, params)
    assert (status, answer["code"]) == (403, "FORBIDDEN")
    assert shop.orders() == [] and shop.stock() == 10
    # The public catalog still answers.
    assert invoke("GET", "/products", "/products", None)[0] == 200


def test_product_writes_need_the_iam_signature_api_gateway_checked(cognito: Shop) -> None:
    body = {"name": "Widget", "price": 5, "stock": 3}
    params = {"productId": "p9"}
    unsigned = invoke("PUT", "/products/p9", "/products/{productId}", None, body, params)
    assert (unsigned[0], unsigned[1]["code"]) == (403, "FORBIDDEN")
    signed = invoke(
        "PUT", "/products/p9", "/products/{productId}", None, body, params,
        signer="arn:aws:iam::111122223333:role/flashsale-operator",
    )  # fmt: skip
    assert signed[0] == 200 and signed[1]["stock"] == 3
