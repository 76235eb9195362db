"""Keep the secrets a process holds out of the reach of the processes it starts (the user's tests).

Withholding a variable from a test's environment is not enough while the test can read it in its parent's:
`/proc/<pid>/environ` shows a process's initial environment block to any process of the same user. Before
hypertest (or a runner process, or the Lambda handler) starts any user process, harden_process():

- makes the process non-dumpable (`prctl(PR_SET_DUMPABLE, 0)`): its `/proc/<pid>/environ`, `mem`, `maps`,
  `fd`… and ptrace are then refused to every process of the same user that lacks CAP_SYS_PTRACE (and, on
  the kernels that let them read, CAP_SYS_ADMIN and CAP_PERFMON): a normal user's tests, and root's in a
  container with Docker's default capabilities (the action's). The flag resets on execve, so the
  processes it starts are ordinary ones;
- overwrites, in the initial environment block, the values of the withheld and secret-looking variables,
  so that even a reader that may still open `/proc/<pid>/environ` (root with CAP_SYS_PTRACE) finds them
  blank there. The values stay in os.environ (a copy Python made at start) and, copied first, in the C
  library's environment, so hypertest and what it starts with the inherited environment work as before.

A process that can read another's memory (CAP_SYS_PTRACE) can still find the values there: nothing in the
process can prevent that. Linux only; elsewhere harden_process does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runner.environment import SECRET_LOOKING, withheld

_PR_SET_DUMPABLE = 4
_PR_GET_DUMPABLE = 3
# /proc/<pid>/stat: env_start and env_end are fields 50 and 51 (Linux 3.5+); the fields after the command
# name (field 2, which may hold spaces and parentheses) start at field 3.
_ENV_START_FIELD = 50 - 3


@dataclass(frozen=True)
class Hardening:
    """What harden_process did: whether the process is now non-dumpable, and which variables' values it
    blanked in the initial environment block."""

    non_dumpable: bool
    blanked: tuple[str, ...] = ()


def held_secret(name: str) -> bool:
    """Whether a variable of this name holds something a test must not read in its parent: a withheld one
    (the machinery's tokens and credentials, the workflow's command files) or one whose name looks secret."""
    return withheld(name) or SECRET_LOOKING.search(name) is not None


def harden_process(is_held: Callable[[str], bool] = held_secret) -> Hardening:
    """Make this process's secrets unreadable from the processes it starts (see the module's docstring);
    safe to call more than once. Returns what it did."""
    if not sys.platform.startswith("linux"):
        return Hardening(non_dumpable=False)
    libc = _libc()
    non_dumpable = False
    if libc is not None:
        non_dumpable = libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 and libc.prctl(_PR_GET_DUMPABLE, 0, 0, 0, 0) == 0
    return Hardening(non_dumpable=non_dumpable, blanked=_blank_initial_environment(is_held))


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def environment_block() -> tuple[int, int] | None:
    """The address range of this process's initial environment block (what /proc/self/environ shows)."""
    try:
        stat = Path("/proc/self/stat").read_text(encoding="ascii", errors="replace")
        fields = stat[stat.rfind(")") + 2:].split()
        start, end = int(fields[_ENV_START_FIELD]), int(fields[_ENV_START_FIELD + 1])
    except (OSError, ValueError, IndexError):
        return None
    return (start, end) if 0 < start < end and end - start < 16 * 1024 * 1024 else None


def _blank_initial_environment(is_held: Callable[[str], bool]) -> tuple[str, ...]:
    """Overwrite the values of held variables in the initial block with NUL bytes, after pointing the C
    library's environment at fresh copies of them (children started with the inherited environment keep
    their values). Only entries that are still what the block held are touched."""
    block = environment_block()
    if block is None:
        return ()
    start, end = block
    try:
        data = ctypes.string_at(start, end - start)
    except (OSError, ValueError):
        return ()
    blanked: list[str] = []
    offset = 0
    for entry in data.split(b"\0"):
        name, equals, value = entry.partition(b"=")
        value_at = start + offset + len(name) + 1
        offset += len(entry) + 1
        text = os.fsdecode(name)
        if not equals or not value or not is_held(text):
            continue
        current = os.environb.get(name) if os.supports_bytes_environ else None
        if current is not None:
            os.putenv(name, current)  # the C library's entry now points at a copy of the value
        ctypes.memset(value_at, 0, len(value))
        blanked.append(text)
    return tuple(dict.fromkeys(blanked))
