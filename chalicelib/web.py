"""HTTP edge helpers: domain errors to contract responses, in one place."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
)
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


class EmulatorUnreachable(Busy):
    """`chalice local` on the local stage, with its emulator not running."""

    code = "EMULATOR_UNREACHABLE"


class LocalStageRequired(FlashSaleError):
    """`chalice local` on a stage configured for AWS, with no AWS setup to use it."""

    code = "LOCAL_STAGE_REQUIRED"
    status = 503


LOCAL_STAGE_HINT = (
    "this stage is configured for AWS and this process has no AWS region or credentials:"
    " to run the API locally, start `make emulator` and `chalice local --stage local`"
)
# Said once per outage in the log (a request that reaches AWS ends it), not per request.
_reported: set[str] = set()


def _outside_lambda() -> bool:
    """`chalice local` (or a test): Lambda always sets its function's name."""
    return "AWS_LAMBDA_FUNCTION_NAME" not in os.environ


def _report_once(kind: str, message: str) -> None:
    if kind not in _reported:
        _reported.add(kind)
        logger.warning(message)


def _emulator_down(error: BaseException | None) -> EmulatorUnreachable | None:
    """The local stage's emulator not answering, if that is what `error` is."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not (endpoint and _outside_lambda() and isinstance(error, EndpointConnectionError)):
        return None
    if not str(error.kwargs.get("endpoint_url", "")).startswith(endpoint):
        return None  # some other endpoint: the emulator answers
    down = EmulatorUnreachable(
        f"the local AWS emulator at {endpoint} is not answering:"
        " start it with `make emulator` (or run the whole stack with `make run`)"
    )
    _report_once("emulator", down.message)
    return down


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
            response = view(*args, **kwargs)
        except FlashSaleError as error:
            # The order loop's own retries end in BUSY, from what it got.
            return error_response(_emulator_down(error.__cause__) or error)
        except (HTTPClientError, AwsConnectionError) as error:
            if down := _emulator_down(error):
                return error_response(down)
            logger.warning("AWS unreachable in %s: %s", view.__name__, error)
            return error_response(Busy("the shop is very busy; please try again"))
        except (NoRegionError, NoCredentialsError):
            if not _outside_lambda():
                logger.exception("AWS not configured in %s", view.__name__)
                return internal_error()
            _report_once("stage", LOCAL_STAGE_HINT)
            return error_response(LocalStageRequired(LOCAL_STAGE_HINT))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in aws.THROTTLING:
                logger.exception("AWS error in %s", view.__name__)
                return internal_error()
            logger.warning("AWS throttled %s: %s", view.__name__, error)
            return error_response(Busy("the shop is very busy; please try again"))
        except Exception:
            logger.exception("unhandled error in %s", view.__name__)
            return internal_error()
        _reported.clear()  # AWS answered (or was not needed): the next outage is news
        return response

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
