"""Which Python runs a pytest suite, and why: testRunner.python, else the active virtualenv (VIRTUAL_ENV),
else a .venv beside hypertest.yml, else hypertest's own interpreter. `probe` asks an interpreter, in a
bounded subprocess (an argv list), which of the packages a run needs import there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hypertest.core.config import TestRunnerSettings
from hypertest.errors import UsageError
from hypertest.plugins.pytest.settings import pytest_settings
from runner.pytest.interpreter import activated

PROBE_TIMEOUT_S = 60
# (module, distribution) the probe imports: pytest and pytest-playwright are needed; the others are optional
PACKAGES = (("pytest", "pytest"), ("pytest_playwright", "pytest-playwright"), ("xdist", "pytest-xdist"),
            ("pytest_rerunfailures", "pytest-rerunfailures"))
PROBE = """
import importlib, importlib.metadata, json, platform, sys
found = {}
for module, distribution in PACKAGES:
    try:
        importlib.import_module(module)
    except BaseException as exc:
        found[distribution] = {"error": f"{type(exc).__name__}: {exc}"}
        continue
    try:
        found[distribution] = {"version": importlib.metadata.version(distribution)}
    except Exception:
        found[distribution] = {"version": "?"}
print("\\n" + json.dumps({"version": platform.python_version(), "packages": found}))
""".replace("PACKAGES", repr(PACKAGES))


@dataclass(frozen=True)
class Interpreter:
    """The suite's Python and why it was taken (`testRunner.python (hypertest.yml:3:11)`, ...)."""

    path: Path
    why: str
    source: str  # testRunner.python | VIRTUAL_ENV | .venv | hypertest

    def describe(self) -> str:
        """`/path/bin/python (why)`."""
        return f"{self.path} ({self.why})"


@dataclass(frozen=True)
class Probe:
    """What an interpreter said: its version and, per distribution, a version or an import error."""

    version: str = ""
    packages: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    problem: str = ""  # the interpreter did not answer (not a Python, timed out)


def choose_python(settings: TestRunnerSettings, environ: Mapping[str, str]) -> Interpreter:
    """The suite's interpreter; a VIRTUAL_ENV without an interpreter is a UsageError (a stale activation)."""
    own = pytest_settings(settings)
    if own.python is not None:
        return Interpreter(own.python, f"set by {own.python_origin}", "testRunner.python")
    active = environ.get("VIRTUAL_ENV", "").strip()
    if active:
        python = Path(os.path.normpath(Path(active).absolute())) / "bin" / "python"
        if not (python.is_file() and os.access(python, os.X_OK)):
            raise UsageError(f"VIRTUAL_ENV names a virtualenv without an interpreter: {python} cannot be run",
                             hint="activate the suite's virtualenv again, unset VIRTUAL_ENV, or set "
                                  "testRunner.python in hypertest.yml")
        return Interpreter(python, f"the active virtualenv, VIRTUAL_ENV={active}", "VIRTUAL_ENV")
    base = settings.base_dir or settings.config.parent
    beside = base / ".venv" / "bin" / "python"
    if beside.is_file() and os.access(beside, os.X_OK):
        where = "hypertest.yml" if settings.base_dir else "the config"
        return Interpreter(Path(os.path.normpath(beside)), f".venv beside {where}", ".venv")
    return Interpreter(Path(sys.executable), "hypertest's own: no testRunner.python, VIRTUAL_ENV or .venv",
                       "hypertest")


def probe(python: Path, cwd: Path, environ: Mapping[str, str]) -> Probe:
    """Import the packages in python (bounded, an argv list) and say which did."""
    try:
        done = subprocess.run([str(python), "-c", PROBE], cwd=cwd, env=activated(environ, python),
                              capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Probe(problem=f"did not answer within {PROBE_TIMEOUT_S} s")
    except OSError as exc:
        return Probe(problem=f"cannot be run: {exc.strerror or exc}")
    lines = done.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else None
    except ValueError:
        answer = None
    if done.returncode != 0 or not isinstance(answer, dict):
        said = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return Probe(problem=f"is not a Python that answers (exit code {done.returncode}): " + " ".join(said))
    return Probe(version=str(answer.get("version", "")), packages=answer.get("packages") or {})
