"""One child process spoken to in JSON lines over a socket pair: the warm runner processes of the local
provider, the warm Playwright host and the browser server all use it.

The child gets its end of the pair as a file descriptor (its number goes into the command line), runs in
a session of its own (so a signal reaches everything it started), and writes its output to a log file.
A reply is read until a deadline, a stop request, or the child's end, whichever comes first; stopping
ends the child and every process below it.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from runner.proc import descendants

POLL_S = 0.2
MAX_LINE_BYTES = 16 * 1024 * 1024  # a reply longer than this is garbage, not a reply

ReplyKind = Literal["answered", "late", "stopped", "ended"]


@dataclass(frozen=True)
class Reply:
    """How waiting for the child's next line ended: `answered` (message: the line's JSON object, None when
    the line is not one), `late` (the deadline came first), `stopped` (a stop was requested), `ended` (the
    child closed its end or exited)."""

    kind: ReplyKind
    message: dict[str, object] | None = None


class LineChannel:
    """A child process and our end of the socket pair it reads requests from and writes replies to."""

    def __init__(self, argv: Callable[[int], Sequence[str]], *, cwd: Path, env: Mapping[str, str], log: Path,
                 append_log: bool = True) -> None:
        """Start the child: argv(fd) is its command line given the number of its end of the pair."""
        ours, theirs = socket.socketpair()
        self._socket = ours
        self._buffer = b""
        try:
            with log.open("ab" if append_log else "wb") as output:
                self._child = subprocess.Popen(
                    list(argv(theirs.fileno())), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=output,
                    stderr=subprocess.STDOUT, pass_fds=(theirs.fileno(),), start_new_session=True)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self._child.pid

    @property
    def returncode(self) -> int | None:
        """The child's exit code once it ended (None while it runs)."""
        return self._child.poll()

    def alive(self) -> bool:
        """Whether the child still runs."""
        return self._child.poll() is None

    def send(self, message: Mapping[str, object]) -> bool:
        """Write one JSON line to the child; False when it can no longer be written (the child ended)."""
        try:
            self._socket.sendall(json.dumps(message).encode() + b"\n")
        except OSError:
            return False
        return True

    def receive(self, deadline: float, *, stop: Callable[[], bool] | None = None) -> Reply:
        """The child's next line, read until the deadline (time.monotonic()), until stop() says so, or until
        the child closes its end or exits."""
        while b"\n" not in self._buffer:
            interrupted = self._read_more(deadline, stop)
            if interrupted is not None:
                return Reply(interrupted)
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return Reply("answered")
        return Reply("answered", message if isinstance(message, dict) else None)

    def _read_more(self, deadline: float, stop: Callable[[], bool] | None) -> ReplyKind | None:
        """Wait (one poll at most) for more of the reply; why waiting ends, or None to go on."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "late"
        if stop is not None and stop():
            return "stopped"
        try:
            readable, _, _ = select.select([self._socket], [], [], min(remaining, POLL_S))
        except (OSError, ValueError):  # our end was closed
            return "ended"
        if not readable:
            return None if self.alive() else "ended"
        try:
            chunk = self._socket.recv(65536)
        except OSError:
            chunk = b""
        if not chunk or len(self._buffer) + len(chunk) > MAX_LINE_BYTES:
            return "ended"
        self._buffer += chunk
        return None

    def signal(self, sig: signal.Signals, *, session: bool = True) -> None:
        """Send sig to the child's whole session (it and everything it started that stayed in it), or with
        session=False to the child alone."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if session:
                os.killpg(self._child.pid, sig)
            else:
                os.kill(self._child.pid, sig)

    def kill_tree(self, wait_s: float = 10.0) -> list[int]:
        """End the child and every process below it, wait (bounded) for the child, close our end; the
        processes that were below it (to reap)."""
        below = descendants(self._child.pid)
        self.signal(signal.SIGKILL)
        for pid in below:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self.wait(wait_s)
        self.close()
        return below

    def wait(self, timeout_s: float) -> bool:
        """Wait up to timeout_s for the child to end; whether it did."""
        try:
            self._child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
        return True

    def close(self) -> None:
        """Close our end of the pair (the child sees its end close)."""
        self._socket.close()
