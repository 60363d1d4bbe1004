"""Chalice's local API Gateway, answering unknown routes the way the deployed
stages' gateway responses do (infra/: `{"code": "NOT_FOUND", ...}`), instead of
API Gateway's default `{"message": "Missing Authentication Token"}`; and its
HTTP server answering what never reaches a route (a method it has no handler
for, a malformed request line, oversized headers, a bad Content-Length) in the
same shape, where http.server writes an HTML page."""

from __future__ import annotations

import json
from typing import Any

from chalice import local as chalice_local

from chalicelib.contract import MAX_BODY_BYTES
from chalicelib.errors import FlashSaleError, InvalidRequest, MethodNotAllowed, NotFound


class RouteNotFound(chalice_local.LocalGatewayException):
    CODE = 404


def install() -> None:
    """Patch chalice's LocalGateway (used by `chalice local` and chalice.test) and
    its request handler (`chalice local` only)."""
    _install_server_errors()
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


def _install_server_errors() -> None:
    handler = chalice_local.ChaliceRequestHandler
    if getattr(handler.send_error, "contract_shaped", False):
        return
    generic = handler._generic_handle
    with_body = handler._send_http_response_with_body

    def send_error(self: Any, code: int, message: str | None = None, explain: Any = None) -> None:
        # http.server answers 501 for a method without a do_<METHOD>: for the
        # contract that is a method this API does not allow. Anything else it
        # refuses (a malformed request line, HTTP/2 over this socket: 505,
        # oversized headers) is a request the API cannot read.
        error: FlashSaleError
        if code == 501:
            error, status = MethodNotAllowed(f"method {self.command} is not allowed"), 405
        else:
            error = InvalidRequest(message or "the request could not be read")
            status = 400 if code >= 500 else code
        if self.request_version == "HTTP/0.9":
            # Refused before its version was read: answer with a status line and
            # headers anyway (http.server would send the bare body).
            self.request_version = "HTTP/1.1"
        body = json.dumps({"code": error.code, "message": error.message}).encode()
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def generic_handle(self: Any) -> None:
        lengths = self.headers.get_all("content-length") or ["0"]
        length = lengths[0].strip()
        if len(set(lengths)) > 1 or not (length.isascii() and length.isdigit()):
            self.send_error(400, "Content-Length is not one number of bytes")
            return
        if int(length) > MAX_BODY_BYTES:
            # Refused unread, as the API would refuse it read.
            self.send_error(400, f"request body is larger than {MAX_BODY_BYTES} bytes")
            return
        generic(self)

    def send_with_body(self: Any, code: int, headers: Any, body: str | bytes) -> None:
        if self.command != "HEAD":
            with_body(self, code, headers, body)
            return
        # A HEAD answer has no body: written anyway (as chalice does), it would
        # run into the next response on a kept-alive connection.
        encoded = body if isinstance(body, bytes) else body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(encoded)))
        self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
        self._send_headers(headers)

    send_error.contract_shaped = True  # type: ignore[attr-defined]
    handler.send_error = send_error
    handler._send_http_response_with_body = send_with_body  # type: ignore[method-assign]
    for method in ("GET", "PUT", "POST", "HEAD", "DELETE", "PATCH", "OPTIONS"):
        setattr(handler, f"do_{method}", generic_handle)
