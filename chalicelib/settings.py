"""Stage settings, read from the environment Chalice sets for each stage."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

# moto's fixed account id: the local stage's topic has this ARN in every emulator.
LOCAL_TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:flashsale-local-order-placed"
LOCAL_HOLDS_QUEUE_URL = "http://127.0.0.1:4566/123456789012/flashsale-local-holds"
LOCAL_ROOMS_QUEUE_URL = "http://127.0.0.1:4566/123456789012/flashsale-local-room-ticks"


class Settings(NamedTuple):
    products_table: str
    orders_table: str
    purchases_table: str
    orders_by_user_index: str
    order_topic_arn: str
    auth_mode: str = "dev"
    sales_stats_table: str = "flashsale-local-sales-stats"
    orders_by_product_index: str = "productId-createdAt-index"
    catalog_cache_seconds: float = 1.0
    sold_out_cache_seconds: float = 1.0
    mail_sender: str = "FlashSale <orders@flashsale.example>"
    ses_configuration_set: str = "flashsale-local-mail"
    suppressions_table: str = "flashsale-local-suppressions"
    # The account's SES sending rate, shared by the mailer's containers (the mail
    # queue's maximum concurrency): each container sends at rate / concurrency.
    ses_max_send_rate: float = 14.0
    mailer_max_concurrency: int = 2
    # How long a mailer may hold an email before another may send it: longer
    # than sending one takes (pace included), short enough to retry a crash.
    mail_lease_seconds: float = 120.0
    # Checkout (docs/payments.md): what API-created products get, and Stripe.
    checkout_default: str = "instant"
    currency_default: str = "usd"
    holds_queue_url: str = LOCAL_HOLDS_QUEUE_URL
    stripe_api_base: str | None = None  # None: Stripe itself
    # The local stage's fake keys come from the environment; deployed stages name
    # SSM parameters instead and never hold a secret in their configuration.
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_secret_key_parameter: str | None = None
    stripe_webhook_secret_parameter: str | None = None
    stripe_publishable_key: str = "pk_test_local"
    # How long a refund or release may hold its lease before another may try.
    payment_lease_seconds: float = 30.0
    # Waiting rooms (docs/waiting-room.md): the table, the admitter's tick queue,
    # and the key that signs tickets and passes (local: the environment; deployed:
    # an SSM SecureString named here).
    rooms_table: str = "flashsale-local-rooms"
    rooms_queue_url: str = LOCAL_ROOMS_QUEUE_URL
    room_signing_key: str | None = None
    room_signing_key_parameter: str | None = None


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from the environment (defaults match the local stage)."""
    env = os.environ if env is None else env
    return Settings(
        products_table=env.get("PRODUCTS_TABLE", "flashsale-local-products"),
        orders_table=env.get("ORDERS_TABLE", "flashsale-local-orders"),
        purchases_table=env.get("PURCHASES_TABLE", "flashsale-local-purchases"),
        orders_by_user_index=env.get("ORDERS_BY_USER_INDEX", "userId-createdAt-index"),
        order_topic_arn=env.get("ORDER_TOPIC_ARN", LOCAL_TOPIC_ARN),
        auth_mode=env.get("AUTH_MODE", "dev"),
        sales_stats_table=env.get("SALES_STATS_TABLE", "flashsale-local-sales-stats"),
        orders_by_product_index=env.get("ORDERS_BY_PRODUCT_INDEX", "productId-createdAt-index"),
        catalog_cache_seconds=float(env.get("CATALOG_CACHE_SECONDS", "1")),
        sold_out_cache_seconds=float(env.get("SOLD_OUT_CACHE_SECONDS", "1")),
        mail_sender=env.get("MAIL_SENDER", "FlashSale <orders@flashsale.example>"),
        ses_configuration_set=env.get("SES_CONFIGURATION_SET", "flashsale-local-mail"),
        suppressions_table=env.get("SUPPRESSIONS_TABLE", "flashsale-local-suppressions"),
        ses_max_send_rate=float(env.get("SES_MAX_SEND_RATE", "14")),
        mailer_max_concurrency=int(env.get("MAILER_MAX_CONCURRENCY", "2")),
        mail_lease_seconds=float(env.get("MAIL_LEASE_SECONDS", "120")),
        checkout_default=env.get("CHECKOUT_DEFAULT", "instant"),
        currency_default=env.get("CURRENCY_DEFAULT", "usd"),
        holds_queue_url=env.get("HOLDS_QUEUE_URL", LOCAL_HOLDS_QUEUE_URL),
        stripe_api_base=env.get("STRIPE_API_BASE") or None,
        stripe_secret_key=env.get("STRIPE_SECRET_KEY") or None,
        stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or None,
        stripe_secret_key_parameter=env.get("STRIPE_SECRET_KEY_PARAMETER") or None,
        stripe_webhook_secret_parameter=env.get("STRIPE_WEBHOOK_SECRET_PARAMETER") or None,
        stripe_publishable_key=env.get("STRIPE_PUBLISHABLE_KEY", "pk_test_local"),
        payment_lease_seconds=float(env.get("PAYMENT_LEASE_SECONDS", "30")),
        rooms_table=env.get("ROOMS_TABLE", "flashsale-local-rooms"),
        rooms_queue_url=env.get("ROOMS_QUEUE_URL", LOCAL_ROOMS_QUEUE_URL),
        room_signing_key=env.get("ROOM_SIGNING_KEY") or None,
        room_signing_key_parameter=env.get("ROOM_SIGNING_KEY_PARAMETER") or None,
    )
