"""The one place that builds domain services from settings and AWS clients.

Each service is built on first use, once per container: the API function never
builds the notifier (nor its SNS client), the stream function never the catalog.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from chalicelib import aws, settings
from chalicelib.catalog import Catalog
from chalicelib.orders import OrderService

if TYPE_CHECKING:
    from chalicelib.notifications import OrderNotifier

T = TypeVar("T")
_lock = threading.RLock()  # builders call other getters
_services: dict[str, Any] = {}


def _once(name: str, build: Callable[[], T]) -> T:
    service = _services.get(name)
    if service is None:
        with _lock:
            service = _services.get(name)
            if service is None:
                service = _services[name] = build()
    return cast(T, service)


def config() -> settings.Settings:
    """The settings the services are built with."""
    return _once("settings", settings.load)


def catalog() -> Catalog:
    """The process-wide Catalog."""
    return _once(
        "catalog",
        lambda: Catalog(
            aws.client("dynamodb"), config().products_table, ttl=config().catalog_cache_seconds
        ),
    )


def orders() -> OrderService:
    """The process-wide OrderService (it owns the per-container product cache)."""
    return _once(
        "orders",
        lambda: OrderService(
            aws.client("dynamodb"),
            config(),
            catalog(),
            sold_out_ttl=config().sold_out_cache_seconds,
        ),
    )


def notifier() -> OrderNotifier:
    """The process-wide OrderNotifier."""

    def build() -> OrderNotifier:
        from chalicelib.notifications import OrderNotifier

        return OrderNotifier(
            aws.client("dynamodb"),
            aws.client("sns"),
            config().orders_table,
            config().order_topic_arn,
        )

    return _once("notifier", build)


def reset() -> None:
    """Drop every service and client (tests: a fresh emulator per case)."""
    with _lock:
        _services.clear()
        aws.reset()
