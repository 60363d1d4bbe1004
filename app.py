"""FlashSale API: thin Chalice routes over chalicelib."""

from __future__ import annotations

from typing import Any

# boto3 before Powertools (chalicelib.observability): the other order costs
# ~15 ms more at every cold start (bench/coldstart.py).
import boto3  # noqa: F401
from chalice import Chalice, CORSConfig, Response

from chalicelib import identity, observability, wiring
from chalicelib.console_api import console
from chalicelib.rooms_api import rooms
from chalicelib.route_guards import ADMIN, ANY, CATALOG_CACHE, KEYED, NO_STORE, SIGNED_IN
from chalicelib.web import contract_errors, contract_shaped

# The request contract and its checks (chalicelib.contract/validation, msgspec)
# are imported by the views that use them, on their first request, not here: a
# cold start pays for them only when it needs them, and `import app` stays near
# the boto3 + chalice floor (bench/coldstart.py). Imports are thread-safe.

app = Chalice(app_name="flashsale")
app.api.cors = CORSConfig(
    allow_origin="*",
    allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Correlation-Id"],
    expose_headers=["Retry-After", "Date", "Location", "X-Correlation-Id"],
    max_age=600,
)
app.register_middleware(observability.http_middleware, "http")
# X-Ray: a subsegment per invocation (API and notifier) and per AWS call, in Lambda only.
if (traced := observability.trace_handlers()) is not None:
    app.register_middleware(traced)


@app.middleware("http")
def framework_errors_in_contract_shape(event: Any, get_response: Any) -> Response:
    return contract_shaped(get_response(event))


# The operator console, /admin: the `admins` group on deployed stages.
app.register_blueprint(console, url_prefix="/admin")
# Waiting rooms for hot drops (docs/waiting-room.md).
app.register_blueprint(rooms)


def _caller() -> identity.Caller:
    return identity.caller(app.current_request.context, wiring.config().auth_mode)


def _body() -> tuple[bytes | None, str | None]:
    request = app.current_request
    return request.raw_body, request.headers.get("content-type")


@app.route("/health", api_key_required=KEYED)
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.route("/products", api_key_required=KEYED)
@contract_errors
def list_products() -> Response:
    products = [product.to_json() for product in wiring.catalog().list()]
    return Response({"products": products, "count": len(products)}, headers=CATALOG_CACHE)


@app.route("/products/{productId}", api_key_required=KEYED)
@contract_errors
def get_product(productId: str) -> Response:
    from chalicelib import validation

    product_id = validation.path_id(productId, "productId")
    product = wiring.catalog().get(product_id)
    return Response(product.to_json(), headers=CATALOG_CACHE)


@app.route(
    "/products/{productId}",
    methods=["PUT"],
    content_types=ANY,
    authorizer=ADMIN,
    api_key_required=KEYED,
)
@contract_errors
def put_product(productId: str) -> dict[str, Any]:
    from chalicelib import validation

    identity.signed_request(app.current_request.context, wiring.config().auth_mode)
    spec = validation.product_request(validation.path_id(productId, "productId"), *_body())
    return wiring.console().put_product(spec).to_json()


@app.route(
    "/orders", methods=["POST"], content_types=ANY, authorizer=SIGNED_IN, api_key_required=KEYED
)
@contract_errors
def place_order() -> Response:
    from chalicelib import validation

    who = _caller()
    request = validation.order_request(*_body())
    identity.ensure_self(who, request.user_id)
    key = validation.idempotency_key(app.current_request.headers.get("idempotency-key"))
    email = identity.email_for(who, request.user_id)
    placed = wiring.checkout().place(request, key, email=email)
    headers = {"Location": f"/orders/{placed.order.order_id}", **NO_STORE}
    if placed.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(body=placed.order.to_json(shopper=True), status_code=201, headers=headers)


@app.route("/orders/{orderId}", authorizer=SIGNED_IN, api_key_required=KEYED)
@contract_errors
def get_order(orderId: str) -> Response:
    from chalicelib import validation

    order_id = validation.path_id(orderId, "orderId")
    who = _caller()
    order = wiring.checkout().get(order_id, owner=who.user_id)
    return Response(order.to_json(shopper=who.user_id is not None), headers=NO_STORE)


@app.route("/users/{userId}/orders", authorizer=SIGNED_IN, api_key_required=KEYED)
@contract_errors
def list_user_orders(userId: str) -> Response:
    from chalicelib import contract, validation

    user_id = validation.path_id(userId, "userId")
    identity.ensure_self(_caller(), user_id)
    query = validation.query(app.current_request.query_params, contract.PageQuery)
    page = wiring.orders().for_user(user_id, query.limit, query.next_token)
    return Response(page, headers=NO_STORE)


@app.route(
    "/orders/{orderId}/cancel",
    methods=["POST"],
    content_types=ANY,
    authorizer=SIGNED_IN,
    api_key_required=KEYED,
)
@contract_errors
def cancel_order(orderId: str) -> Response:
    from chalicelib import contract, validation

    who = _caller()
    body = validation.optional_body(*_body(), contract.CancelBody)
    if who.user_id is None:
        # Local stage: the body names the shopper; without one, an operator cancels.
        shopper = body.user_id
    else:
        if body.user_id is not None:
            identity.ensure_self(who, body.user_id)
        shopper = None if who.admin else who.user_id
    order_id = validation.path_id(orderId, "orderId")
    order = wiring.checkout().cancel(order_id, shopper)
    return Response(order.to_json(), headers=NO_STORE)


