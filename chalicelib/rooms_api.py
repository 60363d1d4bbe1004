"""Waiting-room routes (docs/waiting-room.md): a Chalice Blueprint app.py
registers. The public state and the list pages are the same for every shopper
and cached at the edge; a shopper's own calls are signed in and never cached."""

from __future__ import annotations

from typing import cast

from chalice.app import Blueprint, Response

from chalicelib import identity, wiring
from chalicelib.route_guards import ANY, CATALOG_CACHE, KEYED, NO_STORE, SIGNED_IN, Headers
from chalicelib.web import contract_errors

rooms = Blueprint(__name__)

# The pre-queue's list never changes once published.
LIST_CACHE: Headers = {"Cache-Control": "public, max-age=86400, immutable"}


def _caller() -> identity.Caller:
    return identity.caller(rooms.current_request.context, wiring.config().auth_mode)


def _body() -> tuple[bytes | None, str | None]:
    request = rooms.current_request
    return cast(bytes | None, request.raw_body), request.headers.get("content-type")


def _product_id(productId: str) -> str:
    from chalicelib import validation

    return validation.path_id(productId, "productId")


@rooms.route("/products/{productId}/queue", api_key_required=KEYED)
@contract_errors
def queue_state(productId: str) -> Response:
    return Response(wiring.rooms().public(_product_id(productId)), headers=CATALOG_CACHE)


# Joining has a path of its own: the edge caches the queue's public state by path
# (one copy for everyone, no Authorization in its key), so a POST to the same path
# would reach the API without the shopper's token.
@rooms.route(
    "/products/{productId}/queue/join",
    methods=["POST"],
    content_types=ANY,
    authorizer=SIGNED_IN,
    api_key_required=KEYED,
)
@contract_errors
def join_queue(productId: str) -> Response:
    from chalicelib import contract, validation
    from chalicelib.errors import InvalidRequest

    product_id = _product_id(productId)
    who = _caller()
    body = validation.optional_body(*_body(), contract.JoinBody)
    if body.user_id is not None:
        identity.ensure_self(who, body.user_id)
    shopper = who.user_id or body.user_id
    if shopper is None:
        raise InvalidRequest("userId is required (this stage has no sign-in)")
    ticket, created = wiring.rooms().join(product_id, shopper)
    return Response(ticket, status_code=201 if created else 200, headers=NO_STORE)


@rooms.route("/products/{productId}/queue/me", authorizer=SIGNED_IN, api_key_required=KEYED)
@contract_errors
def my_place(productId: str) -> Response:
    from chalicelib import contract, validation

    product_id = _product_id(productId)
    params = cast(dict[str, str] | None, rooms.current_request.query_params)
    query = validation.query(params, contract.TicketQuery)
    answer = wiring.rooms().me(product_id, _caller().user_id, query.ticket)
    return Response(answer, headers=NO_STORE)


@rooms.route("/products/{productId}/queue/entries", api_key_required=KEYED)
@contract_errors
def queue_entries(productId: str) -> Response:
    from chalicelib import contract, validation

    product_id = _product_id(productId)
    params = cast(dict[str, str] | None, rooms.current_request.query_params)
    query = validation.query(params, contract.EntriesQuery)
    return Response(wiring.rooms().entries(product_id, query.page), headers=LIST_CACHE)


@rooms.route("/admin/rooms/{productId}", authorizer=SIGNED_IN, api_key_required=KEYED)
@contract_errors
def admin_room(productId: str) -> Response:
    identity.ensure_admin(_caller())
    return Response(wiring.rooms().admin(_product_id(productId)), headers=NO_STORE)


@rooms.route(
    "/admin/rooms/{productId}",
    methods=["PUT"],
    content_types=ANY,
    authorizer=SIGNED_IN,
    api_key_required=KEYED,
)
@contract_errors
def admin_room_rate(productId: str) -> Response:
    from chalicelib import contract, validation

    identity.ensure_admin(_caller())
    product_id = _product_id(productId)
    body = validation.body(*_body(), contract.RoomRateBody)
    return Response(wiring.rooms().set_rate(product_id, body.rate_per_second), headers=NO_STORE)
