"""Stage settings, read from the environment Chalice sets for each stage."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

# moto's fixed account id: the local stage's topic has this ARN in every emulator.
LOCAL_TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:flashsale-local-order-placed"


class Settings(NamedTuple):
    products_table: str
    orders_table: str
    purchases_table: str
    orders_by_user_index: str
    max_quantity: int
    order_topic_arn: str
    auth_mode: str = "dev"
    catalog_cache_seconds: float = 1.0
    sold_out_cache_seconds: float = 1.0


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from the environment (defaults match the local stage)."""
    env = os.environ if env is None else env
    return Settings(
        products_table=env.get("PRODUCTS_TABLE", "flashsale-local-products"),
        orders_table=env.get("ORDERS_TABLE", "flashsale-local-orders"),
        purchases_table=env.get("PURCHASES_TABLE", "flashsale-local-purchases"),
        orders_by_user_index=env.get("ORDERS_BY_USER_INDEX", "userId-createdAt-index"),
        max_quantity=int(env.get("MAX_ORDER_QUANTITY", "100")),
        order_topic_arn=env.get("ORDER_TOPIC_ARN", LOCAL_TOPIC_ARN),
        auth_mode=env.get("AUTH_MODE", "dev"),
        catalog_cache_seconds=float(env.get("CATALOG_CACHE_SECONDS", "1")),
        sold_out_cache_seconds=float(env.get("SOLD_OUT_CACHE_SECONDS", "1")),
    )
