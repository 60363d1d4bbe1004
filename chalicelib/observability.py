"""Structured logs, CloudWatch metrics and X-Ray traces through Powertools for AWS Lambda.

Logs are JSON with the request's correlation id; metrics are EMF lines that
CloudWatch turns into OrdersPlaced and OrdersRejected (by reason) without an
API call. Both are thread-safe, as `chalice local` serves from threads. Traces
exist only inside Lambda: a subsegment per invocation and one per AWS call.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger

logger = Logger(service="flashsale")
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def tracing_enabled(env: Mapping[str, str] = os.environ) -> bool:
    """Powertools' own rule, decided before the X-Ray SDK is imported: traces only
    inside Lambda (never `chalice local`, SAM local, tests or benches) unless off."""
    if env.get("POWERTOOLS_TRACE_DISABLED", "false").lower() in ("1", "true"):
        return False
    emulated = env.get("AWS_SAM_LOCAL") or env.get("AWS_CHALICE_CLI_MODE")
    return bool(env.get("LAMBDA_TASK_ROOT")) and not emulated


_tracer: Any = None


def tracer() -> Any:
    """The Powertools Tracer (X-Ray), built on first use; None outside Lambda."""
    global _tracer
    if _tracer is None and tracing_enabled():
        from aws_lambda_powertools import Tracer

        # botocore only: a subsegment for every DynamoDB and SNS call, nothing else.
        _tracer = Tracer(patch_modules=("botocore",))
    return _tracer


class LazyTracing:
    """Chalice middleware giving every invocation (API and notifier) its X-Ray
    subsegment, named after the route or the function. The Tracer, the X-Ray SDK
    and its botocore patch load at the first invocation instead of at import
    (about 5% of the import floor in instructions: bench/coldstart.py measures
    both). Responses stay out of traces: they carry shoppers' orders."""

    def __call__(self, event: Any, get_response: Callable[[Any], Any]) -> Any:
        from chalice.app import Request

        if isinstance(event, Request):
            original, context = event.to_original_event(), event.lambda_context
            name = f"{event.method} {event.context.get('resourcePath', event.path)}"
        else:
            original, context = event.to_dict(), event.context
            name = getattr(context, "function_name", None) or "handler"

        def invocation(_event: Any, _context: Any) -> Any:
            return get_response(event)

        invocation.__name__ = name  # Powertools names the subsegment "## <name>"
        return tracer().capture_lambda_handler(invocation, capture_response=False)(
            original, context
        )


def trace_handlers() -> LazyTracing | None:
    """The tracing middleware for the app, or None where there is no X-Ray (locally)."""
    return LazyTracing() if tracing_enabled() else None


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
