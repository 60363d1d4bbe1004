"""Structured logs and CloudWatch metrics through Powertools for AWS Lambda.

Logs are JSON with the request's correlation id; metrics are EMF lines that
CloudWatch turns into OrdersPlaced and OrdersRejected (by reason) without an
API call. Both are thread-safe, as `chalice local` serves from threads.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

logger = Logger(service="flashsale")
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def count(name: str, **dimensions: str) -> None:
    """Publish one Count data point (an EMF line on stdout)."""
    # Imported on first use: it is needed by the first order, not the cold start.
    from aws_lambda_powertools.metrics import MetricUnit, single_metric
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    if is_metrics_disabled():
        return
    try:
        with single_metric(
            name=name,
            unit=MetricUnit.Count,
            value=1,
            namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "FlashSale"),
            default_dimensions=dimensions or None,
        ):
            pass
    except Exception:
        # A metric is never worth a failed sale.
        logger.exception("could not publish metric %s", name)


def correlation_id(header: str | None, request_id: str | None) -> str:
    """The caller's X-Correlation-Id when well formed, else API Gateway's request id."""
    if header and _CORRELATION_ID.match(header):
        return header
    return request_id or str(uuid.uuid4())


def http_middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Tag every log line of a request with its correlation id, and echo it back."""
    correlation = correlation_id(
        event.headers.get("x-correlation-id"), (event.context or {}).get("requestId")
    )
    logger.thread_safe_append_keys(correlation_id=correlation)
    try:
        response = get_response(event)
    finally:
        logger.thread_safe_remove_keys(["correlation_id"])
    response.headers["X-Correlation-Id"] = correlation
    return response
