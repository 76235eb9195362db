"""The warm path of pytest units: a fork server (runner/pytest/fork_server.py) kept by a process that runs unit
after unit, which forks each unit's `pytest` from an interpreter that already imported pytest, the plugins and
the suite's modules.

Only a process that holds things between invocations uses it (`browser_server.hold_between_invocations()`:
the serving runner of the local provider, the Lambda handler); a one-shot runner runs the command line.
HT_WARM_PYTEST=0 turns it off. A server serves units of one key: the same interpreter, project folder, test
bundle over it (runner/bundle.py: a unit of another bundle, or of none, never runs modules imported from
another), pytest options (args, config file, rootdir, xdist) and environment, but for what differs from unit to unit
(PER_UNIT_VARIABLES, hypertest's own switches); another key replaces it, and so do MAX_UNITS units, an RSS
past HT_WARM_PYTEST_MAX_RSS_MB and its death. A server that does not start, or whose import-only session
fails, is not tried again for its key: those units run their command line, which reports what went wrong.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from runner.browser_server import holding
from runner.child_channel import LineChannel, Reply
from runner.cleanup import reap_when_ended
from runner.environment import bounded_int, switch_on
from runner.proc import descendants, rss_bytes
from runner.process import Completed, read_tail, run_with_deadline, stop_requested
from runner.pytest import RESULTS_VARIABLE

RUNNER_PACKAGE = Path(__file__).resolve().parent.parent
RUN_PATH = "warm fork"
START_TIMEOUT_S = 120.0
ANSWER_TIMEOUT_S = 10.0  # for the fork's pid, and for the exit code once the child's group was killed
MAX_UNITS = 200
DEFAULT_MAX_RSS_MB = 1024
# Set for each unit alone: the server starts without them, and they are not part of its key.
UNIT_ONLY_VARIABLES = frozenset({"HT_UNIT_ID", "_X_AMZN_TRACE_ID", RESULTS_VARIABLE, "HT_TEST_ARTIFACTS_OUTPUT_PATH"})
PER_UNIT_VARIABLES = UNIT_ONLY_VARIABLES | {"TMPDIR", "HOME", "PYTHONPATH"}
SWITCH_PREFIXES = ("HT_WARM_", "HT_BROWSER_")


def enabled(environ: Mapping[str, str]) -> bool:
    """Whether pytest units may fork from a warm server (HT_WARM_PYTEST: 1 on, the default; 0 off)."""
    return switch_on(environ, "HT_WARM_PYTEST", default=True)


def max_rss_mb(environ: Mapping[str, str]) -> int:
    """HT_WARM_PYTEST_MAX_RSS_MB: past this RSS of its own process the server is replaced before the next unit."""
    return bounded_int(environ, "HT_WARM_PYTEST_MAX_RSS_MB", minimum=64, default=DEFAULT_MAX_RSS_MB)


@dataclass(frozen=True)
class PytestCommand:
    """One unit's pytest: its command line, and what a fork server needs to run the same warm."""

    argv: tuple[str, ...]  # PYTHON -m pytest ARGS...
    collect_args: tuple[str, ...]  # the server's import-only session: the unit's options, --collect-only
    cwd: Path  # the project folder
    env: Mapping[str, str]  # the unit's whole environment
    unit_folder: Path  # the unit's own files (its HOME may be there)
    python_path: Path  # the unit's folder that makes `runner` importable (first on PYTHONPATH)
    bundle: str = ""  # the sha256 of the test bundle laid over the project copy (runner/bundle.py), if any


@dataclass(frozen=True)
class ServerKey:
    """What a server was started for: units with another key get another server."""

    python: str
    project_dir: str
    collect_args: tuple[str, ...]
    environment: tuple[tuple[str, str], ...]
    bundle: str = ""  # the test bundle over the project: the server imported its modules ahead


def server_key(command: PytestCommand) -> ServerKey:
    """The key of the server that may run command: the unit's variables but the per-unit ones (a HOME in
    the unit's folder counts as the unit's, PYTHONPATH without the unit's first entry)."""
    env = {name: value for name, value in command.env.items()
           if name not in PER_UNIT_VARIABLES and not name.startswith(SWITCH_PREFIXES)}
    env["PYTHONPATH"] = os.pathsep.join(_user_python_path(command))
    home = command.env.get("HOME")
    if home is not None and not Path(home).is_relative_to(command.unit_folder):
        env["HOME"] = home
    return ServerKey(python=command.argv[0], project_dir=str(command.cwd), collect_args=command.collect_args,
                     environment=tuple(sorted(env.items())), bundle=command.bundle)


