"""HTTP edge helpers: domain errors to contract responses, in one place."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as AwsConnectionError
from chalice.app import Response

from chalicelib.errors import Busy, FlashSaleError
from chalicelib.observability import logger

# Past botocore's own retries, these mean "AWS is overloaded or unreachable":
# the shopper should come back in a moment, not see a failure.
_THROTTLING = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
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
            if error.response.get("Error", {}).get("Code") not in _THROTTLING:
                logger.exception("AWS error in %s", view.__name__)
                return _internal_error()
            logger.warning("AWS throttled %s: %s", view.__name__, error)
            return error_response(Busy("the shop is very busy; please try again"))
        except Exception:
            logger.exception("unhandled error in %s", view.__name__)
            return _internal_error()

    return wrapper


def _internal_error() -> Response:
    return Response(
        body={"code": "INTERNAL_ERROR", "message": "something went wrong on our side"},
        status_code=500,
    )
