"""The emulator's admin API, /_flashsale/*: faults, stats, restart."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable

from local.emulator import wsgi
from local.emulator.faults import Faults
from local.emulator.state import State
from local.emulator.wsgi import Environ, StartResponse, WSGIApp

ADMIN = "/_flashsale/"


class Admin:
    """The /_flashsale/ API; every other request goes on to `app`."""

    def __init__(self, app: WSGIApp, state: State) -> None:
        self._app = app
        self._state = state
        self.restart: Callable[[float], None] | None = None  # set by Emulator

    def restarted(self) -> None:
        with self._state.lock:
            self._state.stats.restarts += 1

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if not environ.get("PATH_INFO", "").startswith(ADMIN):
            return self._app(environ, start_response)
        route = (environ["REQUEST_METHOD"], environ["PATH_INFO"][len(ADMIN) :])
        state = self._state
        if route == ("PUT", "faults"):
            try:
                faults = Faults.parse(json.loads(wsgi.body(environ) or b"{}"))
            except (ValueError, TypeError, AttributeError) as error:
                return wsgi.json_reply(start_response, "400 Bad Request", {"message": str(error)})
            with state.lock:
                state.faults = faults
        elif route == ("POST", "stats/reset"):
            with state.lock:
                state.stats.reset()
        elif route == ("POST", "restart") and self.restart is not None:
            down = float(json.loads(wsgi.body(environ) or b"{}").get("downSeconds", 1.0))
            # After this answer: the server cannot stop from inside its own request.
            threading.Thread(target=self.restart, args=(down,), daemon=True).start()
        elif route != ("GET", "stats"):
            return wsgi.json_reply(
                start_response, "404 Not Found", {"message": "unknown admin path"}
            )
        with state.lock:
            stats = {**state.stats.to_json(), **state.faults.to_json()}
        return wsgi.json_reply(start_response, "200 OK", stats)
