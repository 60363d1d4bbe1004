"""HTTP edge helpers: domain errors to contract responses, in one place."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from chalice.app import Response

from chalicelib.errors import FlashSaleError

logger = logging.getLogger("flashsale")


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
        except Exception:
            logger.exception("unhandled error in %s", view.__name__)
            return Response(
                body={"code": "INTERNAL_ERROR", "message": "something went wrong on our side"},
                status_code=500,
            )

    return wrapper
