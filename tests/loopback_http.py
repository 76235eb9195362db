"""Serving a test's HTTP fake on 127.0.0.1: a threaded server that carries the fake's state."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class StatefulServer(ThreadingHTTPServer):
    """A threaded HTTP server on a free loopback port; handlers reach the fake through .state."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], state: Any) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.state = state


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler], state: Any) -> Iterator[str]:
    """Serve handler with state for the duration of the block; yields the base URL."""
    server = StatefulServer(handler, state)
    # a short poll: shutdown() waits for the loop to notice it (0.5 s by default, at every test's end)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
