"""The API's OpenAPI 3.1 document, derived from the app's routes and the request
contract (chalicelib/contract.py): the fuzzer and clients read this, so its
types, ranges, patterns and sizes are the validators' own.

    .venv/bin/python -m api.openapi > build/openapi.json

(`chalice generate-models` still gives API Gateway its Swagger 2.0 import at
deploy time; this document is the contract for everything else.)
"""

from __future__ import annotations

import json
import sys
from typing import Any

import msgspec

from chalicelib import contract

# What each route reads besides its path parameters: (body model, query model, headers).
Route = tuple[type | None, type | None, dict[str, Any]]
ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/health"): (None, None, {}),
    ("GET", "/products"): (None, None, {}),
    ("GET", "/products/{productId}"): (None, None, {}),
    ("PUT", "/products/{productId}"): (contract.ProductBody, None, {}),
    ("POST", "/orders"): (
        contract.OrderBody,
        None,
        {"Idempotency-Key": contract.IdempotencyKey},
    ),
    ("GET", "/orders/{orderId}"): (None, None, {}),
    ("GET", "/users/{userId}/orders"): (None, contract.PageQuery, {}),
    ("POST", "/orders/{orderId}/cancel"): (contract.CancelBody, None, {}),
    ("POST", "/orders/{orderId}/pay"): (contract.PayBody, None, {}),
    # Stripe's signed event: its body is Stripe's, checked by the signature alone.
    ("POST", "/payments/stripe/webhook"): (None, None, {"Stripe-Signature": contract.Signature}),
    ("GET", "/payments/config"): (None, None, {}),
    # The operator console's API.
    ("GET", "/admin/sales"): (None, None, {}),
    ("PUT", "/admin/sales/{productId}"): (contract.ProductBody, None, {}),
    ("POST", "/admin/sales/{productId}/restock"): (contract.RestockBody, None, {}),
    ("POST", "/admin/sales/{productId}/end"): (contract.EmptyBody, None, {}),
    ("GET", "/admin/sales/{productId}/live"): (None, contract.LiveQuery, {}),
    ("GET", "/admin/sales/{productId}/orders"): (None, contract.AdminOrdersQuery, {}),
    ("GET", "/admin/sales/{productId}/orders.csv"): (None, None, {}),
    # Waiting rooms (docs/waiting-room.md).
    ("GET", "/products/{productId}/queue"): (None, None, {}),
    ("POST", "/products/{productId}/queue/join"): (contract.JoinBody, None, {}),
    ("GET", "/products/{productId}/queue/me"): (None, contract.TicketQuery, {}),
    ("GET", "/products/{productId}/queue/entries"): (None, contract.EntriesQuery, {}),
    ("GET", "/admin/rooms/{productId}"): (None, None, {}),
    ("PUT", "/admin/rooms/{productId}"): (contract.RoomRateBody, None, {}),
}
# Bodies a route also takes empty (no body at all is its defaults).
OPTIONAL_BODIES = {
    ("POST", "/orders/{orderId}/cancel"),
    ("POST", "/admin/sales/{productId}/end"),
    ("POST", "/products/{productId}/queue/join"),
}
ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}


def _schemas(models: list[Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    return msgspec.json.schema_components(
        models, schema_hook=contract.schema_hook, ref_template="#/components/schemas/{name}"
    )


def _query_parameters(model: type) -> list[dict[str, Any]]:
    (_,), components = _schemas([model])
    spec = components[model.__name__]
    required = set(spec.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": schema}
        for name, schema in spec["properties"].items()
    ]


def _single(kind: Any) -> dict[str, Any]:
    (schema,), _ = _schemas([kind])
    return schema


def generate(routes: dict[tuple[str, str], Route] = ROUTES) -> dict[str, Any]:
    """The document."""
    bodies = sorted({body for body, _, _ in routes.values() if body is not None}, key=str)
    _, components = _schemas(bodies)
    components["Error"] = ERROR
    paths: dict[str, Any] = {}
    for (method, path), (body, query, headers) in routes.items():
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": _single(contract.PATH_PARAMETERS[name]),
            }
            for name in contract.PATH_PARAMETERS
            if "{" + name + "}" in path
        ]
        if query is not None:
            parameters += _query_parameters(query)
        parameters += [
            {"name": name, "in": "header", "required": False, "schema": _single(kind)}
            for name, kind in headers.items()
        ]
        operation: dict[str, Any] = {
            "parameters": parameters,
            "responses": {
                "default": {
                    "description": "the contract's error body",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
                "2XX": {"description": "success"},
            },
        }
        if body is not None:
            operation["requestBody"] = {
                "required": (method, path) not in OPTIONAL_BODIES,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{body.__name__}"}
                    }
                },
            }
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "FlashSale",
            "version": "1",
            "description": "Flash-sale orders; every error is {code, message}.",
        },
        "paths": paths,
        "components": {"schemas": components},
    }


if __name__ == "__main__":
    json.dump(generate(), sys.stdout, indent=2)
