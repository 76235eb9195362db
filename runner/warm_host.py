"""A warm Playwright host: one Node process that runs unit after unit, kept by a warm runner process.

`playwright test` spends most of a short unit starting: Node, Playwright's modules, the config and the
test files are loaded again for every unit. A warm process (a Lambda sandbox between invocations, a
local slot's `python -m runner --serve`) keeps one host (runner/playwright/warm_host.cjs) instead, and
sends it each unit: the same wrapper config, test list and options the command line gets, with the
unit's own environment and working folder. Each unit gets fresh browser contexts, as with the command line,
and a fresh Playwright worker unless a kept one of the same identity is clean (worker_pool.cjs).

The host calls Playwright's internals, so it checks the project's Playwright version first; when it
refuses (or cannot start), units run Playwright's command line as before. HT_WARM_RUNNER=0 turns the
host off. A host is replaced when the environment its units need differs (another run's global-setup
variables), when the unit's project has another test bundle over it, or none (HT_BUNDLE_SHA, runner/bundle.py:
the host's Node loaded the test files of its own), after an interrupted or failed start of a run, past
HT_WARM_RUNNER_MAX_RSS_MB of memory, and after MAX_UNITS units.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from runner.bundle import BUNDLE_SHA_VARIABLE
from runner.child_channel import LineChannel
from runner.cleanup import reap_when_ended
from runner.environment import bounded_int, switch_on
from runner.json_text import read_json_lines
from runner.playwright.selection import PlaywrightRun, playwright_package
from runner.proc import alive, children, descendants, rss_bytes
from runner.process import Completed, read_tail, run_with_deadline, stop_requested

SCRIPT = Path(__file__).resolve().parent / "playwright" / "warm_host.cjs"
START_TIMEOUT_S = 60.0
MAX_UNITS = 200
DEFAULT_MAX_RSS_MB = 1024
# What differs from unit to unit of one run, and hypertest's own switches: a host serves units whose other
# variables are the same (each unit still runs with exactly its own environment).
# A kept Playwright worker takes these from each unit it serves (nothing it loaded depends on them); Lambda's
# runtime sets _X_AMZN_TRACE_ID for each invocation.
WORKER_UNIT_VARIABLES = frozenset({"HT_UNIT_ID", "_X_AMZN_TRACE_ID"})
PER_UNIT_VARIABLES = WORKER_UNIT_VARIABLES | {"HT_RESULTS_OUTPUT", "HT_TEST_ARTIFACTS_OUTPUT_PATH",
                                             "HT_WRAPPER_SETTINGS", "TMPDIR", "HOME"}
SWITCH_PREFIXES = ("HT_WARM_", "HT_BROWSER_")


def enabled(environ: Mapping[str, str]) -> bool:
    """Whether units may run in a warm host (HT_WARM_RUNNER: 1 on, the default; 0 off)."""
    return switch_on(environ, "HT_WARM_RUNNER", default=True)


def keeps_workers(environ: Mapping[str, str]) -> bool:
    """Whether a warm host keeps a unit's clean Playwright workers for the next units (HT_WARM_WORKER: 1 on,
    the default; 0 off). Units that may keep workers use one folder per warm process (kept workers were
    started with its paths)."""
    return enabled(environ) and switch_on(environ, "HT_WARM_WORKER", default=True)


def max_rss_mb(environ: Mapping[str, str]) -> int:
    """HT_WARM_RUNNER_MAX_RSS_MB: past this RSS of its own process the host is replaced before the next unit."""
    return bounded_int(environ, "HT_WARM_RUNNER_MAX_RSS_MB", minimum=64, default=DEFAULT_MAX_RSS_MB)


@dataclass(frozen=True)
class HostKey:
    """What a host was started for: units with another key get another host."""

    node: str
    package_dir: str
    environment: tuple[tuple[str, str], ...]
    bundle: str = ""  # the sha256 of the bundle over the project (HT_BUNDLE_SHA): the host loaded its files


class HostUnavailable(RuntimeError):
    """The host refused (an unknown Playwright version) or did not start; the message says why."""


@dataclass(frozen=True)
class Declined:
    """The host's adapter cannot run this unit as its command line would (warm_api.cjs says why: an ES module
    config that Playwright runs only by restarting itself, say); the unit runs its command line."""

    reason: str


class WarmHost:
    """One running host process and the channel the runner talks to it through."""

    def __init__(self, key: HostKey, env: Mapping[str, str], cwd: Path) -> None:
        self.key = key
        self.units = 0
        self.version = ""
        self.kept_workers: frozenset[int] = frozenset()
        # Each kept worker's own processes (its browser) when its unit ended: a worker that lost one since
        # (a browser killed for memory, say) would fail the next unit's tests, so it is not used again.
        self._kept_children: dict[int, frozenset[int]] = {}
        self._folder = Path(tempfile.mkdtemp(prefix="ht-warm-host-"))
        self._log = self._folder / "host.log"
        self._channel = LineChannel(lambda fd: [key.node, str(SCRIPT), str(fd), key.package_dir], cwd=cwd, env=env,
                                    log=self._log, append_log=False)
        ready = self._channel.receive(time.monotonic() + START_TIMEOUT_S).message
        if ready is None or not ready.get("ready"):
            reason = (str(ready.get("reason")) if ready else
                      f"it did not start: {read_tail(self._log, 2000).strip() or 'no output'}")
            self.stop()
            raise HostUnavailable(reason)
        self.version = str(ready.get("version") or "")
        self.path = f"warm host ({ready.get('shape') or 'options'})"  # what a unit run here reports
        # how this host's Playwright can be told a unit's tests (its internals' shape decides)
        forms = ready.get("selections")
        self.selections = frozenset(map(str, forms)) if isinstance(forms, list) else frozenset({"test-list"})

    @property
    def pid(self) -> int:
        """The host's process id."""
        return self._channel.pid

    def alive(self) -> bool:
        """Whether the host process still runs."""
        return self._channel.alive()

    def fits(self, key: HostKey, environ: Mapping[str, str]) -> bool:
        """Whether this host may run a unit of key: the same key, alive, not too big, not too old."""
        return (self.key == key and self.alive() and self.units < MAX_UNITS
                and rss_bytes(self.pid) / (1024 * 1024) < max_rss_mb(environ))

    def run(self, unit: PlaywrightRun, *, cwd: Path, env: Mapping[str, str], deadline: float, grace_s: float,
            log_path: Path) -> tuple[Completed | Declined, bool]:
        """Run the unit as `playwright test` would, stopping it at the deadline as the command line is
        stopped (SIGINT, SIGKILL after grace_s); how it ended (or why the host declined it), and whether the
        host may serve again."""
        self.units += 1
        request = {"cwd": str(cwd), "env": dict(env), "config": str(unit.config), "testList": str(unit.test_list),
                   "grep": unit.grep,
                   "noDeps": unit.no_deps, "retries": unit.retries, "log": str(log_path),
                   "keepWorkers": keeps_workers(env), "dropWorkers": self._broken_workers(),
                   "workerUnitVariables": sorted(WORKER_UNIT_VARIABLES)}
        self.kept_workers = frozenset()
        self._kept_children = {}
        log_path.touch()
        if not self._channel.send(request):
            return self._ended(log_path, stopped=False, killed=False), False
        answer = self._channel.receive(deadline, stop=stop_requested)
        stopped = killed = False
        # At the deadline or on a stop request the unit is stopped as the command line is; a host that closed
        # the socket or exited died (killed, say): its unit ends as a process that exited ends.
        if answer.kind in ("late", "stopped"):
            stopped = True
            self._channel.signal(signal.SIGINT)
            answer = self._channel.receive(time.monotonic() + grace_s)
            if answer.kind != "answered":
                killed = True
                self.stop()
        reply = answer.message
        if reply is None:
            return self._ended(log_path, stopped=stopped, killed=killed), False
        kept = reply.get("keptWorkers")
        self.kept_workers = frozenset(p for p in kept if isinstance(p, int)) if isinstance(kept, list) else frozenset()
        if isinstance(reply.get("declined"), str) and not stopped:
            return Declined(str(reply["declined"])), True
        code = reply.get("exitCode")
        completed = Completed(exit_code=code if isinstance(code, int) else 1, stopped_at_deadline=stopped,
                              killed=False, output_tail=read_tail(log_path), path=self.path,
                              host_threw=bool(reply.get("threw")))
        reusable = not stopped and not reply.get("threw") and reply.get("status") != "interrupted"
        return completed, reusable

    def _broken_workers(self) -> list[int]:
        """Kept workers that ended, or lost a process they had when their unit ended."""
        return sorted(worker for worker in self.kept_workers
                      if not alive(worker) or not all(alive(pid) for pid in self._kept_children.get(worker, ())))

    def kill_leftovers(self) -> None:
        """Kill what a unit left below the host but the workers it keeps (and their browsers): the other
        workers end with the run, and nothing else may stay."""
        kept = set(self.kept_workers)
        for worker in self.kept_workers:
            kept.update(descendants(worker))
        for pid in descendants(self.pid):
            if pid in kept:
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self._kept_children = {worker: frozenset(children(worker)) for worker in self.kept_workers}

    def stop(self) -> None:
        """End the host and everything below it (kept workers and their browsers included)."""
        reap_when_ended(self._channel.kill_tree())
        with contextlib.suppress(OSError):
            for entry in self._folder.iterdir():
                entry.unlink()
            self._folder.rmdir()

    def _ended(self, log_path: Path, *, stopped: bool, killed: bool) -> Completed:
        """The host died during the unit (or was killed at the deadline): report it as a process that ended."""
        if self.alive():
            self.stop()
        code = self._channel.returncode
        tail = read_tail(log_path) + read_tail(self._log, 2000)
        return Completed(exit_code=code, stopped_at_deadline=stopped, killed=killed, output_tail=tail, path=self.path)


