"""Why a transaction was cancelled: `judge` turns DynamoDB's answer to an order
attempt into a `Verdict`, `judge_cancel` its answer to a cancellation into a
`CancelVerdict`. Both pure (`ALL_OLD` on every item says why with no extra
read); the writer's place loop acts on the first, the service's cancel loop
on the second."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from chalicelib import aws, instants
from chalicelib.model import CANCELLED, Allocation, Order, OrderRequest, Product

_FAILED = "ConditionalCheckFailed"


class Attempt(NamedTuple):
    request: OrderRequest
    product: Product
    allocation: Allocation
    moment: datetime
    redeeming: bool = False  # the transaction ends with a pass's redemption items


class _Verdict:
    """A value object: equal when of one class with equal fields. (Plain classes:
    nine frozen dataclasses cost ~7 ms of every cold start to create.)"""

    __slots__: tuple[str, ...] = ()

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash((type(self), self._fields()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"{type(self).__name__}({fields})"


class Replayed(_Verdict):
    """The order already exists and is what was asked for."""

    __slots__ = ("order",)

    def __init__(self, order: Order) -> None:
        self.order = order


class KeyReused(_Verdict):
    """The Idempotency-Key's order exists with another product or quantity."""


class ProductGone(_Verdict):
    """The product's item does not exist."""


class Stale(_Verdict):
    """The cached product (version, price, shards) is out of date."""


class WindowClosed(_Verdict):
    """The sale is not open at the attempt's moment."""

    __slots__ = ("message", "opens_at")

    def __init__(self, message: str, opens_at: datetime | None) -> None:
        self.message = message
        self.opens_at = opens_at  # when a not-yet-open sale opens


class PassUsed(_Verdict):
    """The waiting room's pass has already bought another order."""


class LimitReached(_Verdict):
    """The shopper's purchases plus this order pass the per-user limit."""

    __slots__ = ("bought",)

    def __init__(self, bought: int) -> None:
        self.bought = bought


class Short(_Verdict):
    """These stock items held fewer units than the attempt took (units seen)."""

    __slots__ = ("seen",)

    def __init__(self, seen: dict[str, int]) -> None:
        self.seen = seen

    def __hash__(self) -> int:
        return hash((Short, tuple(sorted(self.seen.items()))))


class Transient(_Verdict):
    """DynamoDB asked us to come back (conflict, throttling)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class Unexplained(_Verdict):
    """An answer this module does not understand: a bug or an outage, not a no."""

    __slots__ = ("code",)

    def __init__(self, code: str) -> None:
        self.code = code


Verdict = (
    Replayed
    | KeyReused
    | ProductGone
    | Stale
    | WindowClosed
    | LimitReached
    | PassUsed
    | Short
    | Transient
    | Unexplained
)


def judge(response: Mapping[str, Any], attempt: Attempt) -> Verdict:
    """What a failed TransactWriteItems answer means for this attempt. Pure."""
    code = str(response.get("Error", {}).get("Code", ""))
    if code in aws.THROTTLING:
        return Transient(code)
    if code != "TransactionCanceledException":
        return Unexplained(code)
    count = len(attempt.allocation)
    reasons = list(response.get("CancellationReasons") or [])
    reasons += [{}] * (count + 2 - len(reasons))
    stock, order = reasons[:count], reasons[count]
    # Then the purchase counter (limited products), then the pass's redemption.
    rest = reasons[count + 1 :]
    purchase = rest.pop(0) if attempt.product.max_per_user is not None and rest else {}
    redemption = rest[0] if attempt.redeeming and rest else {}
    # The order already exists: a replay (or a key reused) whatever else changed.
    if order.get("Code") == _FAILED and "Item" in order:
        existing = Order.from_item(order["Item"])
        return Replayed(existing) if existing.answers(attempt.request) else KeyReused()
    seen: dict[str, int] = {}
    for (key, units), reason in zip(attempt.allocation, stock, strict=True):
        if reason.get("Code") != _FAILED:
            continue
        item = reason.get("Item")
        if item is None:
            # A shard that is gone was resharded away; a product item that is
            # gone means the product is.
            return Stale() if attempt.product.shards > 1 else ProductGone()
        cached = attempt.product
        window = cached.with_guarded_fields(item)
        if (window.version, window.price) != (cached.version, cached.price):
            return Stale()
        if not window.sale_active(attempt.moment):
            return WindowClosed(window_message(window, attempt.moment), _opens(window, attempt))
        held = int(item["stock"]["N"])
        if held >= units:
            return Stale()  # failed for no reason we can see: re-read, never guess
        seen[key] = held
    if seen:
        return Short(seen)
    if purchase.get("Code") == _FAILED:
        return LimitReached(int(purchase.get("Item", {}).get("purchased", {}).get("N", "0")))
    if redemption.get("Code") == _FAILED:
        return PassUsed()
    for reason in reasons:
        if reason.get("Code") in aws.TRANSIENT_CANCELLATIONS:
            return Transient(str(reason["Code"]))
    return Unexplained(code)


def _opens(window: Product, attempt: Attempt) -> datetime | None:
    starts = window.sale_starts_at
    return starts if starts is not None and attempt.moment < starts else None


def window_message(product: Product, moment: datetime) -> str:
    if product.sale_starts_at is not None and moment < product.sale_starts_at:
        return f"the sale for {product.name} starts at {instants.canonical(product.sale_starts_at)}"
    return f"the sale for {product.name} has ended"


# --- cancellations ---------------------------------------------------------------


class AlreadyCancelled(_Verdict):
    """The order was cancelled meanwhile: the stored order is the answer."""

    def __init__(self, order: Order) -> None:
        self.order = order


class CounterGone(_Verdict):
    """The shopper's purchase counter expired (TTL): there is nothing to free."""


CancelVerdict = AlreadyCancelled | CounterGone | Stale | Transient | Unexplained


def judge_cancel(response: Mapping[str, Any], frees_counter: bool) -> CancelVerdict:
    """What a failed cancellation TransactWriteItems answer means; `frees_counter`
    says whether the transaction's last item decremented the purchase counter.
    Pure. Stale covers an order changed meanwhile and stock re-sharded
    meanwhile: either way, read again and rebuild the transaction."""
    reasons = list(response.get("CancellationReasons") or [])
    code = str(response.get("Error", {}).get("Code", ""))
    if code in aws.THROTTLING or any(r.get("Code") in aws.TRANSIENT_CANCELLATIONS for r in reasons):
        return Transient(code)
    if code != "TransactionCanceledException":
        return Unexplained(code)
    first = reasons[0] if reasons else {}
    if first.get("Code") == _FAILED:
        stored = first.get("Item")
        if stored is not None and stored["status"]["S"] == CANCELLED:
            return AlreadyCancelled(Order.from_item(stored))
        return Stale()
    if frees_counter and reasons[-1].get("Code") == _FAILED:
        return CounterGone()
    return Stale()
