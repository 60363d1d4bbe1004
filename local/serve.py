"""The app under `chalice local`'s server, in this process, for harnesses that
must hook the app's own AWS clients (benchmarks counting requests, fault tests).
`make run` uses the `chalice local` command itself (local/api.py)."""

from __future__ import annotations

import os
from typing import Any

from chalice import local as chalice_local

from local import gateway, stage


def local_server(port: int, quiet: bool = True) -> Any:
    """A local-stage server for app.py on 127.0.0.1:`port`, not yet serving.
    The stage's environment is applied first, as `chalice local` does, on the
    emulator this process's AWS_ENDPOINT_URL names if it names one."""
    config = stage.config(endpoint=os.environ.get(stage.ENDPOINT))
    os.environ.update(config.environment_variables)
    import app  # after the environment: the app reads it at import

    chalice_local.ThreadedHTTPServer.request_queue_size = 1024
    gateway.install()
    if quiet:
        # One access-log line per order would cost more than the order itself.
        chalice_local.ChaliceRequestHandler.log_message = lambda *args: None  # type: ignore[method-assign]
    return chalice_local.create_local_server(app.app, config, "127.0.0.1", port)
