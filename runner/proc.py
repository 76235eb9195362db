"""What /proc says about processes: which are alive, their parents and children, and their memory. The one
reader of /proc for liveness, parents and memory (runner/cleanup.py kills and reaps with it)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

PROC = Path("/proc")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def state_and_parent(pid: int) -> tuple[str, int] | None:
    """A process's state letter and parent pid; None when it is gone."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
    fields = stat[stat.rfind(")") + 2:].split()
    try:
        return (fields[0], int(fields[1])) if len(fields) >= 2 else None
    except ValueError:
        return None


def parent_of(pid: int) -> int | None:
    """The parent of a live process; None when it is gone or a zombie."""
    found = state_and_parent(pid)
    return None if found is None or found[0] in ("Z", "X") else found[1]


def alive(pid: int) -> bool:
    """Whether pid is a running process (not ended, not a zombie)."""
    return parent_of(pid) is not None


def pids() -> list[int]:
    """Every process id /proc lists now."""
    return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]


def children(pid: int) -> list[int]:
    """The live processes whose parent is pid."""
    return [child for child in pids() if parent_of(child) == pid]


def descendants(root: int | None = None) -> list[int]:
    """Every live process below root (default: this process)."""
    root = os.getpid() if root is None else root
    below: dict[int, list[int]] = {}
    for pid in pids():
        parent = parent_of(pid)
        if parent is not None:
            below.setdefault(parent, []).append(pid)
    found: list[int] = []
    stack = [root]
    while stack and len(found) < 100_000:
        for child in below.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def zombie_children(parent: int) -> list[int]:
    """The children of parent that ended and were not reaped."""
    return [pid for pid in pids() if state_and_parent(pid) == ("Z", parent)]


def rss_bytes(pid: int) -> int:
    """Resident bytes of one process (0 when it is gone)."""
    try:
        return int((PROC / str(pid) / "statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def shared_memory_mb(processes: Sequence[int]) -> int:
    """The resident memory, in MB, of these processes together: each one's proportional share (Pss, shared
    pages divided among the processes that map them, as Chromium's processes share much), or its RSS where
    the kernel has no smaps_rollup. A sum of RSS would count the shared pages again and again (an idle
    Chromium: about 630 MB of RSS, 350 MB of Pss)."""
    total_kb = 0
    for pid in processes:
        total_kb += _pss_kb(pid) or rss_bytes(pid) // 1024
    return total_kb // 1024


def _pss_kb(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0
