"""Chalice's local API Gateway, answering unknown routes the way the deployed
stages' gateway responses do (infra/: `{"code": "NOT_FOUND", ...}`), instead of
API Gateway's default `{"message": "Missing Authentication Token"}`."""

from __future__ import annotations

import json
from typing import Any

from chalice import local as chalice_local

from chalicelib.errors import NotFound


class RouteNotFound(chalice_local.LocalGatewayException):
    CODE = 404


def install() -> None:
    """Patch chalice's LocalGateway (used by `chalice local` and chalice.test)."""
    gateway = chalice_local.LocalGateway
    if getattr(gateway.handle_request, "contract_shaped", False):
        return
    original = gateway.handle_request

    def handle_request(self: Any, method: str, path: str, headers: Any, body: Any) -> Any:
        try:
            return original(self, method, path, headers, body)
        except chalice_local.ForbiddenError as error:
            if b"Missing Authentication Token" not in (error.body or b"") and (
                b"Authorization header requires" not in (error.body or b"")
            ):
                raise
            missing = NotFound(f"no route {method} {path.split('?')[0]}")
            payload = json.dumps({"code": missing.code, "message": missing.message}).encode()
            raise RouteNotFound({"Content-Type": "application/json"}, payload) from error

    handle_request.contract_shaped = True  # type: ignore[attr-defined]
    gateway.handle_request = handle_request  # type: ignore[method-assign]
