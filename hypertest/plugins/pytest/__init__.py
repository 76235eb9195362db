"""pytest with pytest-playwright (`testRunner.type: pytest`): discovery by `pytest --collect-only` and our
collection plugin, one unit per test (groups together), each selected by its node id, never by -k."""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hypertest.core.config import Settings, TestRunnerSettings
from hypertest.core.contracts import Check, Discovery, ImageInputs, NoRunHooks, RunContext, RunHooks
from hypertest.core.models import Unit
from hypertest.core.plan import RunPlan


class PytestPlugin:
    """The pytest-playwright plugin."""

    name = "pytest"
    config_label = "pytest config"
    config_names = ("pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")

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
        return {
            "configFile": str(discovery.config_file.relative_to(discovery.project_dir)),
            "tests": [{"id": t.id, "nodeId": node_ids[t.id], "file": t.file, "line": t.line,
                       "titlePath": list(t.title_path)} for t in unit.tests],
            "retries": settings.test_runner.retries,
            "args": [],
        }

    def run_hooks(self, discovery: Discovery, context: RunContext) -> RunHooks:
        """Nothing runs once per run: pytest's session fixtures run in each unit."""
        return NoRunHooks()

    def merge_report(self, discovery: Discovery, context: RunContext, results: Sequence[Mapping[str, Any]],
                     records: Sequence[Mapping[str, Any]], started_at: dt.datetime) -> Path | None:
        """No HTML report: the job summary's tables, JUnit and results.json show every test."""
        return None

    def doctor_checks(self, settings: Settings, environ: Mapping[str, str]) -> list[Check]:
        """pytest and pytest-playwright, importable where hypertest runs."""
        checks = []
        for module, package in (("pytest", "pytest"), ("pytest_playwright", "pytest-playwright")):
            found = importlib.util.find_spec(module) is not None
            checks.append(Check(package, "ok" if found else "error", "installed" if found else "not installed",
                                f"pip install {package} (beside hypertest)"))
        return checks

    def image_inputs(self, project_dir: Path) -> ImageInputs:
        """requirements.txt, else the dependencies pyproject.toml names, installed with pip."""
        from hypertest.plugins.pytest.requirements import requirements

        return ImageInputs(files=(("requirements.txt", requirements(project_dir)),), installer="python")

    def describe(self, discovery: Discovery, settings: Settings) -> list[str]:
        """Nothing runs once per run."""
        return []

    def group_label(self, discovery: Discovery, group: str) -> str:
        """pytest suites have one group."""
        return repr(group)


PLUGIN = PytestPlugin()
