"""The emulator's server: moto's WSGI app in its layers, on a background thread,
restartable with its state."""

from __future__ import annotations

import threading
import time

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from local import fast_expressions, fast_queues, fast_streams, fast_transactions, swagger_import
from local.emulator.admin import Admin
from local.emulator.conflicts import Conflicts
from local.emulator.injector import FaultInjector
from local.emulator.lock import Serialised
from local.emulator.longpolls import LongPolls
from local.emulator.recorder import Recorder
from local.emulator.state import State
from local.emulator.wsgi import WSGIApp


def layered(moto: WSGIApp) -> Admin:
    """moto behind its lock, with the admin API, faults, counters and long polls around it."""
    state = State()
    inner = Serialised(Conflicts(moto, state))
    return Admin(FaultInjector(Recorder(LongPolls(inner, inner.locked), state), state), state)


class QuietHandler(MotoRequestHandler):
    """moto's handler without a log line per request (a sale makes thousands)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class Emulator:
    """moto's server, layered (`layered`), on a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 4566) -> None:
        fast_transactions.install()
        fast_expressions.install()
        fast_queues.install()
        fast_streams.install()
        swagger_import.install()
        self.app = layered(DomainDispatcherApplication(create_backend_app))
        self.app.restart = self.restart
        self._address = (host, port)
        self._server = self._listen()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _listen(self) -> BaseWSGIServer:
        host, port = self._address
        return make_server(host, port, self.app, threaded=True, request_handler=QuietHandler)

    def restart(self, down_seconds: float) -> None:
        """Stop listening for a while, then serve again with the same state: what a
        client sees of an emulator (or endpoint) restart, minus the data loss."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        time.sleep(down_seconds)
        self._server = self._listen()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.app.restarted()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Emulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
