"""Stage settings, read from the environment Chalice sets for each stage."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    products_table: str
    orders_table: str
    purchases_table: str
    orders_by_user_index: str
    max_quantity: int


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from the environment (defaults match the local stage)."""
    env = os.environ if env is None else env
    return Settings(
        products_table=env.get("PRODUCTS_TABLE", "flashsale-local-products"),
        orders_table=env.get("ORDERS_TABLE", "flashsale-local-orders"),
        purchases_table=env.get("PURCHASES_TABLE", "flashsale-local-purchases"),
        orders_by_user_index=env.get("ORDERS_BY_USER_INDEX", "userId-createdAt-index"),
        max_quantity=int(env.get("MAX_ORDER_QUANTITY", "100")),
    )
