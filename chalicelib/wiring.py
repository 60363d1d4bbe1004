"""The one place that builds domain services from settings and AWS clients."""

from __future__ import annotations

import threading

from chalicelib import aws, settings
from chalicelib.catalog import Catalog
from chalicelib.notifications import OrderNotifier
from chalicelib.orders import OrderService

_lock = threading.Lock()
_services: dict[str, object] = {}


def _build() -> None:
    config = settings.load()
    dynamodb = aws.client("dynamodb")
    catalog = Catalog(dynamodb, config.products_table, ttl=config.catalog_cache_seconds)
    _services["settings"] = config
    _services["catalog"] = catalog
    _services["orders"] = OrderService(
        dynamodb, config, catalog, sold_out_ttl=config.sold_out_cache_seconds
    )
    _services["notifier"] = OrderNotifier(
        dynamodb,
        aws.client("sns"),
        config.orders_table,
        config.order_topic_arn,
        report_item_failures=config.stream_reports_item_failures,
    )


def _get(name: str) -> object:
    if not _services:
        with _lock:
            if not _services:
                _build()
    return _services[name]


def catalog() -> Catalog:
    """The process-wide Catalog."""
    service = _get("catalog")
    assert isinstance(service, Catalog)
    return service


def orders() -> OrderService:
    """The process-wide OrderService (it owns the per-container product cache)."""
    service = _get("orders")
    assert isinstance(service, OrderService)
    return service


def notifier() -> OrderNotifier:
    """The process-wide OrderNotifier."""
    service = _get("notifier")
    assert isinstance(service, OrderNotifier)
    return service


def config() -> settings.Settings:
    """The settings the services were built with."""
    service = _get("settings")
    assert isinstance(service, settings.Settings)
    return service


def reset() -> None:
    """Drop every service and client (tests: a fresh emulator per case)."""
    with _lock:
        _services.clear()
        aws.reset()
