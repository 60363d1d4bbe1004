"""The API's OpenAPI (Swagger 2.0) document: `chalice generate-models` for the
routes, plus the request bodies and query parameters Chalice cannot see.

    .venv/bin/python -m api.openapi > build/openapi.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ID = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}$"}
ORDER = {
    "type": "object",
    "required": ["userId", "productId", "quantity"],
    "properties": {
        "userId": ID,
        "productId": ID,
        "quantity": {"type": "integer", "minimum": 1, "maximum": 100},
    },
    "additionalProperties": False,
}
PRODUCT = {
    "type": "object",
    "required": ["name", "price", "stock"],
    "properties": {
        "productId": ID,
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "description": {"type": "string", "maxLength": 2000},
        "imageUrl": {"type": "string", "maxLength": 2048},
        "price": {"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": 1000000},
        "stock": {"type": "integer", "minimum": 0, "maximum": 10000000},
        "maxPerUser": {"type": "integer", "minimum": 1, "maximum": 1000},
        "saleStartsAt": {"type": "string", "format": "date-time"},
        "saleEndsAt": {"type": "string", "format": "date-time"},
        "shards": {"type": "integer", "minimum": 1, "maximum": 32},
    },
    "additionalProperties": False,
}


def generate() -> dict[str, Any]:
    """The enriched document."""
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    chalice = str(Path(sys.executable).with_name("chalice"))
    output = subprocess.run(
        [chalice, "generate-models", "--stage", "local"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    document: dict[str, Any] = json.loads(output)
    paths = document["paths"]
    body = {"name": "body", "in": "body", "required": True}
    paths["/orders"]["post"]["parameters"] = [
        {**body, "schema": ORDER},
        {"name": "Idempotency-Key", "in": "header", "type": "string", "required": False},
    ]
    put = paths["/products/{productId}"]["put"]
    put["parameters"] = [*put.get("parameters", []), {**body, "schema": PRODUCT}]
    listing = paths["/users/{userId}/orders"]["get"]
    listing["parameters"] = [
        *listing.get("parameters", []),
        {"name": "limit", "in": "query", "type": "integer", "minimum": 1, "maximum": 100},
        {"name": "nextToken", "in": "query", "type": "string"},
    ]
    return document


if __name__ == "__main__":
    json.dump(generate(), sys.stdout, indent=2)
