"""A Playwright session: the run-level parts of a config (webServer, globalSetup, globalTeardown) held open.

One `playwright test` process runs the user's config (session.config.cjs: the user's own, with our
reporter and our global setup last) with a file filter that matches no file and `--pass-with-no-tests`.
Playwright starts the servers and runs the user's global setups; our last global setup writes the
environment they left, says the session is ready and waits. Stopping the session lets it return:
Playwright loads no test, runs the returned teardown functions and the global teardowns and stops the
servers, as at the end of its own run. No project or test of ours is in the config the user's code sees.
The host holds one for a whole run; a Lambda sandbox holds one (its web server) across warm invocations.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from runner.environment import child_environment
from runner.node import find_node, find_playwright_cli
from runner.process import read_tail
from runner.results import parse_reporter_lines
from runner.wrapper_config import USER_CONFIG_MODULE, module_twin

HERE = Path(__file__).resolve().parent / "playwright"
SESSION_DIR = HERE / "session"
SESSION_CONFIG = SESSION_DIR / "session.config.cjs"
CAPTURE_MODULE = SESSION_DIR / "session.capture.cjs"
RESULT_REPORTER = HERE / "result_reporter.cjs"
# A test-file filter no path matches (Playwright reads `/…/` as a regular expression): no test runs.
NO_TEST_FILE = "/(?!)/"
POLL_S = 0.05
START_TIMEOUT_S = 900.0  # Playwright bounds each web server by its own timeout; this bounds everything else
STOP_TIMEOUT_S = 300.0
# What Playwright's main process sets for itself; every unit's own Playwright sets it again.
_PLAYWRIGHT_OWN = ("PW_", "PLAYWRIGHT_", "TEST_", "FORCE_COLOR", "NODE_OPTIONS", "HT_SESSION_", "HT_RESULTS_",
                   "BROWSERSLIST_IGNORE_OLD_DATA")


class SessionError(RuntimeError):
    """The session's web servers or global setups failed; the message says which and why."""


@dataclass(frozen=True)
class SessionSpec:
    """Which run-level parts a session starts, and hypertest.yml's overrides."""

    web_server: bool
    global_hooks: bool
    use_override: Mapping[str, Any] | None = None
    web_server_override: Any = None  # None: the config's; False: none; else the entries


