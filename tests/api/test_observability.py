"""Structured logs with correlation ids and EMF metrics for orders."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

from chalicelib import observability
from tests.conftest import Shop


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, str]]]:
    calls: list[tuple[str, dict[str, str]]] = []
    monkeypatch.setattr(
        observability, "count", lambda name, **dimensions: calls.append((name, dimensions))
    )
    return calls


def test_orders_placed_and_rejected_are_counted_by_reason(
    shop: Shop, counted: list[tuple[str, dict[str, str]]]
) -> None:
    shop.put_product(stock=1, maxPerUser=1)
    shop.order(key="k-1")
    shop.order(key="k-1")  # a replay is not a second sale
    shop.order(userId="bob")
    shop.order(userId="carol", productId="ghost")
    assert counted == [
        ("OrdersPlaced", {}),
        ("OrdersRejected", {"reason": "OUT_OF_STOCK"}),
        ("OrdersRejected", {"reason": "PRODUCT_NOT_FOUND"}),
    ]


def test_count_writes_an_emf_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "FlashSale")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    observability.count("OrdersRejected", reason="SALE_NOT_ACTIVE")
    (line,) = [x for x in json_lines(capsys.readouterr().out) if "_aws" in x]
    directive = line["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "FlashSale"
    assert directive["Metrics"] == [{"Name": "OrdersRejected", "Unit": "Count"}]
    assert line["reason"] == "SALE_NOT_ACTIVE" and line["OrdersRejected"] == [1.0]


def test_count_is_silent_when_metrics_are_disabled(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    observability.count("OrdersPlaced")
    assert "_aws" not in capsys.readouterr().out


def test_logs_carry_the_correlation_id_and_order_id(shop: Shop) -> None:
    # Powertools' own handler keeps the stdout it found at import: listen beside it,
    # through the same JSON formatter.
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(observability.logger.registered_formatter)
    logging.getLogger("flashsale").addHandler(handler)
    try:
        shop.put_product()
        response = shop.request(
            "POST",
            "/orders",
            {"userId": "alice", "productId": "p1", "quantity": 1},
            headers={"X-Correlation-Id": "checkout-42"},
        )
    finally:
        logging.getLogger("flashsale").removeHandler(handler)
    assert response.headers["X-Correlation-Id"] == "checkout-42"
    placed = [x for x in json_lines(buffer.getvalue()) if x.get("message") == "order placed"]
    assert placed and placed[0]["correlation_id"] == "checkout-42"
    assert placed[0]["order_id"] == response.json_body["orderId"]
    assert placed[0]["service"] == "flashsale"


@pytest.mark.parametrize("header", [None, "", "x" * 65, "bad id!"])
def test_a_missing_or_malformed_correlation_id_is_replaced(shop: Shop, header: str | None) -> None:
    headers = {} if header is None else {"X-Correlation-Id": header}
    response = shop.request("GET", "/health", headers=headers)
    echoed = response.headers["X-Correlation-Id"]
    assert echoed and echoed != header and len(echoed) <= 64
