"""What every layer of the emulator shares: the WSGI types, the request's body
(read once), which DynamoDB operation and which client it is, and replies."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]
# botocore puts AWS_SDK_UA_APP_ID in the User-Agent as app/<id>.
_APP_ID = re.compile(r"\bapp/(\S+)")
_BODY = "flashsale.body"
AWS_JSON = "application/x-amz-json-1.0"


def operation(environ: Environ) -> str:
    """The DynamoDB operation a request calls ("" for any other service's)."""
    target: str = environ.get("HTTP_X_AMZ_TARGET", "")
    return target.rpartition(".")[2] if target.startswith("DynamoDB_") else ""


def app_id(environ: Environ) -> str | None:
    """The client's AWS_SDK_UA_APP_ID, if it set one."""
    found = _APP_ID.search(environ.get("HTTP_USER_AGENT", ""))
    return found.group(1) if found else None


def body(environ: Environ) -> bytes:
    """The request's body, read once: later layers and moto read it again."""
    if _BODY not in environ:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        environ[_BODY] = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(environ[_BODY])
    read: bytes = environ[_BODY]
    return read


def with_body(environ: Environ, payload: bytes) -> Environ:
    """A copy of the request with another body."""
    return {
        **environ,
        _BODY: payload,
        "CONTENT_LENGTH": str(len(payload)),
        "wsgi.input": io.BytesIO(payload),
    }


def reply(
    start_response: StartResponse, status: str, content_type: str, payload: bytes
) -> list[bytes]:
    """A whole answer: status, type and length, and the payload."""
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(payload)))])
    return [payload]


def json_reply(start_response: StartResponse, status: str, document: Any) -> list[bytes]:
    return reply(start_response, status, "application/json", json.dumps(document).encode())
