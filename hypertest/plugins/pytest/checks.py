"""What `hypertest doctor` checks of a pytest suite's Python, and what `validate` says of its settings."""

from __future__ import annotations

import json
from collections.abc import Mapping

from hypertest.core.config import Settings
from hypertest.core.contracts import Check
from hypertest.errors import UsageError
from hypertest.plugins.pytest.interpreter import choose_python, probe
from hypertest.plugins.pytest.settings import pytest_settings
from runner.environment import child_environment

NEEDED = ("pytest", "pytest-playwright")


def interpreter_checks(settings: Settings, environ: Mapping[str, str]) -> list[Check]:
    """The suite's Python (which and why) and the packages that import there: pytest and pytest-playwright
    (errors when not), pytest-rerunfailures (an error when retries are set without it), pytest-xdist (ok)."""
    runner = settings.test_runner
    try:
        chosen = choose_python(runner, environ)
    except UsageError as exc:
        return [Check("python", "error", exc.message, exc.hint)]
    answer = probe(chosen.path, runner.config.parent, child_environment(environ))
    if answer.problem:
        return [Check("python", "error", f"{chosen.describe()} {answer.problem}",
                      "set testRunner.python to the suite's interpreter (for example .venv/bin/python)")]
    checks = [Check("python", "ok", f"{chosen.describe()}, Python {answer.version}")]
    install = f"{chosen.path} -m pip install"
    for package in (*NEEDED, "pytest-rerunfailures", "pytest-xdist"):
        found = answer.packages.get(package) or {}
        if "version" in found:
            checks.append(Check(package, "ok", f"{found['version']}, imports with {chosen.path}"))
        elif package in NEEDED or (package == "pytest-rerunfailures" and runner.retries
                                   and runner.retry_strategy != "fresh"):
            why = "" if package in NEEDED else f" (testRunner.retries is {runner.retries})"
            checks.append(Check(package, "error", f"does not import with {chosen.path}{why}: "
                                f"{found.get('error', 'not found')}", f"{install} {package}"))
    return checks


def settings_lines(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """`validate`'s lines for a pytest suite: granularity, retries as pytest-rerunfailures takes them, the
    interpreter, args and paths."""
    runner = settings.test_runner
    retries = ("from the pytest config (pytest-rerunfailures' --reruns or flaky markers, if any)"
               if runner.retries is None else f"{runner.retries} (pytest-rerunfailures' --reruns)")
    if runner.retry_strategy == "fresh":
        retries = f"{runner.fresh_retries} fresh (each in a new sandbox; none in-process)"
    own = pytest_settings(runner)  # a missing interpreter or path is the config's error, not a line
    lines = [f"granularity: {runner.granularity}, retries: {retries}"]
    try:
        lines.append(f"python: {choose_python(runner, environ).describe()}")
    except UsageError as exc:
        lines.append(f"python: {exc.message}")
    if own.args:
        lines.append(f"args: {json.dumps(list(own.args), ensure_ascii=False)}")
    if own.paths:
        lines.append(f"paths: {', '.join(str(path) for path in own.paths)}")
    return lines
