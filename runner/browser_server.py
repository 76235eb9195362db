"""A warm browser: one Chromium kept running across units, served by Playwright's public browser-server API.

A small Node script (runner/playwright/browser_server.cjs) calls the project's own playwright-core's
`chromium.launchServer` and prints its `wsEndpoint`; in each worker, a launch by Playwright's browser
fixture whose effective options (the project's `use` with the spec file's `test.use()` applied) are the
server's (its executable, its flags, headless) connects to it instead (runner/playwright/warm_launch.cjs,
installed by the unit's wrapper config). Each test still gets its own browser context, as
Playwright gives it; a client that disconnects (a worker that ended, or was killed) has the contexts
it made closed by the server (Playwright's launchServer isolates each connection's contexts).

Who holds the server: a Lambda sandbox holds one in this module across warm invocations (the
handler turns holding on); the local provider holds one per slot and names it to the runner through
HT_BROWSER_* variables. Before each unit the holder checks it (its processes live, a WebSocket
connect within CONNECT_TIMEOUT_S, the RSS of its process tree below HT_BROWSER_MAX_RSS_MB) and starts
a fresh one otherwise. HT_WARM_BROWSER=0 turns all of it off: every unit launches its own browser.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from runner.child_channel import LineChannel
from runner.cleanup import reap
from runner.environment import bounded_int, child_environment, switch_on, with_writable_home
from runner.proc import PROC, alive, descendants, shared_memory_mb
from runner.proc import pids as all_processes

SCRIPT = Path(__file__).resolve().parent / "playwright" / "browser_server.cjs"
START_TIMEOUT_S = 60.0
CONNECT_TIMEOUT_S = 5.0  # the health check's WebSocket connect
CLIENT_CONNECT_TIMEOUT_MS = 15_000  # connectOptions.timeout: a worker never waits longer on a dead endpoint
DEFAULT_MAX_RSS_MB = 1024
# What the local provider hands the runner: the endpoint, the server's pids and its launch options.
ENDPOINT_VARIABLE = "HT_BROWSER_WS_ENDPOINT"
PIDS_VARIABLE = "HT_BROWSER_PIDS"
LAUNCH_VARIABLE = "HT_BROWSER_LAUNCH"
VARIABLES = (ENDPOINT_VARIABLE, PIDS_VARIABLE, LAUNCH_VARIABLE)
MARKER_VARIABLE = "HT_BROWSER_SERVER"


def enabled(environ: Mapping[str, str]) -> bool:
    """Whether units may use a warm browser (HT_WARM_BROWSER: 1 on, 0 off; unset: off, the default)."""
    return switch_on(environ, "HT_WARM_BROWSER", default=False)


def max_rss_mb(environ: Mapping[str, str]) -> int:
    """HT_BROWSER_MAX_RSS_MB: past this RSS of its process tree the server is replaced before the next unit."""
    return bounded_int(environ, "HT_BROWSER_MAX_RSS_MB", minimum=64, default=DEFAULT_MAX_RSS_MB)


@dataclass(frozen=True)
class LaunchKey:
    """What a server is launched with; a project whose effective launch options differ launches its own."""

    node: str
    cli: str  # the project's Playwright CLI: the server uses the playwright-core beside it
    executable_path: str
    args: tuple[str, ...]
    headless: bool = True


@dataclass(frozen=True)
class Endpoint:
    """A running server as a unit sees it: where to connect, its processes, and its launch options."""

    ws_endpoint: str
    pids: tuple[int, ...]  # the Node server, then the browser
    executable_path: str
    args: tuple[str, ...]

    def wrapper_settings(self) -> dict[str, Any]:
        """What the generated config needs to send matching Chromium projects to this server."""
        return {"wsEndpoint": self.ws_endpoint, "timeout": CLIENT_CONNECT_TIMEOUT_MS,
                "executablePath": self.executable_path, "args": list(self.args)}

    def alive(self) -> bool:
        """Whether the server's processes all still run."""
        return all(alive(pid) for pid in self.pids)

    def environment(self) -> dict[str, str]:
        """The HT_BROWSER_* variables that name this server to a runner process."""
        return {ENDPOINT_VARIABLE: self.ws_endpoint, PIDS_VARIABLE: ",".join(map(str, self.pids)),
                LAUNCH_VARIABLE: json.dumps({"executablePath": self.executable_path, "args": list(self.args)})}


