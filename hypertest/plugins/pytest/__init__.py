"""pytest with pytest-playwright (`testRunner.type: pytest`): discovery by `pytest --collect-only` and our
collection plugin, one unit per test (groups together), each selected by its node id, never by -k. The suite's
Python (testRunner.python, VIRTUAL_ENV, .venv, hypertest's own) lists the tests and runs the local units."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from hypertest.core.config import Settings, TestRunnerSettings
from hypertest.core.contracts import (
    Check,
    Discovery,
    ImageInputs,
    NoRunHooks,
    PreparedReport,
    RunContext,
    RunHooks,
    TestRunnerPlugin,
    WarmUpPart,
)
from hypertest.core.plan import RunPlan
from hypertest.core.retry_unit import unit_retries
from hypertest.core.suite import Unit
from runner.model import TestRecord, UnitSummary

# The reporters that make nothing for a pytest suite (no merged HTML report: see merge_report).
UNMADE_REPORTERS = ("html",)


class PytestPlugin:
    """The pytest-playwright plugin."""

    name = "pytest"
    config_label = "pytest config"
    config_names: tuple[str, ...] = ("pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")
    unmade_reporters = UNMADE_REPORTERS

    def discover(self, settings: TestRunnerSettings, environ: Mapping[str, str]) -> Discovery:
        """`pytest --collect-only` in the project, with our collection plugin."""
        from hypertest.plugins.pytest.discovery import discover

        return discover(settings, environ)

    def plan(self, discovery: Discovery, granularity: str) -> RunPlan:
        """One phase: a unit per test (or group, or file)."""
        from hypertest.plugins.pytest.units import plan_units

        return plan_units(discovery.tests, granularity)

    def unit_part(self, unit: Unit, discovery: Discovery, settings: Settings) -> dict[str, Any]:
        """The node ids the runner passes to pytest, and the tests they are."""
        node_ids = dict(getattr(discovery, "node_ids", ()))
        part: dict[str, Any] = {
            "configFile": str(discovery.config_file.relative_to(discovery.project_dir)),
            "tests": [{"id": t.id, "nodeId": node_ids[t.id], "file": t.file, "line": t.line,
                       "titlePath": list(t.title_path)} for t in unit.tests],
            "retries": unit_retries(settings.test_runner),
            "args": list(getattr(discovery, "args", ())),
            "options": list(getattr(discovery, "options", ())),
            "paths": list(getattr(discovery, "paths", ())),
        }
        python = str(getattr(discovery, "python", ""))
        if settings.provider.type == "local" and python:
            part["python"] = python  # an image (aws, docker) runs its own Python
        return part

    def warm_up_part(self, settings: Settings, environ: Mapping[str, str]) -> WarmUpPart | None:
        """The units' part as far as the settings tell it (interpreter, args, paths; the options the runner
        looks up), with one placeholder test a warm-up never runs; None when the settings are wrong (discovery
        says how)."""
        from hypertest.errors import HypertestError
        from hypertest.plugins.pytest.discovery import test_paths
        from hypertest.plugins.pytest.interpreter import choose_python
        from hypertest.plugins.pytest.settings import pytest_settings

        project_dir = settings.test_runner.config.parent
        try:
            own, chosen = pytest_settings(settings.test_runner), choose_python(settings.test_runner, environ)
        except HypertestError:
            return None
        part: dict[str, Any] = {
            "configFile": str(settings.test_runner.config.relative_to(project_dir)),
            "tests": [{"id": "warm-up", "nodeId": "hypertest-warm-up", "file": "", "line": 0,
                       "titlePath": ["warm-up"]}],
            "retries": unit_retries(settings.test_runner), "args": list(own.args), "options": None,
            "paths": list(test_paths(own, project_dir))}
        if settings.provider.type == "local":
            part["python"] = str(chosen.path)
        return WarmUpPart(project_dir=project_dir, unit=part)

    def run_hooks(self, discovery: Discovery, context: RunContext) -> RunHooks:
        """Nothing runs once per run (pytest's session fixtures run in each unit); the run says once that the
        suite's pytest-xdist options are set aside in units."""
        line = _parallel_line(discovery)
        return _SayOnce(context.out, line) if line else NoRunHooks()

    def prepare_report(self, discovery: Discovery, context: RunContext) -> PreparedReport | None:
        """Nothing: pytest has no merged report."""
        return None

    def merge_report(self, discovery: Discovery, context: RunContext, units: Sequence[UnitSummary],
                     records: Sequence[TestRecord], started_at: dt.datetime, *,
                     prepared: PreparedReport | None = None) -> Path | None:
        """No HTML report: the job summary's tables, JUnit and results.json show every test."""
        return None

    def doctor_checks(self, settings: Settings, environ: Mapping[str, str]) -> list[Check]:
        """The suite's Python (which, and why), and that pytest and pytest-playwright import there."""
        from hypertest.plugins.pytest.checks import interpreter_checks

        return interpreter_checks(settings, environ)

    def image_inputs(self, project_dir: Path) -> ImageInputs:
        """requirements.txt, else the dependencies pyproject.toml names, installed with pip."""
        from hypertest.plugins.pytest.requirements import requirements

        return ImageInputs(files=(("requirements.txt", requirements(project_dir)),), installer="python")

    def describe(self, discovery: Discovery, settings: Settings) -> list[str]:
        """Nothing runs once per run; which Python runs the tests, and what units do with pytest-xdist."""
        python = getattr(discovery, "python", "")
        lines = [f"python: {python} ({getattr(discovery, 'python_why', '')})"] if python else []
        line = _parallel_line(discovery)
        return [*lines, line] if line else lines

    def validate_lines(self, settings: Settings, environ: Mapping[str, str]) -> list[str]:
        """What `hypertest validate` says of the runner's settings: retries, interpreter, args, paths."""
        from hypertest.plugins.pytest.checks import settings_lines

        return settings_lines(settings, environ)

    def group_label(self, discovery: Discovery, group: str) -> str:
        """pytest suites have one group."""
        return repr(group)


def _parallel_line(discovery: Discovery) -> str:
    """The one line saying that units set the suite's pytest-xdist options aside, when it has some."""
    asked = tuple(getattr(discovery, "parallel", ()))
    if not asked or "numprocesses" not in getattr(discovery, "options", ()):
        return ""
    return (f"pytest-xdist: the suite asks for {', '.join(asked)}; each unit runs with -n 0 (its tests in its "
            f"own process): hypertest's units are the run's parallelism")


class _SayOnce(NoRunHooks):
    """Run hooks that print one line when the run starts."""

    def __init__(self, out: TextIO, line: str) -> None:
        self.out = out
        self.line = line

    def start(self) -> None:
        """Say it."""
        from hypertest.reporters.console import printable

        self.out.write(f"{printable(self.line)}\n")


PLUGIN: TestRunnerPlugin = PytestPlugin()
