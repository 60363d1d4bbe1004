"""Fuzzing the running API.

Schemathesis generates requests from the OpenAPI document (api/openapi.py,
itself derived from the contract), and hand-built Hypothesis strategies send
what a document-driven fuzzer rarely does: huge numbers, deep nesting, control
characters, duplicate keys, forged and malformed page tokens and Idempotency-Keys,
and extreme dates. Whatever arrives: no 5xx, every error in the contract's
shape, and no rejected request changes stock or writes an order."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from api.openapi import generate
from tests.stack.conftest import Stack, running_stack

OPERATIONS = [
    ("/health", "GET"),
    ("/products", "GET"),
    ("/products/{productId}", "GET"),
    ("/products/{productId}", "PUT"),
    ("/orders", "POST"),
    ("/orders/{orderId}", "GET"),
    ("/users/{userId}/orders", "GET"),
    ("/orders/{orderId}/cancel", "POST"),
    ("/orders/{orderId}/pay", "POST"),
    ("/payments/stripe/webhook", "POST"),
    ("/payments/config", "GET"),
    ("/admin/sales", "GET"),
    ("/admin/sales/{productId}", "PUT"),
    ("/admin/sales/{productId}/restock", "POST"),
    ("/admin/sales/{productId}/end", "POST"),
    ("/admin/sales/{productId}/live", "GET"),
    ("/admin/sales/{productId}/orders", "GET"),
    ("/admin/sales/{productId}/orders.csv", "GET"),
    ("/products/{productId}/queue", "GET"),
    ("/products/{productId}/queue/join", "POST"),
    ("/products/{productId}/queue/me", "GET"),
    ("/products/{productId}/queue/entries", "GET"),
    ("/admin/rooms/{productId}", "GET"),
    ("/admin/rooms/{productId}", "PUT"),
]
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
# Twenty-four routes from the document: fewer examples each keeps `make test` in budget.
ROUTES = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def fuzzed_stack() -> Iterator[Stack]:
    # Its own stack: the fuzzer's products must not crowd the other tests' shop.
    with running_stack("fuzz-stack") as running:
        assert (
            running.api("PUT", "/products/fuzz", {"name": "F", "price": 5, "stock": 5}).status
            == 200
        )
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
    assert set(OPERATIONS) == documented


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_api_never_fails_and_rejections_change_nothing(
    path: str, method: str, api_schema: Any, fuzzed_stack: Stack
) -> None:
    base_url = f"http://{fuzzed_stack.host}:{fuzzed_stack.api_port}"

    @given(case=api_schema[path][method].as_strategy())
    @ROUTES
    def check(case: Any) -> None:
        before = snapshot(fuzzed_stack)
        response = case.call(base_url=base_url, timeout=30)
        case.validate_response(response, checks=[not_a_server_error])
        if 400 <= response.status_code < 500:
            assert snapshot(fuzzed_stack) == before, (response.status_code, response.text)
            assert set(response.json()) == {"code", "message"}, response.text

    check()


# --- the classes a schema-driven fuzzer rarely reaches ------------------------------------


def raw_call(stack: Stack, method: str, path: str, body: bytes | None, **headers: str) -> Any:
    import http.client

    connection = http.client.HTTPConnection(stack.host, stack.api_port, timeout=30)
    try:
        connection.request(
            method, path, body=body, headers={"Content-Type": "application/json", **headers}
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def assert_refused_cleanly(stack: Stack, status: int, payload: bytes) -> None:
    assert status < 500, payload
    if status >= 400:
        assert set(json.loads(payload)) == {"code", "message"}, payload


huge_numbers = st.one_of(
    st.integers(min_value=20, max_value=6000).map(lambda n: "9" * n),
    st.integers(min_value=20, max_value=400).map(lambda n: "1e" + "9" * n),
    st.sampled_from(["-0", "1E400", "-1e-400", "0.0000000000000000000001", "1" + "0" * 40]),
)
controls = st.text(
    alphabet=st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Cs"]), min_size=1, max_size=4
)
fields = st.sampled_from(["userId", "productId", "quantity"])


@st.composite
def hostile_order(draw: Any) -> bytes:
    """A POST /orders body from one of the hostile classes."""
    kind = draw(st.sampled_from(["number", "nesting", "control", "duplicate", "type"]))
    user = draw(st.sampled_from(["alice", "shopper-1@example.com"]))
    if kind == "number":
        return f'{{"userId": "{user}", "productId": "fuzz", "quantity": {draw(huge_numbers)}}}'.encode()
    if kind == "nesting":
        depth = draw(st.integers(min_value=50, max_value=4000))
        return (
            '{"userId": "a", "productId": "fuzz", "quantity": ' + "[" * depth + "]" * depth + "}"
        ).encode()
    if kind == "control":
        field = draw(st.sampled_from(["userId", "productId"]))
        where = draw(st.sampled_from(["end", "start", "middle"]))
        bad = draw(controls)
        value = {"end": user + bad, "start": bad + user, "middle": user[:2] + bad + user[2:]}[where]
        body = {"userId": user, "productId": "fuzz", "quantity": 1, field: value}
        return json.dumps(body).encode()
    if kind == "duplicate":
        field = draw(fields)
        values = {"userId": '"mallory"', "productId": '"fuzz"', "quantity": "1"}
        return (
            f'{{"userId": "{user}", "productId": "fuzz", "quantity": 1, "{field}": {values[field]}}}'
        ).encode()
    value = draw(st.sampled_from(['"1"', "true", "null", "[]", "{}", "1.0", '"\\ud800"']))
    return f'{{"userId": "{user}", "productId": "fuzz", "quantity": {value}}}'.encode()


def test_hostile_bodies_are_refused_cleanly(fuzzed_stack: Stack) -> None:
    @given(body=hostile_order())
    @FUZZ
    def check(body: bytes) -> None:
        before = snapshot(fuzzed_stack)
        status, payload = raw_call(fuzzed_stack, "POST", "/orders", body)
        assert_refused_cleanly(fuzzed_stack, status, payload)
        assert status == 400, (body[:200], payload)
        assert snapshot(fuzzed_stack) == before

    check()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
tokens = st.one_of(
    json_values.map(lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode()),
    st.dictionaries(
        st.sampled_from(["orderId", "userId", "createdAt", "productId", "x"]),
        st.one_of(
            st.fixed_dictionaries(
                {"S": st.one_of(st.text(max_size=300), st.integers(), st.none())}
            ),
            st.fixed_dictionaries({"N": st.text(max_size=5)}),
            json_values,
        ),
        max_size=4,
    ).map(lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode()),
    st.integers(min_value=1, max_value=3000).map(
        lambda n: base64.urlsafe_b64encode(b"[" * n).decode()
    ),
    st.text(max_size=60),
)


def test_forged_page_tokens_and_limits_are_refused_cleanly(fuzzed_stack: Stack) -> None:
    @given(token=tokens, limit=st.one_of(st.none(), st.text(max_size=30), huge_numbers))
    @FUZZ
    def check(token: str, limit: str | None) -> None:
        query = f"nextToken={quote(token, safe='')}"
        if limit is not None:
            query += f"&limit={quote(limit, safe='')}"
        status, payload = raw_call(fuzzed_stack, "GET", f"/users/alice/orders?{query}", None)
        assert_refused_cleanly(fuzzed_stack, status, payload)

    check()


def test_malformed_idempotency_keys_are_refused_cleanly(fuzzed_stack: Stack) -> None:
    @given(key=st.one_of(st.text(min_size=1, max_size=300), st.binary(min_size=1, max_size=40)))
    @FUZZ
    def check(key: Any) -> None:
        before = snapshot(fuzzed_stack)
        header = key.decode("latin-1") if isinstance(key, bytes) else key
        try:
            header.encode("latin-1")
        except UnicodeEncodeError:
            header = quote(header)
        header = header.replace("\r", "").replace("\n", "") or "x"
        body = json.dumps({"userId": "alice", "productId": "nope", "quantity": 1}).encode()
        status, payload = raw_call(
            fuzzed_stack, "POST", "/orders", body, **{"Idempotency-Key": header}
        )
        assert_refused_cleanly(fuzzed_stack, status, payload)
        assert snapshot(fuzzed_stack) == before  # "nope" does not exist: nothing to take

    check()


dates = st.one_of(
    st.builds(
        lambda year, month, day, offset, fraction: (
            f"{year:04d}-{month:02d}-{day:02d}T{offset[0]}{fraction}{offset[1]}"
        ),
        st.sampled_from([1, 2, 999, 1000, 1970, 2026, 9998, 9999]),
        st.integers(min_value=0, max_value=13),
        st.integers(min_value=0, max_value=32),
        st.sampled_from(
            [
                ("00:00:00", "+14:00"),
                ("23:59:59", "-14:00"),
                ("23:59:60", "Z"),
                ("24:00:00", "Z"),
                ("12:00:00", "+23:59"),
                ("12:00:00", ""),
                ("12:00:00", "+24:00"),
                ("12:00:00", "z"),
            ]
        ),
        st.sampled_from(["", ".8", ".123456789012", ".", ".9999999"]),
    ),
    st.text(max_size=40),
    st.integers(),
)


def test_extreme_dates_are_refused_or_stored_canonically(fuzzed_stack: Stack) -> None:
    @given(starts=dates, ends=dates)
    @FUZZ
    def check(starts: Any, ends: Any) -> None:
        body = {
            "name": "Window",
            "price": 5,
            "stock": 1,
            "saleStartsAt": starts,
            "saleEndsAt": ends,
        }
        reply = fuzzed_stack.api("PUT", "/products/fuzz-window", body)
        assert reply.status in (200, 400), reply.body
        if reply.status == 200:
            for field in ("saleStartsAt", "saleEndsAt"):
                value = reply.body[field]
                assert len(value) == 27 and value.endswith("Z"), value
            assert reply.body["saleStartsAt"] < reply.body["saleEndsAt"]
            order = {"userId": "alice", "productId": "fuzz-window", "quantity": 1}
            assert fuzzed_stack.api("POST", "/orders", order).status in (201, 409)
        else:
            assert set(reply.body) == {"code", "message"}

    check()


def raw_exchange(stack: Stack, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """One request written byte for byte; the status, headers and body read back."""
    import socket

    with socket.create_connection((stack.host, stack.api_port), timeout=30) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.parametrize(
    ("request_line", "extra", "status", "code"),
    [
        ("TRACE /products HTTP/1.1", "", 405, "METHOD_NOT_ALLOWED"),
        ("FOO /products HTTP/1.1", "", 405, "METHOD_NOT_ALLOWED"),
        ("get /products HTTP/1.1", "", 405, "METHOD_NOT_ALLOWED"),
        ("PROPFIND /orders HTTP/1.1", "", 405, "METHOD_NOT_ALLOWED"),
        ("POST /orders HTTP/1.1", "Content-Length: abc\r\n", 400, "INVALID_REQUEST"),
        ("GET /products HTTP/1.1", f"X-Big: {'a' * 70000}\r\n", 431, "INVALID_REQUEST"),
        # Found by review: a bare JSON body with no status line, a 505, a dropped
        # connection (MemoryError) and a second request smuggled in the body.
        ("GET / HTTP/2.0", "", 400, "INVALID_REQUEST"),
        ("GETPRODUCTS", "", 400, "INVALID_REQUEST"),
        ("POST /orders HTTP/1.1", "Content-Length: 99999999999999\r\n", 400, "INVALID_REQUEST"),
        (
            "POST /orders HTTP/1.1",
            "Content-Length: 2\r\nContent-Length: 40\r\n",
            400,
            "INVALID_REQUEST",
        ),
    ],
)
def test_what_never_reaches_a_route_is_answered_in_the_contract_shape(
    fuzzed_stack: Stack, request_line: str, extra: str, status: int, code: str
) -> None:
    # Regression (adversarial run): http.server answered these with an HTML page
    # (501, 431) or closed the connection without a word (Content-Length: abc).
    request = f"{request_line}\r\nHost: x\r\n{extra}Connection: close\r\n\r\n".encode()
    got, headers, body = raw_exchange(fuzzed_stack, request)
    assert (got, headers["content-type"]) == (status, "application/json"), body
    assert json.loads(body)["code"] == code
    assert set(json.loads(body)) == {"code", "message"}


def test_a_head_answer_has_no_body_on_a_kept_alive_connection(fuzzed_stack: Stack) -> None:
    # Found by review: chalice local wrote HEAD's body, which then ran into the
    # next response on the same connection.
    import http.client

    connection = http.client.HTTPConnection(fuzzed_stack.host, fuzzed_stack.api_port, timeout=30)
    try:
        connection.request("HEAD", "/health")
        head = connection.getresponse()
        assert head.read() == b""
        connection.request("GET", "/health")
        after = connection.getresponse()
        assert after.status == 200 and json.loads(after.read())
    finally:
        connection.close()