def endpoint_from_environment(environ: Mapping[str, str]) -> Endpoint | None:
    """The server the local provider named in HT_BROWSER_* variables, if any (and well formed)."""
    try:
        launch = json.loads(environ[LAUNCH_VARIABLE])
        pids = tuple(int(text) for text in environ[PIDS_VARIABLE].split(","))
        return Endpoint(environ[ENDPOINT_VARIABLE], pids, str(launch["executablePath"]),
                        tuple(str(arg) for arg in launch["args"]))
    except (KeyError, ValueError, TypeError):
        return None


class BrowserServerError(RuntimeError):
    """The browser server did not start; the message says why."""


@dataclass
class BrowserServer:
    """One browser server process (Node + Chromium) and the folder it writes into."""

    key: LaunchKey
    environ: Mapping[str, str]
    endpoint: Endpoint | None = None
    starts: int = 0
    _channel: LineChannel | None = field(default=None, repr=False)
    _folder: Path | None = field(default=None, repr=False)

    def start(self) -> Endpoint:
        """Launch the server and wait (bounded) for its endpoint; BrowserServerError when it fails."""
        self.stop()
        folder = self._folder = Path(tempfile.mkdtemp(prefix="ht-browser-"))
        (folder / "tmp").mkdir()
        env = with_writable_home(child_environment(self.environ), folder / "home")
        (folder / "home").mkdir(exist_ok=True)
        for name in VARIABLES:
            env.pop(name, None)
        env["TMPDIR"] = str(folder / "tmp")  # the browser's profile, removed with the server
        # Every process of the server inherits this, also those Chromium detaches from itself (its
        # crash handlers are re-parented to the nearest subreaper): processes() finds them all by it.
        env[MARKER_VARIABLE] = str(folder)
        options = {"cli": self.key.cli, "executablePath": self.key.executable_path, "args": list(self.key.args),
                   "headless": self.key.headless, "launchTimeoutMs": int(START_TIMEOUT_S * 1000)}
        try:
            channel = self._channel = LineChannel(
                lambda fd: [self.key.node, str(SCRIPT), str(fd), json.dumps(options)], cwd=folder, env=env,
                log=folder / "server.log", append_log=False)
        except OSError as exc:
            self.stop()
            raise BrowserServerError(f"the browser server did not start: {exc}") from None
        announced = channel.receive(time.monotonic() + START_TIMEOUT_S).message or {}
        try:
            endpoint = Endpoint(str(announced["wsEndpoint"]), (channel.pid, int(str(announced["browserPid"]))),
                                self.key.executable_path, self.key.args)
        except (ValueError, KeyError, TypeError):
            tail = (folder / "server.log").read_text(encoding="utf-8", errors="replace").strip()[-2000:]
            self.stop()
            raise BrowserServerError(f"the browser server did not start: {tail or 'no output'}") from None
        self.endpoint = endpoint
        self.starts += 1
        return endpoint

    def problem(self, max_rss: int) -> str | None:
        """Why this server cannot serve the next unit (dead, not answering, too big), or None."""
        endpoint = self.endpoint
        if endpoint is None or self._channel is None:
            return "no server"
        if not self._channel.alive() or not endpoint.alive():
            return "its process ended"
        if not connects(endpoint.ws_endpoint, CONNECT_TIMEOUT_S):
            return f"it did not accept a connection within {CONNECT_TIMEOUT_S:.0f} s"
        rss = shared_memory_mb(self.processes())
        if rss > max_rss:
            return f"its processes use {rss} MB, more than HT_BROWSER_MAX_RSS_MB ({max_rss} MB)"
        return None

    def processes(self) -> list[int]:
        """Every live process of this server: Node, its browser, and all the browser started."""
        if self._folder is None:
            return []
        marker = f"{MARKER_VARIABLE}={self._folder}".encode() + b"\0"
        found = set(descendants(self._channel.pid)) if self._channel is not None else set()
        for pid in all_processes():
            if pid not in found:
                with contextlib.suppress(OSError):
                    if marker in (PROC / str(pid) / "environ").read_bytes():
                        found.add(pid)
        if self._channel is not None and alive(self._channel.pid):
            found.add(self._channel.pid)
        return sorted(pid for pid in found if alive(pid))

    def stop(self) -> None:
        """End the server and its browser (their whole process trees), and remove its folder."""
        channel, folder = self._channel, self._folder
        if channel is not None:
            pids = [channel.pid, *(self.endpoint.pids[1:] if self.endpoint else ()), *self.processes()]
            channel.close()  # the server closes its browser and exits
            channel.wait(3)
            for pid in [*pids, *self.processes()]:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            channel.wait(5)
            reap(pids)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        self._channel = self._folder = None
        self.endpoint = None


