"""Schemathesis against the running API, from its OpenAPI document (api/openapi.py):
no response is a 5xx, and no rejected request changes stock or writes an order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from api.openapi import generate
from tests.stack.conftest import Stack, running_stack

pytestmark = pytest.mark.stack
OPERATIONS = [
    ("/health", "GET"),
    ("/products", "GET"),
    ("/products/{productId}", "GET"),
    ("/products/{productId}", "PUT"),
    ("/orders", "POST"),
    ("/orders/{orderId}", "GET"),
    ("/users/{userId}/orders", "GET"),
]


@pytest.fixture(scope="module")
def fuzzed_stack() -> Iterator[Stack]:
    # Its own stack: the fuzzer's products must not crowd the other tests' shop.
    with running_stack("fuzz-stack") as running:
        yield running


@pytest.fixture(scope="module")
def api_schema() -> Any:
    return schemathesis.openapi.from_dict(generate())


def snapshot(stack: Stack) -> tuple[dict[str, int], int]:
    """Stock per stock item and the number of stored orders."""
    products = stack.dynamodb.scan(TableName=stack.config.products_table, ConsistentRead=True)
    stock = {i["productId"]["S"]: int(i["stock"]["N"]) for i in products["Items"] if "stock" in i}
    orders = stack.dynamodb.scan(TableName=stack.config.orders_table, Select="COUNT")
    return stock, int(orders["Count"])


def test_every_route_is_fuzzed(api_schema: Any) -> None:
    documented = {(op.ok().path, op.ok().method.upper()) for op in api_schema.get_all_operations()}
    assert set(OPERATIONS) == documented - {(path, "OPTIONS") for path, _ in documented}


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_api_never_fails_and_rejections_change_nothing(
    path: str, method: str, api_schema: Any, fuzzed_stack: Stack
) -> None:
    base_url = f"http://{fuzzed_stack.host}:{fuzzed_stack.api_port}"

    @given(case=api_schema[path][method].as_strategy())
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        before = snapshot(fuzzed_stack)
        response = case.call(base_url=base_url, timeout=30)
        case.validate_response(response, checks=[not_a_server_error])
        if 400 <= response.status_code < 500:
            assert snapshot(fuzzed_stack) == before, (response.status_code, response.text)
            assert set(response.json()) == {"code", "message"}, response.text

    check()
