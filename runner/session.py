"""A Playwright session: the run-level parts of a config (webServer, globalSetup, globalTeardown) held open.

One `playwright test` process runs a config made of the user's web servers and global hooks and a
single test that waits. Playwright starts the servers and runs the global setups; our last global
setup writes the environment they left and says the session is ready. Stopping the session ends the
waiting test, and Playwright runs the returned teardown functions and the global teardowns and stops
the servers, as at the end of its own run. The host holds one for a whole run; a Lambda sandbox holds
one (its web server) across warm invocations.
"""

from __future__ import annotations

import contextlib
import json
import os
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
from runner.wrapper_config import USER_CONFIG_MODULE

HERE = Path(__file__).resolve().parent / "playwright"
TEMPLATES = HERE / "session"
RESULT_REPORTER = HERE / "result_reporter.cjs"
SESSION_PROJECT = "hypertest-run-session"
POLL_S = 0.05
START_TIMEOUT_S = 900.0  # Playwright bounds each web server by its own timeout; this bounds everything else
STOP_TIMEOUT_S = 300.0
# What Playwright's main process sets for itself; every unit's own Playwright sets it again.
_PLAYWRIGHT_OWN = ("PW_", "PLAYWRIGHT_", "TEST_", "FORCE_COLOR", "NODE_OPTIONS", "HT_SESSION_", "HT_RESULTS_")


class SessionError(RuntimeError):
    """The session's web servers or global setups failed; the message says which and why."""


@dataclass(frozen=True)
class SessionSpec:
    """Which run-level parts a session starts, and hypertest.yml's overrides."""

    web_server: bool
    global_hooks: bool
    use_override: Mapping[str, Any] | None = None
    web_server_override: Any = None  # None: the config's; False: none; else the entries
    wait_for_worker: bool = False  # ready only once its waiting test runs (so no later clean-up kills it)


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
        node, cli = find_node(self.environ), find_playwright_cli(self.project_dir)
        work = self._work = Path(tempfile.mkdtemp(prefix="ht-session-"))
        files = self._files()
        (work / "package.json").write_text('{"type": "commonjs"}\n', encoding="utf-8")
        files["config"].write_text(self._config_text(work), encoding="utf-8")
        env = {**self.environ, "FORCE_COLOR": "0", "HT_RESULTS_OUTPUT": str(files["results"]),
               "HT_SESSION_ENV_OUTPUT": str(files["env"]), "HT_SESSION_READY": str(files["ready"]),
               "HT_SESSION_RUNNING": str(files["running"]), "HT_SESSION_STOP": str(files["stop"]),
               "HT_SESSION_PLAYWRIGHT_TEST": str(_playwright_test_module(cli))}
        self._log = files["log"].open("wb")
        self._child = subprocess.Popen(
            [node, str(cli), "test", "-c", str(files["config"]), "--project", SESSION_PROJECT],
            cwd=self.project_dir, env=env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)
        wanted = files["running"] if self.spec.wait_for_worker else files["ready"]
        deadline = time.monotonic() + START_TIMEOUT_S
        while not wanted.exists():
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
                problem = _render_errors(parsed.errors)
        if self._log is not None:
            self._log.close()
            self._log = None
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
        self._child = self._work = None
        return problem

    def _files(self) -> dict[str, Path]:
        assert self._work is not None
        names = {"config": "config.ts", "env": "env.json", "ready": "ready", "running": "running", "stop": "stop",
                 "results": "results.jsonl", "log": "log"}
        files = {key: self._work / name for key, name in names.items()}
        if self.log_path is not None:
            files["log"] = self.log_path
        return files

    def _config_text(self, work: Path) -> str:
        settings = {
            "userConfig": str(self.config_file),
            "userConfigModule": str(USER_CONFIG_MODULE),
            "sessionDir": str(TEMPLATES),
            "sessionProject": SESSION_PROJECT,
            "captureModule": str(TEMPLATES / "session.capture.cjs"),
            "resultReporter": str(RESULT_REPORTER),
            "outputDir": str(work / "test-results"),
            "withWebServer": self.spec.web_server,
            "withGlobalHooks": self.spec.global_hooks,
            "useOverride": dict(self.spec.use_override) if self.spec.use_override is not None else None,
            "webServerOverride": self.spec.web_server_override,
        }
        template = (TEMPLATES / "session.config.template.ts").read_text(encoding="utf-8")
        return template.replace("__SETTINGS__", json.dumps(settings, ensure_ascii=True))

    def _failure(self) -> str:
        files = self._files()
        parsed = parse_reporter_lines(files["results"])
        output = _last_lines(read_tail(files["log"]))
        if self._child is not None and self._child.poll() is None:
            return f"the run's web servers and global setup did not finish within {START_TIMEOUT_S:.0f} s"
        if not parsed.errors:
            return f"the run's setup (web server or globalSetup) failed; Playwright's last output:\n{output}"
        message = _render_errors(parsed.errors)
        if "webServer" in message:
            commands = "\n".join(f"  command: {command}" for command in self.server_commands)
            return f"the web server did not start:\n{message}\n{commands}\n  its last output:\n{output}"
        return f"the run's global setup failed:\n{message}"

    def _produced_env(self, path: Path) -> dict[str, str]:
        try:
            after: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}
        return {key: value for key, value in after.items()
                if self.environ.get(key) != value and not key.startswith(_PLAYWRIGHT_OWN)}


def _playwright_test_module(cli: Path) -> Path:
    """The project's `@playwright/test` entry, beside the CLI that runs it (one module instance)."""
    package = cli.parent
    for candidate in (package / "index.js", package.parent / "@playwright" / "test" / "index.js"):
        if candidate.is_file():
            return candidate
    return package / "index.js"


def _render_errors(errors: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for error in errors[:3]:
        text = str(error.get("stack") or error.get("message") or "").strip()
        lines.extend("  " + line for line in text.splitlines()[:15])
    return "\n".join(lines)


def _last_lines(text: str, count: int = 15) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-count:]
    return "\n".join("  " + line for line in kept) or "  (no output)"


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