def ensure(server: BrowserServer | None, key: LaunchKey, environ: Mapping[str, str]) -> BrowserServer:
    """A healthy server for key: server itself when it passes the checks, else a fresh one (the old one stopped).

    Raises BrowserServerError when a fresh one does not start.
    """
    if server is not None and server.key == key and server.problem(max_rss_mb(environ)) is None:
        return server
    if server is not None:
        server.stop()
    fresh = BrowserServer(key, dict(environ), starts=server.starts if server is not None else 0)
    fresh.start()
    return fresh


# A Lambda sandbox's server, kept between warm invocations of this process.
_holding = False
_exit_registered = False
_held: BrowserServer | None = None


def hold_between_invocations() -> None:
    """This process runs unit after unit (the Lambda handler): keep a browser server between them."""
    global _holding, _exit_registered  # noqa: PLW0603 - set once per process
    _holding = True
    if not _exit_registered:  # a process that ends normally takes its server and the server's folder along
        atexit.register(stop_held)
        _exit_registered = True


def holding() -> bool:
    """Whether this process runs unit after unit and keeps what it may between them (hold_between_invocations)."""
    return _holding


def held_server() -> BrowserServer | None:
    """The server this process holds, if any."""
    return _held


def held_endpoint(key: LaunchKey, environ: Mapping[str, str]) -> Endpoint | None:
    """The endpoint of this process's server for key, checked or started; None when not holding one."""
    global _held  # noqa: PLW0603 - one server per sandbox, kept between invocations
    if not _holding:
        return None
    try:
        _held = ensure(_held, key, environ)
    except (BrowserServerError, OSError):
        _held = None
        return None  # the unit launches its own browser, and reports what goes wrong with it
    return _held.endpoint


def stop_held() -> None:
    """Stop this process's server, if it holds one, and hold none until told again."""
    global _held, _holding  # noqa: PLW0603
    _holding = False
    if _held is not None:
        _held.stop()
        _held = None


def connects(ws_endpoint: str, timeout_s: float) -> bool:
    """Whether the endpoint completes a WebSocket handshake within timeout_s (then the socket is closed)."""
    parts = urlsplit(ws_endpoint)
    if parts.scheme != "ws" or not parts.hostname or not parts.port:
        return False
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
    deadline = time.monotonic() + timeout_s
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout_s) as sock:
            sock.sendall(request.encode())
            answer = b""
            while b"\r\n" not in answer and len(answer) < 4096:
                sock.settimeout(max(0.05, deadline - time.monotonic()))
                chunk = sock.recv(1024)
                if not chunk:
                    break
                answer += chunk
            return answer.startswith(b"HTTP/1.1 101")
    except OSError:
        return False
