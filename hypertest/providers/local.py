"""The local provider: each unit runs in its own `python -m runner` process on this machine."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from hypertest.core.config import LocalProviderSettings, Settings
from hypertest.core.contracts import Check, Discovery, Provider
from hypertest.errors import InfrastructureError, UsageError
from hypertest.providers.run_folder import RunFolderStore
from runner import browser_server
from runner.chromium import chromium_args, fallback_chromium, forced_chromium
from runner.environment import child_environment, project_folder
from runner.model import error_unit_result
from runner.node import ToolMissingError, find_node, find_playwright_cli
from runner.process import run_with_deadline, signal_active

# Time the runner process gets beyond the unit timeout to stop Playwright and store what it has.
EXIT_GRACE_S = 30.0


class LocalProvider(RunFolderStore):
    """Runs units as local processes that execute the same runner code as the cloud."""

    name = "local"
    shares_host = True  # units share this machine: one web server serves them all

    def __init__(self, settings: LocalProviderSettings, environ: Mapping[str, str] | None = None,
                 python: str = sys.executable) -> None:
        self.settings = settings
        self.environ = dict(os.environ if environ is None else environ)
        self.python = python
        self._repo_root = Path(__file__).resolve().parents[2]
        # Warm browsers (HT_WARM_BROWSER): one per busy slot, taken for a unit and given back after it.
        self._idle_browsers: list[browser_server.BrowserServer] = []
        self._browsers_lock = threading.Lock()
        self._closed = False

    def preflight(self, discovery: Discovery) -> None:
        """Fail early when tests launch Chromium and there is none to launch."""
        missing = discovery.projects_needing_chromium()
        if not missing or forced_chromium(self.environ) or fallback_chromium(self.environ):
            return
        names = f"project(s) {', '.join(repr(m) for m in missing)}" if any(missing) else "the tests"
        raise InfrastructureError(
            f"no Chromium found for {names}",
            hint="set HT_CHROMIUM_PATH, set the browser's executable path in the test config, "
                 "run `npx playwright install chromium`, or install Debian's chromium package")

    def unit_payload(self, payload: Mapping[str, Any], run_dir: Path, discovery: Discovery) -> dict[str, Any]:
        """Artifacts go straight into the run folder; the project is where it is."""
        return {**payload, "artifacts": {"kind": "local", "root": str(run_dir)},
                "timeoutMs": int(self.settings.unit_timeout_s * 1000)}

    def execute(self, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        """Run `python -m runner` on the payload and read its result file."""
        timeout_s = (payload.get("timeoutMs") or self.settings.unit_timeout_s * 1000) / 1000
        with tempfile.TemporaryDirectory(prefix="ht-local-") as scratch:
            folder = Path(scratch)
            (folder / "payload.json").write_text(json.dumps(payload), encoding="utf-8")
            env = dict(self.environ)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self._repo_root), env.get("PYTHONPATH")]))
            with self._warm_browser(payload) as warm:
                if warm is not None:
                    env.update(warm.environment())
                completed = run_with_deadline(
                    [self.python, "-m", "runner", "--payload", str(folder / "payload.json"),
                     "--result", str(folder / "result.json")],
                    cwd=folder, env=env, deadline=time.monotonic() + timeout_s + EXIT_GRACE_S,
                    log_path=folder / "runner.log", grace_s=5.0)
            result_path = folder / "result.json"
            if completed.stopped_at_deadline or not result_path.is_file():
                reason = ("did not finish in time" if completed.stopped_at_deadline
                          else f"exited with code {completed.exit_code} without a result")
                return error_unit_result(f"the runner process {reason}: {_last_lines(completed.output_tail)}")
            try:
                result: Mapping[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                return error_unit_result(f"the runner wrote malformed JSON: {exc}")
            return result

    @contextlib.contextmanager
    def _warm_browser(self, payload: Mapping[str, Any]) -> Iterator[browser_server.Endpoint | None]:
        """A checked warm browser for a Playwright unit, held by this slot while it runs (None: launch)."""
        key = self._browser_key(payload)
        if key is None:
            yield None
            return
        with self._browsers_lock:
            server = self._idle_browsers.pop() if self._idle_browsers else None
        try:
            server = browser_server.ensure(server, key, self.environ)
        except (browser_server.BrowserServerError, OSError):
            server = None  # the unit launches its own browser, and reports what goes wrong with it
        try:
            yield server.endpoint if server is not None else None
        finally:
            if server is not None:
                with self._browsers_lock:
                    closed = self._closed
                    if not closed:
                        self._idle_browsers.append(server)
                if closed:
                    server.stop()

    def _browser_key(self, payload: Mapping[str, Any]) -> browser_server.LaunchKey | None:
        if not browser_server.enabled(self.environ) or payload.get("runner", "playwright") != "playwright":
            return None
        executable = forced_chromium(self.environ) or fallback_chromium(self.environ)
        project_dir = payload.get("projectDir")
        if executable is None or not isinstance(project_dir, str):
            return None
        try:
            cli = find_playwright_cli(project_folder(self.environ, project_dir))
            return browser_server.LaunchKey(node=find_node(self.environ), cli=str(cli.resolve()),
                                            executable_path=executable, args=chromium_args(self.environ))
        except ToolMissingError:
            return None

    def cancel(self) -> None:
        """Ask every runner process to stop; each kills its Playwright and cleans up before exiting."""
        signal_active()

    def details(self) -> Mapping[str, Any]:
        """Nothing to add for local processes."""
        return {}

    def close(self) -> None:
        """Stop the slots' warm browsers (each unit's process ended with it)."""
        with self._browsers_lock:
            self._closed = True
            servers, self._idle_browsers = self._idle_browsers, []
        for server in servers:
            server.stop()


def _last_lines(text: str, count: int = 8) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-count:]) or "(no output)"


class _LocalEntry:
    """The local provider as the registry finds it (provider.type: local)."""

    checks_tests = False

    def default_concurrency(self) -> int:
        """As many units as this machine has CPUs."""
        return os.cpu_count() or 2

    def create(self, settings: Settings, environ: Mapping[str, str], out: TextIO) -> Provider:
        """Local processes, with the environment the tests may have."""
        return LocalProvider(settings.provider.local, child_environment(environ, settings.provider.local.environment))

    def doctor_checks(self, settings: Settings, environ: Mapping[str, str]) -> list[Check]:
        """The units launch Chromium on this machine."""
        chromium = forced_chromium(environ) or fallback_chromium(environ)
        return [Check("Chromium", "ok" if chromium else "error",
                      chromium or "none found (HT_CHROMIUM_PATH, Playwright's cache, the system)",
                      "install Debian's chromium, or set HT_CHROMIUM_PATH")]


    def test_warnings(self, settings: Settings, discovery: Discovery) -> list[str]:
        """Nothing to warn about: a unit has the time unitTimeout gives it."""
        return []

    def deploy(self, settings: Settings, out: TextIO, environ: Mapping[str, str]) -> None:
        """The local provider runs the project where it is: nothing to deploy."""
        raise UsageError("deploy needs provider.type: aws in hypertest.yml (the local provider has nothing to deploy)")


PROVIDER = _LocalEntry()
