"""Stripe, through its own library: the calls checkout makes, each with an
idempotency key derived from the order, and the webhook's signature check.

Locally `STRIPE_API_BASE` points the same code at localstripe. localstripe does
not honour Idempotency-Key headers, so the callers never rely on them alone:
they also guard with conditions on the order item (docs/payments.md).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, NamedTuple

import stripe

# The library logs every request at INFO; the order log says what matters.
logging.getLogger("stripe").setLevel(logging.WARNING)

# A Stripe call on the order path must answer well inside the API function's
# 10-second timeout; the library retries network failures itself (safely: every
# call carries an idempotency key).
TIMEOUT_SECONDS = 4.0
NETWORK_RETRIES = 2
# PaymentIntent statuses in which money may still arrive or has arrived.
PAYING = frozenset({"processing", "requires_capture", "succeeded"})


class Unavailable(Exception):
    """Stripe did not answer, or refused for a reason that is not the card's."""


class Declined(Exception):
    """The card was declined: the shopper may try another."""

    def __init__(self, message: str, code: str | None) -> None:
        super().__init__(message)
        self.code = code


class Spent(Exception):
    """The PaymentIntent cannot take another card (localstripe's intents cannot
    after a declined charge): the order needs a fresh one."""


class BadSignature(Exception):
    """The webhook is not signed by Stripe with our secret (or is not JSON)."""


class Intent(NamedTuple):
    intent_id: str
    client_secret: str
    status: str


class Event(NamedTuple):
    event_id: str
    type: str
    intent_id: str
    order_id: str | None
    status: str


class Gateway:
    """The Stripe calls checkout makes."""

    def __init__(self, secret_key: str, webhook_secret: str, api_base: str | None = None) -> None:
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=NETWORK_RETRIES,
            http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
        )
        self._webhook_secret = webhook_secret

    def create_intent(
        self,
        order_id: str,
        amount_minor: int,
        currency: str,
        hold: Mapping[str, str],
        attempt: str | None = None,
    ) -> Intent:
        """The order's PaymentIntent (one per order and `attempt`: the key is theirs);
        `hold` (its shopper and end) rides in its metadata."""
        intent = self._call(
            self._client.v1.payment_intents.create,
            {
                "amount": amount_minor,
                "currency": currency,
                "metadata": {"orderId": order_id, **hold},
                "payment_method_types": ["card"],
            },
            f"flashsale-intent-{order_id}" + (f"-after-{attempt}" if attempt else ""),
        )
        return Intent(intent.id, intent.client_secret, intent.status)

    def pay(self, intent_id: str, payment_method: str, attempt: str) -> str:
        """Attach the shopper's card and confirm on the server; Stripe's status
        after it. Raises Declined with the card's own message."""
        options = f"flashsale-pay-{intent_id}-{attempt}"
        try:
            self._call(
                self._client.v1.payment_intents.update,
                {"payment_method": payment_method},
                options + "-attach",
                intent_id,
            )
        except Unavailable as refused:
            if isinstance(refused.__cause__, stripe.InvalidRequestError):
                raise Spent(intent_id) from refused
            raise
        if self.status(intent_id) != "requires_confirmation":
            raise Spent(intent_id)
        intent = self._call(
            self._client.v1.payment_intents.confirm, {}, options + "-confirm", intent_id
        )
        return str(intent.status)

    def cancel(self, intent_id: str) -> str:
        """Cancel the PaymentIntent unless money is on its way; Stripe's status
        after it ("canceled", or a status in PAYING when it could not be)."""
        try:
            intent = self._call(
                self._client.v1.payment_intents.cancel, {}, f"flashsale-cancel-{intent_id}",
                intent_id,
            )  # fmt: skip
            return str(intent.status)
        except Unavailable as refused:
            if not isinstance(refused.__cause__, stripe.InvalidRequestError):
                raise
            # Stripe refuses to cancel a succeeded (or already cancelled) intent.
            return self.status(intent_id)

    def metadata(self, intent_id: str) -> tuple[str, dict[str, str]]:
        """The PaymentIntent's status and metadata."""
        try:
            intent = self._client.v1.payment_intents.retrieve(intent_id)
        except stripe.InvalidRequestError:
            return "missing", {}
        except stripe.StripeError as exc:
            raise Unavailable(f"Stripe did not say how payment {intent_id} stands") from exc
        metadata = intent.to_dict().get("metadata") or {}
        return str(intent.status), {str(k): str(v) for k, v in metadata.items()}

    def status(self, intent_id: str) -> str:
        """The PaymentIntent's status now."""
        try:
            return str(self._client.v1.payment_intents.retrieve(intent_id).status)
        except stripe.StripeError as exc:
            raise Unavailable(f"Stripe did not say how payment {intent_id} stands") from exc

    def refund(self, intent_id: str, order_id: str) -> str:
        """Refund the PaymentIntent in full (once: the key is the intent's); the refund id."""
        refund = self._call(
            self._client.v1.refunds.create,
            {"payment_intent": intent_id, "metadata": {"orderId": order_id}},
            f"flashsale-refund-{intent_id}",
        )
        return str(refund.id)

    def event(self, payload: bytes, signature: str | None) -> Event | None:
        """The webhook's event, its signature checked by the stripe library;
        None for an event that is not about a PaymentIntent."""
        if not signature:
            raise BadSignature("the Stripe-Signature header is missing")
        try:
            event = stripe.Webhook.construct_event(payload, signature, self._webhook_secret)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise BadSignature("the webhook's signature does not check out") from exc
        body: Any = event.to_dict()
        data: Any = body.get("data", {}).get("object", {})
        if not str(body.get("type", "")).startswith("payment_intent.") or not data.get("id"):
            return None
        order_id = (data.get("metadata") or {}).get("orderId")
        return Event(
            str(body.get("id", "")),
            str(body["type"]),
            str(data["id"]),
            str(order_id) if order_id else None,
            str(data.get("status", "")),
        )

    @staticmethod
    def _call(method: Any, params: dict[str, Any], key: str, *args: str) -> Any:
        try:
            return method(*args, params=params, options={"idempotency_key": key})
        except stripe.CardError as exc:
            raise Declined(exc.user_message or "your card was declined", exc.code) from exc
        except stripe.StripeError as exc:
            raise Unavailable(str(exc.user_message or exc)) from exc
