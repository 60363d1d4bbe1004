"""HTTP edge helpers: domain errors to contract responses, in one place."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as AwsConnectionError
from chalice.app import Response

from chalicelib import aws
from chalicelib.errors import Busy, FlashSaleError, InvalidRequest, MethodNotAllowed
from chalicelib.errors import UnsupportedMediaType as UnsupportedMedia
from chalicelib.observability import logger

# Chalice answers a few requests itself, before any view runs, with bodies of
# its own ({"Code": ..., "Message": ...}); these are their contract equivalents.
_FRAMEWORK_ERRORS: dict[str, type[FlashSaleError]] = {
    "MethodNotAllowedError": MethodNotAllowed,
    "UnsupportedMediaType": UnsupportedMedia,
    "BadRequestError": InvalidRequest,
    "BadRequest": InvalidRequest,
}


def error_response(error: FlashSaleError) -> Response:
    """The contract's `{"code", "message"}` body with the error's status."""
    return Response(
        body={"code": error.code, "message": error.message},
        status_code=error.status,
        headers=error.headers(),
    )


def contract_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """Answer domain errors with their contract response and anything else with a
    bare 500: the client never sees a stack trace, the log always does."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except FlashSaleError as error:
            return error_response(error)
        except (HTTPClientError, AwsConnectionError) as error:
            logger.warning("AWS unreachable in %s: %s", view.__name__, error)
            return error_response(Busy("the shop is very busy; please try again"))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in aws.THROTTLING:
                logger.exception("AWS error in %s", view.__name__)
                return internal_error()
            logger.warning("AWS throttled %s: %s", view.__name__, error)
            return error_response(Busy("the shop is very busy; please try again"))
        except Exception:
            logger.exception("unhandled error in %s", view.__name__)
            return internal_error()

    return wrapper


def contract_shaped(response: Response) -> Response:
    """A response Chalice made itself (405, 415, ...) in the contract's shape."""
    body = response.body
    if response.status_code < 400 or not isinstance(body, dict) or "code" in body:
        return response
    kind = _FRAMEWORK_ERRORS.get(str(body.get("Code")))
    if kind is None:
        if response.status_code >= 500:
            return internal_error()
        return response
    shaped = error_response(kind(str(body.get("Message") or kind.code)))
    shaped.headers = {**response.headers, **shaped.headers}
    return shaped


def internal_error() -> Response:
    """The one 500 body: nothing about what went wrong inside."""
    return Response(
        body={"code": "INTERNAL_ERROR", "message": "something went wrong on our side"},
        status_code=500,
    )
