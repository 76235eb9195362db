"""Run a child in its own process group with a deadline, and leave no process of it behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

TAIL_BYTES = 8 * 1024

_stop_requested = threading.Event()
POLL_S = 0.2


def request_stop() -> None:
    """Make every run_with_deadline in this process behave as if its deadline had come (SIGTERM)."""
    _stop_requested.set()


def stop_requested() -> bool:
    """Whether request_stop() was called."""
    return _stop_requested.is_set()


def stop_reason() -> str:
    """Why a unit's test process was stopped: the run was interrupted, or the deadline came."""
    return "the run was interrupted" if stop_requested() else "the invocation reached its deadline"


@dataclass(frozen=True)
class Completed:
    """How a child process ended."""

    exit_code: int | None
    stopped_at_deadline: bool
    killed: bool
    output_tail: str
    path: str = "command line"  # how the unit ran: its command line, or a warm host ("warm host (<shape>)")
    host_threw: bool = False  # the warm host's run of the unit ended in an exception (not in a test's failure)


def run_with_deadline(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], deadline: float,
                      log_path: Path, grace_s: float = 10.0) -> Completed:
    """Run argv until it exits, the monotonic deadline or request_stop(); then SIGINT, SIGKILL after grace_s.

    Output (stdout and stderr together) goes to log_path; the last few KiB are returned.
    Every process of the child's group is killed before this returns.
    """
    with log_path.open("wb") as log:
        child = subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return finish_with_deadline(child, deadline=deadline, log_path=log_path, grace_s=grace_s)


def finish_with_deadline(child: subprocess.Popen[bytes], *, deadline: float, log_path: Path,
                         grace_s: float = 10.0) -> Completed:
    """Wait for a child started in its own session (output to log_path) as run_with_deadline does: until it exits,
    the deadline or request_stop(), then SIGINT, SIGKILL after grace_s; no process of its group is left."""
    stopped = killed = False
    try:
        exit_code = _wait(child, deadline, stoppable=True)
        if exit_code is None:
            stopped = True
            _signal_group(child.pid, signal.SIGINT)
            exit_code = _wait(child, time.monotonic() + grace_s, stoppable=False)
        if exit_code is None:
            killed = True
            _signal_group(child.pid, signal.SIGKILL)
            exit_code = child.wait()
    finally:
        if child.poll() is None:
            _signal_group(child.pid, signal.SIGKILL)
            child.wait()
        _signal_group(child.pid, signal.SIGKILL)  # orphans left in the group (browsers, servers)
    return Completed(exit_code=exit_code, stopped_at_deadline=stopped, killed=killed,
                     output_tail=read_tail(log_path))


def _wait(child: subprocess.Popen[bytes], deadline: float, *, stoppable: bool) -> int | None:
    """The child's exit code, or None if it still runs at the deadline (or when a stop is requested)."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or (stoppable and _stop_requested.is_set()):
            return child.poll()
        try:
            return child.wait(timeout=min(remaining, POLL_S) if stoppable else remaining)
        except subprocess.TimeoutExpired:
            continue


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def read_tail(path: Path, limit: int = TAIL_BYTES) -> str:
    """The last limit bytes of a file, decoded leniently ('' when it is missing)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
