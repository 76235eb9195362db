"""The run session: Playwright's run-level parts (webServer, globalSetup, globalTeardown) once per run.

One `playwright test` process runs a config made of the user's web servers and global hooks and a
single test that waits. Playwright starts the servers, runs the global setups, then the test, which
tells us it is ready; units run meanwhile. Stopping the session ends the test, and Playwright runs
the returned teardown functions and the global teardowns and stops the servers, as it would at the
end of its own run.
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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypertest.errors import InfrastructureError, UsageError
from hypertest.plugins.playwright.discovery import Discovery
from hypertest.plugins.playwright.run_level import RunLevel
from runner.core import RESULT_REPORTER
from runner.node import ToolMissingError, find_node, find_playwright_cli
from runner.process import read_tail
from runner.results import parse_reporter_lines

HERE = Path(__file__).resolve().parent / "session"
POLL_S = 0.1
SESSION_PROJECT = "hypertest-run-session"
START_TIMEOUT_S = 900.0  # Playwright bounds each web server by its own timeout; this bounds everything else
STOP_TIMEOUT_S = 300.0
# What Playwright's main process sets for itself; every unit's own Playwright sets it again.
_PLAYWRIGHT_OWN = ("PW_", "PLAYWRIGHT_", "TEST_", "FORCE_COLOR", "NODE_OPTIONS", "HT_SESSION_")


@dataclass(frozen=True)
class SessionParts:
    """Which run-level parts the session starts."""

    web_server: bool
    global_hooks: bool
    use_override: Mapping[str, Any] | None = None
    web_server_override: Any = None  # None: the config's; False: none; else the entries


class RunSession:
    """One Playwright process holding the run-level parts for the length of a run."""

    def __init__(self, discovery: Discovery, parts: SessionParts, environ: Mapping[str, str],
                 run_level: RunLevel | None = None) -> None:
        self.discovery = discovery
        self.run_level = run_level or discovery.run_level
        self.parts = parts
        self.environ = dict(environ)
        self.env: dict[str, str] = {}  # what the global setups added to the environment
        self._work: Path | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._log_handle: Any = None

    def start(self) -> None:
        """Start the web servers and run the global setups; raise a clear error when they fail."""
        project_dir = self.discovery.project_dir
        try:
            node, cli = find_node(self.environ), find_playwright_cli(project_dir)
        except ToolMissingError as exc:
            raise UsageError(str(exc)) from None
        work = self._work = Path(tempfile.mkdtemp(prefix="ht-session-"))
        files = {name: work / name for name in ("config.ts", "env.json", "ready", "stop", "results.jsonl", "log")}
        (work / "package.json").write_text('{"type": "commonjs"}\n', encoding="utf-8")
        files["config.ts"].write_text(self._config_text(work), encoding="utf-8")
        env = {**self.environ, "FORCE_COLOR": "0", "HT_RESULTS_OUTPUT": str(files["results.jsonl"]),
               "HT_SESSION_ENV_OUTPUT": str(files["env.json"]), "HT_SESSION_READY": str(files["ready"]),
               "HT_SESSION_STOP": str(files["stop"]),
               "HT_SESSION_PLAYWRIGHT_TEST": str(_playwright_test_module(cli))}
        self._log_handle = files["log"].open("wb")
        self._child = subprocess.Popen(
            [node, str(cli), "test", "-c", str(files["config.ts"]), "--project", SESSION_PROJECT],
            cwd=project_dir, env=env,
            stdin=subprocess.DEVNULL, stdout=self._log_handle, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not files["ready"].exists():
            if self._child.poll() is not None or time.monotonic() > deadline:
                message = self._failure(files)
                self.stop()
                raise InfrastructureError(message)
            time.sleep(POLL_S)
        self.env = self._produced_env(files["env.json"])

    def stop(self) -> str | None:
        """End the session: global teardowns run, servers stop. Returns a teardown error, if any."""
        child, work = self._child, self._work
        problem = None
        if child is not None and work is not None:
            (work / "stop").write_text("stop", encoding="utf-8")
            try:
                child.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                problem = f"the run session did not stop within {STOP_TIMEOUT_S:.0f} s; it was killed"
            _kill_group(child)
            parsed = parse_reporter_lines(work / "results.jsonl")
            if problem is None and parsed.errors:
                problem = _render_errors(parsed.errors)
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
        self._child = self._work = None
        return problem

    def _config_text(self, work: Path) -> str:
        settings = {
            "userConfig": str(self.discovery.config_file),
            "sessionDir": str(HERE),
            "sessionProject": SESSION_PROJECT,
            "captureModule": str(HERE / "session.capture.cjs"),
            "resultReporter": str(RESULT_REPORTER),
            "outputDir": str(work / "test-results"),
            "withWebServer": self.parts.web_server,
            "withGlobalHooks": self.parts.global_hooks,
            "useOverride": dict(self.parts.use_override) if self.parts.use_override is not None else None,
            "webServerOverride": self.parts.web_server_override,
        }
        template = (HERE / "session.config.template.ts").read_text(encoding="utf-8")
        return template.replace("__SETTINGS__", json.dumps(settings, ensure_ascii=True))

    def _failure(self, files: Mapping[str, Path]) -> str:
        parsed = parse_reporter_lines(files["results.jsonl"])
        output = _last_lines(read_tail(files["log"]))
        if self._child is not None and self._child.poll() is None:
            return f"the run's web servers and global setup did not finish within {START_TIMEOUT_S:.0f} s"
        if not parsed.errors:
            return f"the run's setup (web server or globalSetup) failed; Playwright's last output:\n{output}"
        message = _render_errors(parsed.errors)
        if "config.webServer" in message or "webServer" in message:
            commands = "\n".join(f"  command: {server.command}  ({server.address})"
                                  for server in self.run_level.web_servers)
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


def clear_output_dirs(discovery: Discovery) -> None:
    """Empty the projects' output folders once, as Playwright does when a run starts."""
    config_dir = discovery.config_file.parent
    used = {test.project for test in discovery.tests}
    for project in discovery.projects:
        folder = project.output_dir
        if project.name not in used or folder is None or folder in (config_dir, *config_dir.parents):
            continue
        shutil.rmtree(folder, ignore_errors=True)
