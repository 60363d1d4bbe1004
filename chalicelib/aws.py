"""Lazily built, process-wide boto3 clients (one per service, never per request),
and the error codes that mean "AWS is busy, come back" rather than "no"."""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.config import Config

# Error codes of a call DynamoDB (or another service) refused for load, not for
# what was asked: botocore retries these itself, the order loop (which has
# botocore's retries off) retries them, and the HTTP layer answers 503 BUSY.
THROTTLING = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionInProgressException",
        "InternalServerError",
        "ServiceUnavailable",
    }
)
# CancellationReasons codes of a TransactWriteItems that may succeed if sent again.
TRANSIENT_CANCELLATIONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)

# Chalice local and Lambda both serve requests from threads that share these
# clients; the pool must be at least as large as the number of threads. The
# local stage waits longer: its emulator serves one request at a time.
_TIMEOUTS: dict[str, Any] = {
    "max_pool_connections": 64,
    "connect_timeout": 2,
    "read_timeout": float(os.environ.get("AWS_CLIENT_READ_TIMEOUT", "5")),
}
_RETRYING = Config(**_TIMEOUTS, retries={"mode": "standard", "total_max_attempts": 3})
# For callers that are their own retry layer (the order loop, the mailer, checkout,
# the refusal tally): one attempt per call.
_SINGLE_ATTEMPT = Config(**_TIMEOUTS, retries={"mode": "standard", "total_max_attempts": 1})
_clients: dict[tuple[str, bool], Any] = {}
_lock = threading.Lock()
_session: boto3.session.Session | None = None


def client(service: str, retries: bool = True) -> Any:
    """The shared low-level client for an AWS service; with `retries=False`, one
    whose calls botocore never repeats."""
    existing = _clients.get((service, retries))
    if existing is not None:
        return existing
    global _session
    with _lock:
        if (service, retries) not in _clients:
            # One session: its loader reads each service model once for both clients.
            _session = _session or boto3.session.Session()
            config = _RETRYING if retries else _SINGLE_ATTEMPT
            _clients[(service, retries)] = _session.client(service, config=config)
        return _clients[(service, retries)]


def reset() -> None:
    """Forget every client (tests start each case against a fresh emulator). The
    session stays: it only caches service models, which cost ~80 ms to load."""
    with _lock:
        _clients.clear()
