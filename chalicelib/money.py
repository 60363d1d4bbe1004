"""Amounts as Stripe takes them: integers in the currency's minor unit, computed
from the Decimal price, never through floats."""

from __future__ import annotations

from decimal import Decimal

# Stripe's zero-decimal currencies (https://docs.stripe.com/currencies#zero-decimal):
# an amount of 500 JPY is sent as 500, not 50000.
ZERO_DECIMAL = frozenset(
    {
        *("bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga"),
        *("pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"),
    }
)
# Three-decimal currencies: Stripe wants the minor unit with a last digit of 0.
THREE_DECIMAL = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])


def decimals(currency: str) -> int:
    """How many decimals a price in `currency` may have."""
    if currency in ZERO_DECIMAL:
        return 0
    return 3 if currency in THREE_DECIMAL else 2


def fits(amount: Decimal, currency: str) -> bool:
    """Whether `amount` is a whole number of the currency's smallest unit."""
    exponent = amount.normalize().as_tuple().exponent
    return isinstance(exponent, int) and -exponent <= min(decimals(currency), 2)


def minor_units(amount: Decimal, currency: str) -> int:
    """`amount` (major units) in the currency's minor unit; ValueError if it has
    more decimals than the currency does."""
    if not fits(amount, currency):
        raise ValueError(f"{amount} {currency.upper()} has more decimals than the currency")
    scaled = amount.scaleb(decimals(currency))
    return int(scaled)