_held: WarmHost | None = None
_refused: set[HostKey] = set()
_declined: set[str] = set()  # why the host declined units (each said once)


def run_playwright(unit: PlaywrightRun, *, cwd: Path, env: Mapping[str, str], deadline: float, grace_s: float,
                   log_path: Path, results_path: Path | None = None) -> Completed:
    """Run the unit in this process's warm host (started or replaced as needed), or through Playwright's
    command line when the host is off or refused; either way as run_with_deadline runs the command.

    A host whose run threw before any test ended (the command line prints such an exception too, but it may
    as well be an internal the host's adapter misreads) is not trusted again: the unit runs its command line,
    so a wrong adapter costs time, never an outcome. results_path is the result reporter's file."""
    global _held  # noqa: PLW0603 - one host per warm process
    host = _host_for(unit, env, cwd) if enabled(env) else None
    if host is not None and ("grep" if unit.grep is not None else "test-list") not in host.selections:
        host = None  # this Playwright's host cannot select the unit's tests this way: the command line can
    if host is None:
        return run_with_deadline(unit.argv(), cwd=cwd, env=env, deadline=deadline, log_path=log_path, grace_s=grace_s)
    try:
        completed, reusable = host.run(unit, cwd=cwd, env=env, deadline=deadline, grace_s=grace_s, log_path=log_path)
    finally:
        if host.alive():
            host.kill_leftovers()
    if not reusable:
        host.stop()
        _held = None
    if isinstance(completed, Declined):
        if completed.reason not in _declined:
            _declined.add(completed.reason)
            print(f"hypertest runner: the warm host for {host.key.package_dir} declines some units, which run cold: "
                  f"{completed.reason}", file=sys.stderr)
        return run_with_deadline(unit.argv(), cwd=cwd, env=env, deadline=deadline, log_path=log_path, grace_s=grace_s)
    if completed.host_threw and results_path is not None and not _a_test_ended(results_path):
        _refused.add(host.key)
        said = [line.strip() for line in completed.output_tail.splitlines() if line.strip()]
        first = next((line for line in said if not line.startswith("at ")), "no output")
        print(f"hypertest runner: the warm host for {host.key.package_dir} failed before any test ended, so its "
              f"units run cold: {first[:300]}", file=sys.stderr)
        results_path.unlink(missing_ok=True)
        return run_with_deadline(unit.argv(), cwd=cwd, env=env, deadline=deadline, log_path=log_path, grace_s=grace_s)
    return completed


