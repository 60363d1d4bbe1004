"""The one place that builds domain services from settings and AWS clients.

Each service is built on first use, once per container, and its module imported
then: the API function never builds the notifier (nor its SNS client), the
stream function never the catalog, and a container's import (its cold start)
carries none of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from chalicelib import aws, settings

if TYPE_CHECKING:
    from chalicelib.catalog import Catalog
    from chalicelib.console import Console
    from chalicelib.mailer import Mailer, Suppressions
    from chalicelib.notifications import OrderNotifier
    from chalicelib.orders import OrderService
    from chalicelib.payments.checkout import Checkout
    from chalicelib.payments.holds import HoldQueue
    from chalicelib.payments.stripe_gateway import Gateway
    from chalicelib.rooms.service import RoomService
    from chalicelib.sales import RejectionTally, SalesStats

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

    def build() -> Catalog:
        from chalicelib.catalog import Catalog

        return Catalog(
            aws.client("dynamodb"),
            config().products_table,
            ttl=config().catalog_cache_seconds,
            checkout=config().checkout_default,
            currency=config().currency_default,
        )

    return _once("catalog", build)


def orders() -> OrderService:
    """The process-wide OrderService (it owns the per-container product cache)."""

    def build() -> OrderService:
        from chalicelib.orders import OrderService

        return OrderService(
            aws.client("dynamodb", retries=False),
            config(),
            catalog(),
            belief_ttl=config().sold_out_cache_seconds,
            reader=aws.client("dynamodb"),
            tally=refusals(),
        )

    return _once("orders", build)


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


def sales_stats() -> SalesStats:
    """The process-wide sales counters."""

    def build() -> SalesStats:
        from chalicelib.sales import SalesStats

        return SalesStats(aws.client("dynamodb"), config().sales_stats_table, config().orders_table)

    return _once("sales_stats", build)


def refusals() -> RejectionTally:
    """The container's tally of refused orders."""

    def build() -> RejectionTally:
        from chalicelib.sales import RejectionTally

        return RejectionTally(sales_stats(), client=aws.client("dynamodb", retries=False))

    return _once("refusals", build)


def console() -> Console:
    """The operator console's service."""

    def build() -> Console:
        from chalicelib.console import Console

        return Console(
            catalog(),
            sales_stats(),
            aws.client("dynamodb"),
            config().orders_table,
            config().orders_by_product_index,
            config().orders_by_user_index,
        )

    return _once("console", build)


def suppressions() -> Suppressions:
    """The addresses never to mail again."""

    def build() -> Suppressions:
        from chalicelib.mailer import Suppressions

        return Suppressions(aws.client("dynamodb"), config().suppressions_table)

    return _once("suppressions", build)


def mailer() -> Mailer:
    """The process-wide shopper mailer (SES)."""

    def build() -> Mailer:
        from chalicelib.mailer import Mailer, Pace

        settings_ = config()
        rate = settings_.ses_max_send_rate / max(settings_.mailer_max_concurrency, 1)
        return Mailer(
            aws.client("dynamodb"),
            aws.client("ses", retries=False),  # the mailer decides what to resend
            settings_.orders_table,
            settings_.mail_sender,
            settings_.ses_configuration_set or None,
            suppressions(),
            Pace(rate),
            lease_seconds=settings_.mail_lease_seconds,
        )

    return _once("mailer", build)


def gateway() -> Gateway:
    """Stripe, with the stage's keys: from the environment on the local stage
    (localstripe's fake keys), from SSM Parameter Store on deployed stages."""

    def build() -> Gateway:
        from chalicelib.errors import PaymentUnavailable
        from chalicelib.payments.stripe_gateway import Gateway

        settings_ = config()
        secret = settings_.stripe_secret_key or _parameter(settings_.stripe_secret_key_parameter)
        hook = settings_.stripe_webhook_secret or _parameter(
            settings_.stripe_webhook_secret_parameter
        )
        if not secret or not hook:
            raise PaymentUnavailable("payments are not configured on this stage")
        return Gateway(secret, hook, settings_.stripe_api_base)

    return _once("gateway", build)


def _parameter(name: str | None) -> str | None:
    if name is None:
        return None
    response = aws.client("ssm").get_parameter(Name=name, WithDecryption=True)
    return str(response["Parameter"]["Value"])


# What infra/core/rooms.tf creates the signing key's SecureString with, until the
# operator puts a real key (docs/production.md: Waiting rooms); anyone could sign
# with it, so it is refused like a missing key, as is any key too short for
# HMAC-SHA256 (RFC 2104: at least the hash's 32 bytes).
ROOM_KEY_PLACEHOLDER = "set-by-the-operator"
ROOM_KEY_MIN_BYTES = 32


def room_key() -> bytes:
    """The key that signs waiting-room tickets and passes: the environment's on
    the local stage, an SSM SecureString on deployed stages (read once)."""

    def build() -> bytes:
        from chalicelib.errors import Busy

        settings_ = config()
        key = settings_.room_signing_key or _parameter(settings_.room_signing_key_parameter)
        if not key or key == ROOM_KEY_PLACEHOLDER or len(key.encode()) < ROOM_KEY_MIN_BYTES:
            # Never the key's text in the message: it may be most of a real one.
            raise Busy("waiting rooms are not configured on this stage", retry_after=30)
        return key.encode()

    return _once("room_key", build)


def rooms() -> RoomService:
    """Waiting rooms (docs/waiting-room.md)."""

    def build() -> RoomService:
        from chalicelib.rooms.admitter import TickQueue
        from chalicelib.rooms.service import RoomService
        from chalicelib.rooms.store import RoomStore

        settings_ = config()
        return RoomService(
            RoomStore(aws.client("dynamodb"), settings_.rooms_table),
            catalog(),
            aws.client("dynamodb"),
            TickQueue(aws.client("sqs"), settings_.rooms_queue_url),
            room_key,
        )

    return _once("rooms", build)


def hold_queue() -> HoldQueue:
    """The holds queue (release messages, refund retries, checks of new holds)."""

    def build() -> HoldQueue:
        from chalicelib.payments.holds import HoldQueue

        return HoldQueue(aws.client("sqs"), config().holds_queue_url)

    return _once("hold_queue", build)


def checkout() -> Checkout:
    """Pay checkout around the order writer (docs/payments.md)."""

    def build() -> Checkout:
        from chalicelib.delivery import Ledger
        from chalicelib.payments.checkout import Checkout

        settings_ = config()
        return Checkout(
            orders(),
            aws.client("dynamodb", retries=False),  # Checkout decides what to resend
            settings_,
            gateway,
            hold_queue(),
            Ledger(
                aws.client("dynamodb"),
                settings_.orders_table,
                lease_seconds=settings_.payment_lease_seconds,
            ),
        )

    return _once("checkout", build)


def reset() -> None:
    """Drop every service and client (tests: a fresh emulator per case)."""
    with _lock:
        _services.clear()
        aws.reset()
