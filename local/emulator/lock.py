"""The one lock: moto's backends are not thread-safe (concurrent
TransactWriteItems can oversell or fail), so every request runs alone."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from local.emulator.wsgi import Environ, StartResponse, WSGIApp

T = TypeVar("T")


class Serialised:
    """Runs `app` one request at a time, its response drained inside the lock
    (moto may build it lazily)."""

    def __init__(self, app: WSGIApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        captured: list[tuple[str, list[tuple[str, str]]]] = []

        def capture(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            captured.append((status, headers))
            return lambda data: None

        with self._lock:
            result = self._app(environ, capture)
            try:
                reply = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        start_response(*captured[0])
        return [reply]

    def locked(self, work: Callable[[], T]) -> T:
        """`work`'s result, run under the lock (a layer outside it reading moto)."""
        with self._lock:
            return work()