@app.route(
    "/orders/{orderId}/pay",
    methods=["POST"],
    content_types=ANY,
    authorizer=SIGNED_IN,
    api_key_required=KEYED,
)
@contract_errors
def pay_order(orderId: str) -> Response:
    from chalicelib import contract, validation

    who = _caller()
    order_id = validation.path_id(orderId, "orderId")
    body = validation.body(*_body(), contract.PayBody)
    # The local stage has no sign-in: the order id alone names the hold there.
    checkout = wiring.checkout()
    if body.payment_intent_id is not None:
        paying = checkout.pay_intent(
            order_id, who.user_id, body.payment_intent_id, body.payment_method
        )
        if paying is not None:
            return Response(paying, headers=NO_STORE)
    order = checkout.pay(order_id, who.user_id, body.payment_method)
    return Response(order.to_json(shopper=True), headers=NO_STORE)


# Stripe calls this through CloudFront (which adds the API key, as for every
# route); it carries no Cognito token: Stripe's signature, checked by the stripe
# library, is what makes it trusted.
@app.route("/payments/stripe/webhook", methods=["POST"], content_types=ANY, api_key_required=KEYED)
@contract_errors
def stripe_webhook() -> Response:
    request = app.current_request
    outcome = wiring.checkout().on_webhook(
        request.raw_body or b"", request.headers.get("stripe-signature")
    )
    observability.logger.info("stripe webhook", outcome=outcome)
    return Response({"received": True}, headers=NO_STORE)


@app.route("/payments/config", api_key_required=KEYED)
@contract_errors
def payments_config() -> Response:
    from chalicelib import instants

    settings = wiring.config()
    # localstripe serves its stand-in for Stripe.js under its own address.
    base = settings.stripe_api_base
    js = f"{base}/js.stripe.com/v3/" if base else "https://js.stripe.com/v3/"
    body = {
        "provider": "stripe",
        "publishableKey": settings.stripe_publishable_key,
        "jsUrl": js,
        # The hold countdown runs on the server's clock, not the shopper's.
        "serverTime": instants.canonical(instants.now()),
    }
    return Response(body, headers=NO_STORE)


# The Orders stream's event source mapping belongs to Terraform (infra/app):
# Chalice cannot give it ReportBatchItemFailures, bounded retries, bisection or
# an on-failure destination. Locally, local/delivery.py plays that mapping.
@app.lambda_function(name="notify_orders")
def notify_orders(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from chalicelib import instants
    from chalicelib.payments.holds import watch_stream
    from chalicelib.sales import order_events  # the stream's, not the API's, cold start

    # The console's counters first, each order exactly once (marks on the order);
    # if they fail, the whole batch comes back and the marks keep it exact.
    images = (
        (record.get("eventName", ""), (record.get("dynamodb") or {}).get("NewImage") or {})
        for record in event.get("Records", [])
    )
    wiring.sales_stats().count(*order_events(images))
    # A hold whose check SQS did not take comes back alone, not its whole batch.
    unwatched = watch_stream(wiring.hold_queue, event.get("Records", []), instants.now())
    return wiring.notifier().handle_stream(event, context, unwatched)


# Shopper emails: an SQS queue subscribed to the orders topic feeds this function
# (its event source mapping, with ReportBatchItemFailures and the maximum
# concurrency that keeps SES under the account's rate, is made by Terraform:
# Chalice's on_sqs_message cannot ask for partial batch responses).
@app.lambda_function(name="send_emails")
def send_emails(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    mailer = wiring.mailer()

    def one(record: Any) -> str:
        return mailer.handle(record.body)

    return process_partial_response(
        event=event,
        record_handler=one,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )


# Holds that reach their time: the holds queue (SQS, one delayed message per hold)
# feeds this function through an event source mapping made by Terraform, with
# ReportBatchItemFailures. A batch's holds are released at once, not one after
# another: each waits on Stripe (cancelling the PaymentIntent), and those of one
# product share a transaction (chalicelib/payments/releases.py, release_messages).
@app.lambda_function(name="release_holds")
def release_holds(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return wiring.checkout().release_batch(event)


# The waiting rooms' admitter: each room's chain of delayed SQS messages (one a
# second while it is open) feeds this function through an event source mapping
# made by Terraform, with ReportBatchItemFailures.
@app.lambda_function(name="admit_shoppers")
def admit_shoppers(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    from chalicelib.rooms.admitter import decode_tick

    rooms_ = wiring.rooms()

    def one(record: Any) -> str:
        return rooms_.tick(*decode_tick(record.body))

    return process_partial_response(
        event=event,
        record_handler=one,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )


# Bounces and complaints: the SES configuration set's events, through SNS.
@app.lambda_function(name="record_email_feedback")
def record_email_feedback(event: dict[str, Any], context: Any) -> dict[str, int]:
    from chalicelib import instants, mailer

    suppressed = 0
    for record in event.get("Records", []):
        body = record.get("Sns", {}).get("Message") or record.get("body") or ""
        suppressed += mailer.record_feedback(wiring.suppressions(), body, instants.now())
    return {"suppressed": suppressed}
