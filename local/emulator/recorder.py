"""The counting layer: the DynamoDB operations that reach the service, by
client (User-Agent app id) and by table."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable

from local.emulator import wsgi
from local.emulator.state import State
from local.emulator.wsgi import Environ, StartResponse, WSGIApp


class Recorder:
    """Counts the DynamoDB operations that reach the service, by app and table."""

    def __init__(self, app: WSGIApp, state: State) -> None:
        self._app = app
        self._state = state

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        operation = wsgi.operation(environ)
        if operation:
            tables = named_tables(wsgi.body(environ))
            app = wsgi.app_id(environ)
            with self._state.lock:
                stats = self._state.stats
                stats.calls[operation] += 1
                if app:
                    stats.calls_by_app.setdefault(app, Counter())[operation] += 1
                    by_table = stats.calls_by_app_table.setdefault(app, {})
                    for table in tables:
                        by_table.setdefault(table, Counter())[operation] += 1
        return self._app(environ, start_response)


def named_tables(body: bytes) -> set[str]:
    """The tables a DynamoDB request names."""
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return set()
    tables = set(request.get("RequestItems") or {})
    if "TableName" in request:
        tables.add(request["TableName"])
    for item in request.get("TransactItems") or []:
        tables.update(op.get("TableName", "") for op in item.values())
    return tables - {""}
