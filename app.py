"""FlashSale API: thin Chalice routes over chalicelib."""

from __future__ import annotations

import os
from typing import Any

# boto3 before Powertools (chalicelib.observability): the other order costs
# ~15 ms more at every cold start (bench/coldstart.py).
import boto3  # noqa: F401
from chalice import Chalice, CognitoUserPoolAuthorizer, CORSConfig, IAMAuthorizer, Response

from chalicelib import identity, observability, validation, wiring
from chalicelib.web import contract_errors

app = Chalice(app_name="flashsale")
app.api.cors = CORSConfig(
    allow_origin="*",
    allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Correlation-Id"],
    expose_headers=["Retry-After", "Date", "Location", "X-Correlation-Id"],
    max_age=600,
)
app.register_middleware(observability.http_middleware, "http")
# X-Ray: a subsegment per invocation (API and notifier) and per AWS call, in Lambda only.
if (traced := observability.trace_handlers()) is not None:
    app.register_middleware(traced)
# Deployed stages: shoppers sign in with Cognito, admins sign requests with IAM.
# Read at import, as `chalice deploy` reads the routes with the stage's variables.
SIGNED_IN = None
ADMIN = None
if os.environ.get("AUTH_MODE") == identity.COGNITO:
    SIGNED_IN = CognitoUserPoolAuthorizer(
        "FlashSaleShoppers", provider_arns=[os.environ["COGNITO_USER_POOL_ARN"]]
    )
    ADMIN = IAMAuthorizer()
# Deployed stages take requests only from their CloudFront distribution, which
# adds the stage's API key (infra/edge); a direct execute-api call is refused.
KEYED = os.environ.get("API_KEY_REQUIRED") == "true"
# Content types are checked by chalicelib so that a wrong one still gets a
# contract-shaped error instead of Chalice's own body.
ANY = ["*/*"]


def _caller() -> str | None:
    return identity.caller(app.current_request.context, wiring.config().auth_mode)


def _json_body() -> dict[str, Any]:
    request = app.current_request
    return validation.json_object(request.raw_body, request.headers.get("content-type"))


@app.route("/health", api_key_required=KEYED)
def health() -> dict[str, str]:
    return {"status": "ok"}


# The catalog is read through a one-second cache here and at the edge.
CATALOG_CACHE = {"Cache-Control": "public, max-age=1"}
NO_STORE = {"Cache-Control": "no-store"}


@app.route("/products", api_key_required=KEYED)
@contract_errors
def list_products() -> Response:
    products = [product.to_json() for product in wiring.catalog().list()]
    return Response({"products": products, "count": len(products)}, headers=CATALOG_CACHE)


@app.route("/products/{productId}", api_key_required=KEYED)
@contract_errors
def get_product(productId: str) -> Response:
    product = wiring.catalog().get(validation.identifier(productId, "productId"))
    return Response(product.to_json(), headers=CATALOG_CACHE)


@app.route(
    "/products/{productId}",
    methods=["PUT"],
    content_types=ANY,
    authorizer=ADMIN,
    api_key_required=KEYED,
)
@contract_errors
def put_product(productId: str) -> dict[str, Any]:
    spec = validation.product_input(productId, _json_body())
    return wiring.catalog().put(spec).to_json()


@app.route(
    "/orders", methods=["POST"], content_types=ANY, authorizer=SIGNED_IN, api_key_required=KEYED
)
@contract_errors
def place_order() -> Response:
    request = validation.order_request(_json_body(), wiring.config().max_quantity)
    identity.ensure_self(_caller(), request.user_id)
    key = validation.idempotency_key(app.current_request.headers.get("idempotency-key"))
    placed = wiring.orders().place(request, key)
    headers = {"Location": f"/orders/{placed.order.order_id}", **NO_STORE}
    if placed.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(body=placed.order.to_json(), status_code=201, headers=headers)


@app.route("/orders/{orderId}", authorizer=SIGNED_IN, api_key_required=KEYED)
@contract_errors
def get_order(orderId: str) -> Response:
    order = wiring.orders().get(validation.identifier(orderId, "orderId"), owner=_caller())
    return Response(order.to_json(), headers=NO_STORE)


@app.route("/users/{userId}/orders", authorizer=SIGNED_IN, api_key_required=KEYED)
@contract_errors
def list_user_orders(userId: str) -> Response:
    identity.ensure_self(_caller(), userId)
    params = app.current_request.query_params or {}
    limit = validation.page_size(params.get("limit"))
    page = wiring.orders().for_user(
        validation.identifier(userId, "userId"), limit, params.get("nextToken")
    )
    return Response(page, headers=NO_STORE)


# The Orders stream's event source mapping belongs to Terraform (infra/app):
# Chalice cannot give it ReportBatchItemFailures, bounded retries, bisection or
# an on-failure destination. Locally, local/delivery.py plays that mapping.
@app.lambda_function(name="notify_orders")
def notify_orders(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return wiring.notifier().handle_stream(event, context)