def warm_up(unit: PlaywrightRun, *, env: Mapping[str, str], cwd: Path) -> str:
    """Start (or check) the host a unit like this one would run in, before it arrives; what happened, in words."""
    if not enabled(env):
        return "no warm host (HT_WARM_RUNNER=0)"
    host = _host_for(unit, env, cwd)
    if host is None:
        return "no warm host (its Playwright runs the command line)"
    return f"a {host.path} for Playwright {host.version}"


def _a_test_ended(results_path: Path) -> bool:
    """Whether the result reporter wrote that a test ended."""
    return any(entry.get("type") == "testEnd" for entry in read_json_lines(results_path))


def kept_workers() -> frozenset[int]:
    """The Playwright workers the held host keeps for the next unit (they hold the unit folder's paths)."""
    return _held.kept_workers if _held is not None and _held.alive() else frozenset()


def held_pids() -> frozenset[int]:
    """The process of the host this process keeps between units, if any (it outlives a unit on purpose)."""
    return frozenset({_held.pid}) if _held is not None and _held.alive() else frozenset()


def _host_for(unit: PlaywrightRun, env: Mapping[str, str], cwd: Path) -> WarmHost | None:
    """The warm host for this unit: the held one if it fits, else a new one; None when refused."""
    global _held  # noqa: PLW0603 - one host per warm process
    package = playwright_package(unit.cli)
    if package is None:
        return None
    key = HostKey(node=unit.node, package_dir=str(package),
                  environment=tuple(sorted((k, v) for k, v in env.items()
                                           if k not in PER_UNIT_VARIABLES and not k.startswith(SWITCH_PREFIXES))),
                  bundle=env.get(BUNDLE_SHA_VARIABLE, ""))
    if key in _refused:
        return None
    if _held is not None and _held.fits(key, env):
        return _held
    if _held is not None:
        _held.stop()
        _held = None
    try:
        _held = WarmHost(key, env, cwd)
    except (HostUnavailable, OSError) as exc:
        _refused.add(key)  # said once, on stderr (the runner's log; CloudWatch on Lambda): units run cold
        print(f"hypertest runner: no warm host for {package}, its units run cold: {exc}", file=sys.stderr)
        return None
    return _held


def unit_folder() -> Path:
    """The one folder of every unit of this process that may keep workers: a kept worker holds its paths."""
    return Path(tempfile.gettempdir()) / f"ht-unit-of-{os.getpid()}"


def stop_held() -> None:
    """Stop the held host, its kept workers and their browsers, and remove the folder they used (at the end
    of a warm process)."""
    global _held  # noqa: PLW0603 - one host per warm process
    if _held is not None:
        _held.stop()
        _held = None
        shutil.rmtree(unit_folder(), ignore_errors=True)


atexit.register(stop_held)
