"""A loopback fake of the GitHub REST API (comments and check runs): GitHub cannot be reached from
here, so this stand-in on 127.0.0.1 records what the action sends and can refuse it (403, 404) or
ask it to slow down (a secondary rate limit with retry-after)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.loopback_http import StatefulServer, serve


class FakeGitHub:
    """State: comments per PR, check runs, scripted refusals."""

    def __init__(self) -> None:
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.check_runs: dict[int, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.refuse: int | None = None          # status for every request
        self.rate_limited = 0                   # how many next requests get a secondary rate limit
        self.next_id = 1000
        self.lock = threading.Lock()
        self.url = ""

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


class _Handler(BaseHTTPRequestHandler):
    server: StatefulServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length)) if length else None
        path = self.path.split("?")[0]
        with state.lock:
            state.requests.append((method, path))
            if self.headers.get("Authorization") != "Bearer test-token":
                return self._send(401, {"message": "Bad credentials"})
            if state.rate_limited:
                state.rate_limited -= 1
                return self._send(403, {"message": "You have exceeded a secondary rate limit"},
                                  {"retry-after": "1"})
            if state.refuse:
                return self._send(state.refuse, {"message": "Resource not accessible by integration"})
            return self._route(state, method, path, body)

    def _route(self, state: FakeGitHub, method: str, path: str, body: Any) -> None:
        if match := re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)/comments", path):
            comments = state.comments.setdefault(int(match.group(1)), [])
            if method == "GET":
                return self._send(200, comments)
            comment = {"id": state.new_id(), "body": body["body"]}
            comments.append(comment)
            return self._send(201, comment)
        if match := re.fullmatch(r"/repos/[^/]+/[^/]+/issues/comments/(\d+)", path):
            for comments in state.comments.values():
                for comment in comments:
                    if comment["id"] == int(match.group(1)):
                        comment["body"] = body["body"]
                        return self._send(200, comment)
            return self._send(404, {"message": "Not Found"})
        if path.endswith("/check-runs") and method == "POST":
            run = {"id": state.new_id(), **body, "annotations": list(body["output"]["annotations"])}
            state.check_runs[run["id"]] = run
            return self._send(201, {"id": run["id"]})
        if match := re.fullmatch(r"/repos/[^/]+/[^/]+/check-runs/(\d+)", path):
            state.check_runs[int(match.group(1))]["annotations"].extend(body["output"]["annotations"])
            return self._send(200, {"id": int(match.group(1))})
        return self._send(404, {"message": "Not Found"})

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")


@contextmanager
def fake_github() -> Iterator[FakeGitHub]:
    """Serve the fake on a free loopback port."""
    state = FakeGitHub()
    with serve(_Handler, state) as url:
        state.url = url
        yield state
