"""Playwright Test (`testRunner.type: playwright`): discovery with the project's own Playwright, units and
phases as Playwright orders projects, run-level parts once per run, one merged HTML report."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hypertest.core.config import Settings, TestRunnerSettings
from hypertest.core.contracts import (
    Check,
    ImageInputs,
    PreparedReport,
    RunContext,
    RunHooks,
    TestRunnerPlugin,
    WarmUpPart,
)
from hypertest.core.contracts import Discovery as CoreDiscovery
from hypertest.core.plan import RunPlan
from hypertest.core.retry_unit import unit_retries
from hypertest.core.suite import Unit
from hypertest.errors import UsageError
from hypertest.plugins.playwright.settings import use_override, web_server_override
from runner.model import TestRecord, UnitSummary


class PlaywrightPlugin:
    """The Playwright Test plugin."""

    name = "playwright"
    config_label = "Playwright config"
    config_names: tuple[str, ...] = tuple(f"playwright.config.{ext}"
                                          for ext in ("ts", "js", "mts", "mjs", "cts", "cjs"))

    def discover(self, settings: TestRunnerSettings, environ: Mapping[str, str]) -> CoreDiscovery:
        """`playwright test --list` with our list reporter."""
        from hypertest.plugins.playwright.discovery import discover

        return discover(settings, environ)

    def plan(self, discovery: CoreDiscovery, granularity: str) -> RunPlan:
        """Units (serial groups together), in phases as Playwright orders projects."""
        from hypertest.plugins.playwright.phases import plan_run

        return plan_run(_own(discovery), granularity)

    def unit_part(self, unit: Unit, discovery: CoreDiscovery, settings: Settings) -> dict[str, Any]:
        """The tests, the --test-list lines and the config overrides the runner needs."""
        from hypertest.plugins.playwright.units import selectors_of

        return {
            "tests": [{"id": t.id, "project": t.project, "file": t.file, "titlePath": list(t.title_path),
                       "repeatEachIndex": t.repeat_each_index or 0} for t in unit.tests],
            "selectors": [{"project": s.project, "file": s.file, "titlePath": list(s.title_path)}
                          for s in selectors_of(unit.tests)],
            "configFile": os.path.relpath(discovery.config_file, discovery.project_dir),
            "retries": unit_retries(settings.test_runner),
            "use": use_override(settings.test_runner),
            "webServer": web_server_override(settings.test_runner),
        }

    def warm_up_part(self, settings: Settings, environ: Mapping[str, str]) -> WarmUpPart | None:
        """The config a unit's Playwright loads, with one placeholder test a warm-up never runs."""
        config = settings.test_runner.config
        place = {"project": "", "file": "hypertest-warm-up", "titlePath": ["warm-up"]}
        return WarmUpPart(project_dir=config.parent, unit={
            "tests": [{"id": "warm-up", **place, "repeatEachIndex": 0}], "selectors": [place],
            "configFile": config.name, "retries": unit_retries(settings.test_runner),
            "use": use_override(settings.test_runner), "webServer": web_server_override(settings.test_runner)})

    def run_hooks(self, discovery: CoreDiscovery, context: RunContext) -> RunHooks:
        """The run session, the sandbox web server and the state carried between phases."""
        from hypertest.plugins.playwright.run_hooks import PlaywrightRunHooks

        return PlaywrightRunHooks(_own(discovery), context)

    def prepare_report(self, discovery: CoreDiscovery, context: RunContext) -> PreparedReport | None:
        """merge-reports started with the project's Playwright loaded, waiting for the blobs (None: it cannot
        start; merge_report starts one then). It starts while tests still run: with their environment, so a test
        that reads other processes' environments finds no secret there."""
        from hypertest.plugins.playwright.prepared_merge import PreparedMerge

        try:
            return PreparedMerge(context.run_dir / "report", discovery.project_dir, context.test_env)
        except (OSError, RuntimeError, subprocess.SubprocessError):
            return None

    def merge_report(self, discovery: CoreDiscovery, context: RunContext, units: Sequence[UnitSummary],
                     records: Sequence[TestRecord], started_at: dt.datetime, *,
                     prepared: PreparedReport | None = None) -> Path | None:
        """The units' blobs merged into one HTML report spanning the run, with the tests no blob has."""
        from hypertest.plugins.playwright.html_report import MergeError, merge_html_report
        from hypertest.plugins.playwright.prepared_merge import PreparedMerge

        merge = prepared if isinstance(prepared, PreparedMerge) else None
        keys = [blob for unit in units if (blob := unit.get("blob"))]
        if not keys:
            context.out.write("warning: no unit produced a blob report, so there is no HTML report\n")
            return None
        report_dir = context.run_dir / "report"
        # no Playwright result in any blob: the unit crashed (error), the test never ran (no attempt), or its
        # unit never started (skipped after a failed setup project, interrupted by Ctrl-C); the merge leaves
        # out those a blob has after all
        with_blob = {unit["id"] for unit in units if unit.get("blob")}
        extra = [r for r in records if r["status"] == "error" or not r["attempts"] or r.get("unitId") not in with_blob]
        try:
            blob_dir = context.provider.collect_blobs(context.run_dir, keys)
            return merge_html_report(blob_dir, report_dir, discovery.project_dir, context.test_env, extra_records=extra,
                                     started_at=started_at, prepared=merge, units=units)
        except (MergeError, OSError, RuntimeError) as exc:
            context.out.write(f"warning: the merged HTML report could not be built: {exc}\n")
            shutil.rmtree(report_dir, ignore_errors=True)
            return None

    def doctor_checks(self, settings: Settings, environ: Mapping[str, str]) -> list[Check]:
        """Node.js and the project's Playwright."""
        from hypertest.plugins.playwright.doctor_checks import playwright_checks

        return playwright_checks(settings, environ)


    def image_inputs(self, project_dir: Path) -> ImageInputs:
        """package.json and its lockfile, installed exactly with `npm ci`."""
        manifest = project_dir / "package.json"
        if not manifest.is_file():
            raise UsageError(f"{project_dir}: no package.json, so the image cannot install @playwright/test")
        locks = [project_dir / name for name in ("package-lock.json", "npm-shrinkwrap.json")
                 if (project_dir / name).is_file()]
        if not locks:
            raise UsageError(f"{project_dir}: no package-lock.json; run `npm install` to create one "
                             "(deploy installs exactly the locked versions with `npm ci`)")
        return ImageInputs(files=tuple((path.name, path.read_bytes()) for path in (manifest, *locks)),
                           installer="npm")

    def describe(self, discovery: CoreDiscovery, settings: Settings) -> list[str]:
        """The web servers and global hooks, which run once per run; the limits the config sets."""
        from hypertest.plugins.playwright.run_level import with_overrides

        own = _own(discovery)
        run_level = with_overrides(own.run_level, web_server_override(settings.test_runner))
        lines = [f"web server (once per run): {server.command}  at {server.address}"
                 for server in run_level.web_servers]
        for hook in (*run_level.global_setups, *run_level.global_teardowns):
            kind = "globalSetup" if hook in run_level.global_setups else "globalTeardown"
            lines.append(f"{kind} (once per run): {os.path.relpath(hook, own.project_dir)}")
        limits: list[str] = own.limits().describe()
        return lines + limits

    def group_label(self, discovery: CoreDiscovery, group: str) -> str:
        """The project's name, and whether it is a setup or teardown project."""
        from hypertest.plugins.playwright.phases import project_role

        return repr(group) + project_role(group, _own(discovery).projects)


def _own(discovery: CoreDiscovery) -> Any:
    from hypertest.plugins.playwright.discovery import Discovery

    if not isinstance(discovery, Discovery):
        raise TypeError(f"the Playwright plugin was given {type(discovery).__name__}, not its own discovery")
    return discovery


PLUGIN: TestRunnerPlugin = PlaywrightPlugin()
