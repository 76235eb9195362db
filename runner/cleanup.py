"""Leave nothing behind between invocations: adopt orphaned descendants, then kill and reap them."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import time
from collections.abc import Iterable, Sequence

from runner.proc import descendants, parent_of, state_and_parent, zombie_children

_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Make processes orphaned below this one (a browser a killed Playwright left) our children."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def no_core_dumps() -> None:
    """Core dumps off for this process and all it starts: a crashing Chromium writes hundreds of MB of them,
    into a /tmp that warm invocations share."""
    import resource

    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def kill_descendants(keep: frozenset[int] = frozenset(), timeout_s: float = 5.0) -> int:
    """Kill every process below this one except those in keep (and theirs), and reap them.

    Returns how many processes were killed.
    """
    killed: set[int] = set()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pids = [pid for pid in descendants() if pid not in keep and not _below(pid, keep)]
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
        reap(killed)
        time.sleep(0.02)
    reap(killed)
    reap(set(zombie_children(os.getpid())) - keep)  # orphans a subreaper adopted
    return len(killed)


def _below(pid: int, keep: frozenset[int]) -> bool:
    if not keep:
        return False
    current: int | None = pid
    for _ in range(64):
        current = parent_of(current) if current else None
        if current is None or current <= 1:
            return False
        if current in keep:
            return True
    return False


def reap(pids: Iterable[int]) -> None:
    """Collect the exit status of those of pids that are this process's ended children (no zombie stays);
    others are left alone."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


def reap_when_ended(pids: Sequence[int], timeout_s: float = 2.0) -> None:
    """Wait (up to timeout_s) for killed processes to be gone, reaping those orphaned to this process (a
    subreaper) once their parents died: their CPU time then counts as this process's children's, and no
    zombie stays. Those that are not ours are reaped by whoever adopts them."""
    remaining = set(pids)
    deadline = time.monotonic() + timeout_s
    while remaining and time.monotonic() < deadline:
        reap(remaining)  # those not (yet) ours are left
        for pid in list(remaining):
            if state_and_parent(pid) is None:
                remaining.discard(pid)
        if remaining:
            time.sleep(0.01)
