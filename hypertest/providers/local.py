"""The local provider: units run on this machine, each slot's in its warm `python -m runner` process."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from hypertest.core.config import ProviderSettings, Settings
from hypertest.core.contracts import Check, Discovery, Provider, ProviderEntry
from hypertest.core.redaction import Redactor
from hypertest.core.safe_text import terminal_text
from hypertest.errors import InfrastructureError, UsageError
from hypertest.providers.run_folder import RunFolderStore
from hypertest.providers.warm_runners import RunnerPool
from runner.chromium import fallback_chromium, forced_chromium
from runner.environment import child_environment

NOTICE_CHARS = 500
# Time the runner process gets beyond the unit timeout to stop Playwright and store what it has.
EXIT_GRACE_S = 30.0


@dataclass(frozen=True)
class LocalProviderSettings:
    """Options of the local provider (`provider.local`)."""

    unit_timeout_s: float
    environment: Mapping[str, str] = field(default_factory=dict)


def local_settings(provider: ProviderSettings) -> LocalProviderSettings:
    """The local provider's settings from the validated `provider.local` options (defaults filled in)."""
    options = provider.options_of("local")
    return LocalProviderSettings(unit_timeout_s=float(options["unitTimeout"]),
                                 environment=dict(options.get("environment", {})))


class RunnerNotices:
    """Says once, on the run's console, what a runner said about its own choices (a unit ran cold, and why),
    escaped for the terminal and with known secrets hidden."""

    def __init__(self, out: TextIO, redactor: Redactor) -> None:
        self.out = out
        self.redactor = redactor
        self._said: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, text: str) -> None:
        """Write text as a note, unless it was said already in this run."""
        line = terminal_text(self.redactor.text(text), NOTICE_CHARS)
        with self._lock:
            if line in self._said:
                return
            self._said.add(line)
            self.out.write(f"note: {line}\n")


class LocalProvider(RunFolderStore):
    """Runs units as local processes that execute the same runner code as the cloud."""

    name = "local"
    shares_host = True  # units share this machine: one web server serves them all

    def __init__(self, settings: LocalProviderSettings, environ: Mapping[str, str] | None = None,
                 python: str = sys.executable, notices: RunnerNotices | None = None) -> None:
        self.settings = settings
        self.environ = dict(os.environ if environ is None else environ)
        self.python = python
        repo_root = Path(__file__).resolve().parents[2]
        env = dict(self.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo_root), env.get("PYTHONPATH")]))
        self._runners = RunnerPool(python, env, notices)

    def preflight(self, discovery: Discovery, peaks: Mapping[str, int]) -> None:
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

    def warm_up(self, payload: Mapping[str, Any] | None, slots: int) -> None:
        """Start the slots' runner processes; with a payload, have them start the warm host its units use."""
        if payload is None:
            self._runners.start(slots)
        else:
            self._runners.warm_up(payload, slots)

    def execute(self, payload: Mapping[str, Any]) -> Mapping[str, object]:
        """Run the unit in the slot's warm runner process, which writes its result; a fresh unit (a retry:
        `"fresh": true`) in a new runner process, which runs it cold."""
        timeout_s = (payload.get("timeoutMs") or self.settings.unit_timeout_s * 1000) / 1000
        return self._runners.run(payload, time.monotonic() + timeout_s + EXIT_GRACE_S,
                                 fresh=payload.get("fresh") is True)

    def cancel(self) -> None:
        """Ask every runner process to stop; each stops its unit as at a deadline and still reports it."""
        self._runners.cancel()

    def stop_running(self) -> bool:
        """Stop the units running now, as cancel() does; the slots run later units as usual."""
        self._runners.cancel()
        return True

    def details(self) -> Mapping[str, Any]:
        """Nothing to add for local processes."""
        return {}

    def close(self) -> None:
        """End the slots' runner processes (and with them their warm hosts and browsers)."""
        self._runners.close()


class _LocalEntry:
    """The local provider as the registry finds it (provider.type: local)."""

    checks_tests = False

    def default_concurrency(self) -> int:
        """As many units as this machine has CPUs."""
        return os.cpu_count() or 2

    def create(self, settings: Settings, environ: Mapping[str, str], out: TextIO) -> Provider:
        """Local processes, with the environment the tests may have."""
        own = local_settings(settings.provider)
        return LocalProvider(own, child_environment(environ, own.environment),
                             notices=RunnerNotices(out, Redactor.from_environ(environ)))

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


PROVIDER: ProviderEntry = _LocalEntry()
