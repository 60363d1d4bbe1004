"""Lazily built, process-wide boto3 clients (one per service, never per request)."""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.config import Config

# Chalice local and Lambda both serve requests from threads that share these
# clients; the pool must be at least as large as the number of threads. The
# local stage waits longer: its emulator serves one request at a time.
_CONFIG = Config(
    max_pool_connections=64,
    connect_timeout=2,
    read_timeout=float(os.environ.get("AWS_CLIENT_READ_TIMEOUT", "5")),
    retries={"mode": "standard", "max_attempts": 3},
)
_clients: dict[str, Any] = {}
_lock = threading.Lock()


def client(service: str) -> Any:
    """Return the shared low-level client for an AWS service."""
    existing = _clients.get(service)
    if existing is not None:
        return existing
    with _lock:
        if service not in _clients:
            _clients[service] = boto3.session.Session().client(service, config=_CONFIG)
        return _clients[service]


def reset() -> None:
    """Forget every client (tests start each case against a fresh emulator)."""
    with _lock:
        _clients.clear()
