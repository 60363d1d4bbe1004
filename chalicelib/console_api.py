"""The operator console's API, /admin: a Chalice Blueprint app.py registers.
Every route takes the `admins` group on deployed stages (identity.ensure_admin)."""

from __future__ import annotations

from typing import cast

from chalice.app import Blueprint, Response

from chalicelib import identity, wiring
from chalicelib.route_guards import ANY, KEYED, NO_STORE, SIGNED_IN
from chalicelib.web import contract_errors

console = Blueprint(__name__)


def _body() -> tuple[bytes | None, str | None]:
    request = console.current_request
    return cast(bytes | None, request.raw_body), request.headers.get("content-type")


def _query() -> dict[str, str] | None:
    return cast(dict[str, str] | None, console.current_request.query_params)


def _operator() -> None:
    identity.ensure_admin(
        identity.caller(console.current_request.context, wiring.config().auth_mode)
    )


def _sale_id(productId: str) -> str:
    from chalicelib import validation

    return validation.path_id(productId, "productId")


@console.route("/sales", authorizer=SIGNED_IN, api_key_required=KEYED)
@contract_errors
def admin_sales() -> Response:
    _operator()
    sales = wiring.console().sales()
    return Response({"sales": sales, "count": len(sales)}, headers=NO_STORE)


@console.route(
    "/sales/{productId}",
    methods=["PUT"],
    content_types=ANY,
    authorizer=SIGNED_IN,
    api_key_required=KEYED,
)
@contract_errors
def admin_save_sale(productId: str) -> Response:
    from chalicelib import validation

    _operator()
    spec = validation.product_request(_sale_id(productId), *_body())
    return Response(wiring.console().save(spec), headers=NO_STORE)


@console.route(
    "/sales/{productId}/restock",
    methods=["POST"],
    content_types=ANY,
    authorizer=SIGNED_IN,
    api_key_required=KEYED,
)
@contract_errors
def admin_restock(productId: str) -> Response:
    from chalicelib import contract, validation

    _operator()
    body = validation.body(*_body(), contract.RestockBody)
    return Response(wiring.console().restock(_sale_id(productId), body.units), headers=NO_STORE)


@console.route(
    "/sales/{productId}/end",
    methods=["POST"],
    content_types=ANY,
    authorizer=SIGNED_IN,
    api_key_required=KEYED,
)
@contract_errors
def admin_end_sale(productId: str) -> Response:
    from chalicelib import contract, validation

    _operator()
    validation.optional_body(*_body(), contract.EmptyBody)
    return Response(wiring.console().end(_sale_id(productId)), headers=NO_STORE)


@console.route("/sales/{productId}/live", authorizer=SIGNED_IN, api_key_required=KEYED)
@contract_errors
def admin_live(productId: str) -> Response:
    from chalicelib import contract, validation

    _operator()
    query = validation.query(_query(), contract.LiveQuery)
    return Response(wiring.console().live(_sale_id(productId), query.minutes), headers=NO_STORE)


@console.route("/sales/{productId}/orders", authorizer=SIGNED_IN, api_key_required=KEYED)
@contract_errors
def admin_orders(productId: str) -> Response:
    from chalicelib import contract, validation

    _operator()
    query = validation.query(_query(), contract.AdminOrdersQuery)
    page = wiring.console().orders(
        _sale_id(productId), query.limit, query.next_token, query.order_id, query.user_id
    )
    return Response(page, headers=NO_STORE)


@console.route("/sales/{productId}/orders.csv", authorizer=SIGNED_IN, api_key_required=KEYED)
@contract_errors
def admin_orders_csv(productId: str) -> Response:
    _operator()
    product_id = _sale_id(productId)
    return Response(
        wiring.console().csv(product_id),
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{product_id}-orders.csv"',
            **NO_STORE,
        },
    )
