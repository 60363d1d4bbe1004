"""Starting a stack beside another: a port taken between picking and binding it."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from local import launch


class Html(http.server.BaseHTTPRequestHandler):
    """What a Vite dev server answers on any path."""

    def do_GET(self) -> None:
        body = b"<!doctype html><html></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stranger() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Html)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def test_a_stranger_on_the_api_port_is_told_apart_from_a_stack_starting(
    stranger: int, tmp_path: Path
) -> None:
    # Regression: another stack's Vite took the API port picked for this one, and
    # its HTML failed the readiness check with a JSONDecodeError instead of a retry.
    log = tmp_path / "stack.log"
    log.write_text("ready\n")
    with pytest.raises(launch.PortTaken):
        launch._ready(launch.Ports(api=stranger, emulator=1, ui=1), log)


def test_nothing_listening_yet_is_not_ready(tmp_path: Path) -> None:
    log = tmp_path / "stack.log"
    log.write_text("ready\n")
    assert launch._ready(launch.Ports(api=launch.free_port(), emulator=1, ui=1), log) is False
