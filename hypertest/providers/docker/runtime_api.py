"""The Lambda Runtime API for one sandbox, served over HTTP on a Unix socket (or a loopback port).

It is the part of Lambda that the image's own entry point (awslambdaric) talks to: the runtime asks
`GET /2018-06-01/runtime/invocation/next` for work, then posts the invocation's `response` or
`error`, or, when its handler cannot even be loaded, `init/error`. An invocation is handed in with
`offer`, and `wait` returns what the runtime answered. Responses over Lambda's 6 MB limit are refused
as Lambda refuses them.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Literal

PREFIX = "/2018-06-01/runtime"
MAX_RESPONSE_BYTES = 6 * 1024 * 1024  # Lambda's limit for a synchronous response
POLL_S = 0.2  # how often blocked waits look at whether they should stop
MAX_ERROR_BYTES = 1024 * 1024

OutcomeKind = Literal["response", "error", "init_error", "oversized"]


@dataclass(frozen=True)
class Invocation:
    """One event handed to the runtime."""

    request_id: str
    event: bytes
    deadline_ms: int  # epoch milliseconds, as Lambda-Runtime-Deadline-Ms
    function_arn: str


@dataclass(frozen=True)
class RuntimeOutcome:
    """What the runtime answered for an invocation (or for its own start)."""

    kind: OutcomeKind
    body: bytes
    error_type: str = ""  # for error and init_error: the runtime's errorType


class RuntimeApi:
    """The Runtime API of one sandbox; thread-safe; served on a Unix socket (`serve_unix`), which the agent
    in the sandbox relays its loopback port to."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: Invocation | None = None
        self._in_flight: str | None = None
        self._outcomes: dict[str, RuntimeOutcome] = {}
        self.init_error: RuntimeOutcome | None = None
        self.asked_next = 0  # how many times the runtime asked for work
        self.closed = False
        self._server: socketserver.BaseServer | None = None
        self._thread: threading.Thread | None = None

    # --- the host's side ---------------------------------------------------------------------------

    def offer(self, invocation: Invocation) -> None:
        """Make invocation the next one the runtime gets."""
        with self._cond:
            self._pending = invocation
            self._cond.notify_all()

    def wait(self, request_id: str, until: float, alive: Callable[[], bool] = lambda: True) -> RuntimeOutcome | None:
        """The runtime's answer for request_id, or None at `until` (monotonic), when alive() turns False,
        or when the runtime reported an init error (then in `init_error`)."""
        with self._cond:
            while True:
                if request_id in self._outcomes:
                    return self._outcomes.pop(request_id)
                if self.init_error is not None or self.closed:
                    return None
                left = until - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(min(left, POLL_S))
                if not alive():
                    # one last look: the answer may have come just before the sandbox stopped
                    return self._outcomes.pop(request_id, None)

    def withdraw(self) -> None:
        """Forget an invocation that was not answered (the sandbox is being stopped)."""
        with self._cond:
            self._pending = None
            self._in_flight = None

    def serve_unix(self, path: Path, mode: int = 0o600) -> None:
        """Serve on a Unix socket at path, with the file mode the sandbox's user needs to connect."""
        server = _UnixServer(str(path), _Handler)
        path.chmod(mode)
        self._start(server)

    def close(self) -> None:
        """Stop serving; a runtime blocked in `next` gets its connection closed."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _start(self, server: socketserver.BaseServer) -> None:
        server.api = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": POLL_S},
                                        name="lambda-runtime-api", daemon=True)
        self._thread.start()

    # --- the runtime's side ------------------------------------------------------------------------

    def next_invocation(self) -> Invocation | None:
        """Block until there is work (None when the API closes)."""
        with self._cond:
            self.asked_next += 1
            self._cond.notify_all()
            while self._pending is None:
                if self.closed:
                    return None
                self._cond.wait(POLL_S)
            invocation, self._pending = self._pending, None
            self._in_flight = invocation.request_id
            return invocation

    def answer(self, request_id: str, outcome: RuntimeOutcome) -> bool:
        """Record the runtime's answer; False when request_id is not the invocation in flight."""
        with self._cond:
            if request_id != self._in_flight:
                return False
            self._in_flight = None
            self._outcomes[request_id] = outcome
            self._cond.notify_all()
            return True

    def fail_init(self, outcome: RuntimeOutcome) -> None:
        """Record that the runtime could not start its handler."""
        with self._cond:
            self.init_error = outcome
            self._cond.notify_all()


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def error_type_of(body: bytes, header: str | None) -> str:
    """The errorType a runtime reported, from its JSON body or the error-type header."""
    with contextlib.suppress(ValueError, AttributeError):
        found = json.loads(body).get("errorType")
        if isinstance(found, str) and found:
            return found
    return header or "Unknown"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        return

    def address_string(self) -> str:
        return "sandbox"

    def do_GET(self) -> None:
        api: RuntimeApi = self.server.api
        if self.path != f"{PREFIX}/invocation/next":
            self._reply(404, {"errorMessage": "unknown path", "errorType": "InvalidRequest"})
            return
        invocation = api.next_invocation()
        if invocation is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(invocation.event)))
        self.send_header("Lambda-Runtime-Aws-Request-Id", invocation.request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(invocation.deadline_ms))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", invocation.function_arn)
        self.send_header("Lambda-Runtime-Trace-Id", f"Root=1-{int(time.time()):08x}-{invocation.request_id[:24]}")
        self.end_headers()
        self.wfile.write(invocation.event)

    def do_POST(self) -> None:
        api: RuntimeApi = self.server.api
        path = self.path
        body, oversized = self._body(MAX_RESPONSE_BYTES if path.endswith("/response") else MAX_ERROR_BYTES)
        if path == f"{PREFIX}/init/error":
            api.fail_init(RuntimeOutcome("init_error", body, error_type_of(
                body, self.headers.get("Lambda-Runtime-Function-Error-Type"))))
            self._reply(202, {"status": "OK"})
            return
        parts = path.removeprefix(f"{PREFIX}/invocation/").split("/")
        if not path.startswith(f"{PREFIX}/invocation/") or len(parts) != 2 or parts[1] not in ("response", "error"):
            self._reply(404, {"errorMessage": "unknown path", "errorType": "InvalidRequest"})
            return
        request_id, what = parts
        if what == "response" and oversized:
            outcome = RuntimeOutcome("oversized", b"", "Function.ResponseSizeTooLarge")
            if api.answer(request_id, outcome):
                self._reply(413, {"errorMessage": f"Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} "
                                                  "bytes).", "errorType": "RequestEntityTooLarge"})
                return
        elif what == "response":
            if api.answer(request_id, RuntimeOutcome("response", body)):
                self._reply(202, {"status": "OK"})
                return
        elif api.answer(request_id, RuntimeOutcome("error", body, error_type_of(
                body, self.headers.get("Lambda-Runtime-Function-Error-Type")))):
            self._reply(202, {"status": "OK"})
            return
        self._reply(400, {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"})

    def _body(self, limit: int) -> tuple[bytes, bool]:
        """The request body (read whole, kept up to limit) and whether it was longer than limit."""
        chunks: list[bytes] = []
        size = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                line = self.rfile.readline(1024)
                length = int(line.split(b";")[0].strip() or b"0", 16)
                if length == 0:
                    self.rfile.readline(1024)
                    break
                data = self.rfile.read(length)
                self.rfile.readline(16)
                size += len(data)
                if size <= limit:
                    chunks.append(data)
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left > 0:
                data = self.rfile.read(min(left, 1 << 20))
                if not data:
                    break
                left -= len(data)
                size += len(data)
                if size <= limit:
                    chunks.append(data)
        return b"".join(chunks), size > limit

    def _reply(self, status: int, document: dict[str, str]) -> None:
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