def _user_python_path(command: PytestCommand) -> list[str]:
    entries = [entry for entry in command.env.get("PYTHONPATH", "").split(os.pathsep) if entry]
    return entries[1:] if entries[:1] == [str(command.python_path)] else entries


class ServerUnavailable(RuntimeError):
    """The server did not start, or cannot serve (pytest or a module did not import); the message says why."""


class PytestServer:
    """One running fork server, the channel to it and the folder it lives in."""

    def __init__(self, key: ServerKey, command: PytestCommand, start_deadline: float) -> None:
        self.key = key
        self.units = 0
        self._folder = Path(tempfile.mkdtemp(prefix="ht-pytest-server-"))
        self._log = self._folder / "server.log"
        python_path = self._folder / "pythonpath"
        for name in ("pythonpath", "tmp", "home"):
            (self._folder / name).mkdir()
        # The runner package as _layout links it for a unit, in a folder that lives as long as the server.
        (python_path / "runner").symlink_to(RUNNER_PACKAGE, target_is_directory=True)
        options = json.dumps({"collect": list(command.collect_args), "pythonPath": str(python_path)})
        try:
            self._channel = LineChannel(
                lambda fd: [key.python, "-m", "runner.pytest.fork_server", str(fd), options], cwd=command.cwd,
                env=self._environment(command, python_path), log=self._log, append_log=False)
        except OSError as exc:
            shutil.rmtree(self._folder, ignore_errors=True)
            raise ServerUnavailable(f"it did not start: {exc}") from None
        ready = self._channel.receive(start_deadline, stop=stop_requested)
        if ready.message is None or not ready.message.get("ready"):
            reason = (str(ready.message.get("reason")) if ready.message else
                      f"it did not get ready ({ready.kind}): {read_tail(self._log, 2000).strip() or 'no output'}")
            self.stop()
            raise ServerUnavailable(reason)

    def _environment(self, command: PytestCommand, python_path: Path) -> dict[str, str]:
        """The first unit's environment without its own variables; temp files and a HOME of its own folder."""
        env = {name: value for name, value in command.env.items() if name not in UNIT_ONLY_VARIABLES}
        env["PYTHONPATH"] = os.pathsep.join([str(python_path), *_user_python_path(command)])
        env["TMPDIR"] = str(self._folder / "tmp")
        if Path(env.get("HOME") or command.unit_folder).is_relative_to(command.unit_folder):
            env["HOME"] = str(self._folder / "home")
        return env

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self._channel.pid

    def alive(self) -> bool:
        """Whether the server still runs."""
        return self._channel.alive()

    def fits(self, key: ServerKey, environ: Mapping[str, str]) -> bool:
        """Whether this server may run a unit of key: the same key, alive, not too big, not too old."""
        return (self.key == key and self.alive() and self.units < MAX_UNITS
                and rss_bytes(self.pid) / (1024 * 1024) < max_rss_mb(environ))

    def run(self, command: PytestCommand, *, deadline: float, grace_s: float, log_path: Path) -> Completed:
        """Run the unit in a forked child as run_with_deadline runs its command line: stopped at the deadline
        or on a stop request (SIGINT to its group, SIGKILL after grace_s), every process of its group killed."""
        self.units += 1
        log_path.write_bytes(b"")
        request = {"argv": list(command.argv[3:]), "env": dict(command.env), "cwd": str(command.cwd),
                   "log": str(log_path), "pythonPath": str(command.python_path)}
        forked = self._channel.receive(deadline, stop=stop_requested) if self._channel.send(request) else Reply("ended")
        pid = forked.message.get("pid") if forked.message is not None else None
        if not isinstance(pid, int):
            return self._died(log_path, stopped=forked.kind in ("late", "stopped"), killed=False)
        stopped = killed = False
        answer = self._channel.receive(deadline, stop=stop_requested)
        if answer.kind in ("late", "stopped"):
            stopped = True
            _signal_group(pid, signal.SIGINT)
            answer = self._channel.receive(time.monotonic() + grace_s)
        if answer.kind in ("late", "stopped"):
            killed = True
            _signal_group(pid, signal.SIGKILL)
            answer = self._channel.receive(time.monotonic() + ANSWER_TIMEOUT_S)
        _signal_group(pid, signal.SIGKILL)  # orphans left in the group (browsers, servers)
        code = answer.message.get("exitCode") if answer.message is not None else None
        if not isinstance(code, int):
            return self._died(log_path, stopped=stopped, killed=killed)
        return Completed(exit_code=code, stopped_at_deadline=stopped, killed=killed, output_tail=read_tail(log_path),
                         path=RUN_PATH)

    def _died(self, log_path: Path, *, stopped: bool, killed: bool) -> Completed:
        """The server ended (or stopped answering) during the unit: it is stopped with whatever is below it,
        and the unit ends as a process that ended without an exit code."""
        self.stop()
        tail = read_tail(log_path) + read_tail(self._log, 2000)
        return Completed(exit_code=None, stopped_at_deadline=stopped, killed=killed, output_tail=tail, path=RUN_PATH)

    def kill_leftovers(self) -> None:
        """Kill whatever is still below the server after a unit (its child ended: nothing may stay)."""
        for pid in descendants(self.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        """End the server and everything below it, and remove its folder."""
        if hasattr(self, "_channel"):
            reap_when_ended(self._channel.kill_tree())
        shutil.rmtree(self._folder, ignore_errors=True)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


_held: PytestServer | None = None
_refused: set[ServerKey] = set()


def run_pytest(command: PytestCommand, *, deadline: float, grace_s: float, log_path: Path,
               may_fork: bool = True) -> Completed:
    """Run the unit's pytest in this process's fork server (started or replaced as needed) when this process
    holds one and may (may_fork: its modules may be imported ahead), else its command line; either way as
    run_with_deadline runs the command line."""
    global _held  # noqa: PLW0603 - one server per warm process
    server = _server_for(command, deadline) if may_fork and holding() and enabled(command.env) else None
    if server is None:
        return run_with_deadline(command.argv, cwd=command.cwd, env=command.env, deadline=deadline,
                                 log_path=log_path, grace_s=grace_s)
    try:
        return server.run(command, deadline=deadline, grace_s=grace_s, log_path=log_path)
    finally:
        if server.alive():
            server.kill_leftovers()
        else:
            server.stop()
            _held = None


def _server_for(command: PytestCommand, deadline: float) -> PytestServer | None:
    """The server for this unit: the held one if it fits, else a new one; None when its key was refused."""
    global _held  # noqa: PLW0603 - one server per warm process
    key = server_key(command)
    if key in _refused:
        return None
    if _held is not None and _held.fits(key, command.env):
        return _held
    if _held is not None:
        _held.stop()
        _held = None
    start_deadline = time.monotonic() + min(START_TIMEOUT_S, max(1.0, (deadline - time.monotonic()) / 2))
    try:
        _held = PytestServer(key, command, start_deadline)
    except ServerUnavailable as exc:
        _refused.add(key)  # said once, on the runner's stderr (CloudWatch on Lambda): these units run cold
        print(f"hypertest runner: no warm pytest server for {command.cwd} ({key.python}), its units run their "
              f"command line: {exc}", file=sys.stderr)
        return None
    return _held


def warm_up(command: PytestCommand, deadline: float) -> str:
    """Start (or check) the server a unit of command would fork from, before it arrives; what happened, in words."""
    if not (holding() and enabled(command.env)):
        return "no warm pytest server (HT_WARM_PYTEST=0, or a process that runs one unit)"
    server = _server_for(command, deadline)
    return "a warm pytest server" if server is not None else "no warm pytest server (its units run the command line)"


def held_pids() -> frozenset[int]:
    """The server this process keeps between units, if any (it outlives a unit on purpose)."""
    return frozenset({_held.pid}) if _held is not None and _held.alive() else frozenset()


def stop_held() -> None:
    """Stop the held server and remove its folder (at the end of a warm process)."""
    global _held  # noqa: PLW0603 - one server per warm process
    if _held is not None:
        _held.stop()
        _held = None


atexit.register(stop_held)