class PlaywrightSession:
    """One Playwright process holding run-level parts open until stop()."""

    def __init__(self, project_dir: Path, config_file: Path, spec: SessionSpec, environ: Mapping[str, str], *,
                 server_commands: Sequence[str] = (), log_path: Path | None = None) -> None:
        self.project_dir = project_dir
        self.config_file = config_file
        self.log_path = log_path  # where Playwright's output (the web servers' lines) goes; default: its temp folder
        self.spec = spec
        self.environ = child_environment(environ)  # global hooks and web servers are the user's code
        self.server_commands = tuple(server_commands)
        self.env: dict[str, str] = {}  # what the global setups added to the environment
        self._work: Path | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        """Start the web servers and run the global setups; raise SessionError when they fail."""
        node, cli = find_node(self.environ, self.project_dir), find_playwright_cli(self.project_dir)
        self._work = Path(tempfile.mkdtemp(prefix="ht-session-"))
        files = self._files()
        files["settings"].write_text(self._settings_text(), encoding="utf-8")
        env = {**self.environ, "FORCE_COLOR": "0", "HT_RESULTS_OUTPUT": str(files["results"]),
               "HT_SESSION_SETTINGS": str(files["settings"]), "HT_SESSION_ENV_OUTPUT": str(files["env"]),
               "HT_SESSION_READY": str(files["ready"]), "HT_SESSION_STOP": str(files["stop"])}
        self._log = files["log"].open("wb")
        self._child = subprocess.Popen(
            [node, str(cli), "test", "-c", str(module_twin(SESSION_CONFIG, self.config_file, cli)),
             "--pass-with-no-tests", NO_TEST_FILE],
            cwd=self.project_dir, env=env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not files["ready"].exists():
            if self._child.poll() is not None or time.monotonic() > deadline:
                message = self._failure()
                self.stop()
                raise SessionError(message)
            time.sleep(POLL_S)
        self.env = self._produced_env(files["env"])

    def alive(self) -> bool:
        """Whether the session process still runs."""
        return self._child is not None and self._child.poll() is None

    def stop(self) -> str | None:
        """End the session: global teardowns run, servers stop. Returns a teardown error, if any."""
        child, work = self._child, self._work
        problem = None
        if child is not None and work is not None:
            self._files()["stop"].write_text("stop", encoding="utf-8")
            try:
                child.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                problem = f"the run session did not stop within {STOP_TIMEOUT_S:.0f} s; it was killed"
            _kill_group(child)
            parsed = parse_reporter_lines(self._files()["results"])
            if problem is None and parsed.errors:
                problem = _render_errors(parsed.errors, self.project_dir)
        if self._log is not None:
            self._log.close()
            self._log = None
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
        self._child = self._work = None
        return problem

    def _files(self) -> dict[str, Path]:
        assert self._work is not None
        names = {"settings": "settings.json", "env": "env.json", "ready": "ready", "stop": "stop",
                 "results": "results.jsonl", "log": "log"}
        files = {key: self._work / name for key, name in names.items()}
        if self.log_path is not None:
            files["log"] = self.log_path
        return files

    def _settings_text(self) -> str:
        """The session's settings, which session.config.cjs and session.capture.cjs read."""
        settings = {
            "userConfig": str(self.config_file),
            "userConfigModule": str(USER_CONFIG_MODULE),
            "captureModule": str(CAPTURE_MODULE),
            "resultReporter": str(RESULT_REPORTER),
            "withWebServer": self.spec.web_server,
            "withGlobalHooks": self.spec.global_hooks,
            "useOverride": dict(self.spec.use_override) if self.spec.use_override is not None else None,
            "webServerOverride": self.spec.web_server_override,
        }
        return json.dumps(settings, ensure_ascii=True)

    def _failure(self) -> str:
        files = self._files()
        parsed = parse_reporter_lines(files["results"])
        if self._child is not None and self._child.poll() is None:
            return f"the run's web servers and global setup did not finish within {START_TIMEOUT_S:.0f} s" + \
                self._log_named()
        output = _last_lines(read_tail(files["log"]), self.project_dir)
        if not parsed.errors:
            return "the run's setup (web server or globalSetup) failed; Playwright's last output:\n" + \
                output + self._log_named()
        message = _render_errors(parsed.errors, self.project_dir)
        if "webServer" in message:
            commands = "\n".join(f"  command: {command}" for command in self.server_commands)
            return f"the web server did not start:\n{message}\n{commands}\n  its last output:\n{output}" + \
                self._log_named()
        return f"the run's global setup failed:\n{message}" + self._log_named()

    def _log_named(self) -> str:
        """Where Playwright's whole output is, when it outlives the session."""
        return f"\n  Playwright's output: {self.log_path}" if self.log_path is not None else ""

    def _produced_env(self, path: Path) -> dict[str, str]:
        try:
            after: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}
        return {key: value for key, value in after.items()
                if self.environ.get(key) != value and not key.startswith(_PLAYWRIGHT_OWN)}


def _render_errors(errors: list[dict[str, Any]], project_dir: Path) -> str:
    """The first errors: each one's message, then the frames in the user's files (not Playwright's or ours)."""
    lines: list[str] = []
    for error in errors[:3]:
        text = str(error.get("stack") or error.get("message") or "").strip()
        message = [line for line in text.splitlines() if not _FRAME.match(line)]
        frames = [line.strip() for line in text.splitlines() if _user_frame(line, project_dir)]
        lines.extend("  " + _terminal_safe(line) for line in message[:MESSAGE_LINES])
        lines.extend("      " + _terminal_safe(line) for line in frames[:USER_FRAMES])
    return "\n".join(lines)


def _last_lines(text: str, project_dir: Path, count: int = 15) -> str:
    """The last lines Playwright printed, without the stack frames of Playwright's and hypertest's code."""
    kept = [line for line in text.strip().splitlines()
            if line.strip() and (not _FRAME.match(line) or _user_frame(line, project_dir))][-count:]
    return "\n".join("  " + _terminal_safe(line) for line in kept) or "  (no output)"


MESSAGE_LINES = 12
USER_FRAMES = 6
_FRAME = re.compile(r"^\s*at\s")
_FRAME_FILE = re.compile(r"(?:\(|at\s)(?:file://)?(/[^():]+)(?::\d+)*\)?\s*$")
_RUNNER_DIR = Path(__file__).resolve().parent
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _user_frame(line: str, project_dir: Path) -> bool:
    """Whether a stack line is a frame in the user's own files: in the project, outside node_modules."""
    match = _FRAME.match(line) and _FRAME_FILE.search(line)
    if not match:
        return False
    path = Path(match.group(1))
    inside = path.is_relative_to(project_dir) or path.is_relative_to(project_dir.resolve())
    return inside and "node_modules" not in path.parts and not path.is_relative_to(_RUNNER_DIR)


def _terminal_safe(line: str) -> str:
    """A line of the user's output that cannot drive a terminal (escape sequences and controls removed)."""
    return _CONTROL.sub("", line)


def _kill_group(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(timeout=10)
