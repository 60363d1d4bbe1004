"""Domain errors; each carries the contract's error code and HTTP status."""

from __future__ import annotations

Headers = dict[str, str | list[str]]


class FlashSaleError(Exception):
    """Base class: an error the client caused or can act on."""

    code = "INTERNAL_ERROR"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def headers(self) -> Headers:
        """Extra response headers for this error."""
        return {}


class InvalidRequest(FlashSaleError):
    code = "INVALID_REQUEST"
    status = 400


class UnsupportedMediaType(FlashSaleError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    status = 415


class Forbidden(FlashSaleError):
    code = "FORBIDDEN"
    status = 403


class ProductNotFound(FlashSaleError):
    code = "PRODUCT_NOT_FOUND"
    status = 404


class OrderNotFound(FlashSaleError):
    code = "ORDER_NOT_FOUND"
    status = 404


class NotFound(FlashSaleError):
    """No such route (what API Gateway's gateway response says too)."""

    code = "NOT_FOUND"
    status = 404


class MethodNotAllowed(FlashSaleError):
    code = "METHOD_NOT_ALLOWED"
    status = 405


class OrderNotCancellable(FlashSaleError):
    code = "ORDER_NOT_CANCELLABLE"
    status = 409


class OutOfStock(FlashSaleError):
    code = "OUT_OF_STOCK"
    status = 409

    def __init__(self, message: str, remaining: int = 0) -> None:
        super().__init__(message)
        self.remaining = remaining


class SaleNotActive(FlashSaleError):
    code = "SALE_NOT_ACTIVE"
    status = 409


class PurchaseLimitExceeded(FlashSaleError):
    code = "PURCHASE_LIMIT_EXCEEDED"
    status = 409


class IdempotencyKeyReused(FlashSaleError):
    code = "IDEMPOTENCY_KEY_REUSED"
    status = 422


class Busy(FlashSaleError):
    code = "BUSY"
    status = 503

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> Headers:
        return {"Retry-After": str(self.retry_after)}


# --- pay checkout (docs/payments.md) ------------------------------------------------


class InvalidSignature(FlashSaleError):
    code = "INVALID_SIGNATURE"
    status = 400


class PaymentFailed(FlashSaleError):
    code = "PAYMENT_FAILED"
    status = 402


class HoldExpired(FlashSaleError):
    code = "HOLD_EXPIRED"
    status = 409


class OrderNotPayable(FlashSaleError):
    code = "ORDER_NOT_PAYABLE"
    status = 409


class PaymentUnavailable(Busy):
    """Stripe did not answer: nothing is held or charged; try again shortly."""

    code = "PAYMENT_UNAVAILABLE"


# --- waiting rooms (docs/waiting-room.md) -------------------------------------------


class AdmissionRequired(FlashSaleError):
    """The product's waiting room is on and the order has no valid pass of its own."""

    code = "ADMISSION_REQUIRED"
    status = 403


class PassExpired(FlashSaleError):
    """A genuine pass past its expiry: its place went to the next shopper."""

    code = "PASS_EXPIRED"
    status = 409
