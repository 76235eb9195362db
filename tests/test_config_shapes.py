"""Every config shape Playwright loads, hypertest loads, and the user's code sees the user's config only.

Each fixture in tests/fixtures/config_shapes is a tiny suite (one test fails on purpose) whose config has
one shape: .ts (CommonJS), .cts, .mts, .mjs, a .cjs that exports a promise, .ts in a `"type": "module"`
package, and `esm`: a `"type": "module"` project whose playwright.config.js imports local files and
awaits at top level, with a web server, a globalSetup that fails the run unless `config.projects` is the
user's, a globalTeardown, and a test that checks `testInfo.config.projects`. Each runs with plain
`playwright test` and with `hypertest invoke` (local provider), and the two must agree test by test.
The ESM project also runs on the oldest and a 1.5x Playwright of the version matrix.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runner.node import find_node
from tests.aws.processes import free_port
from tests.conftest import ROOT, SUITE, load_results, validate_run_result
from tests.playwright_report import differences, playwright_outcomes
from tests.playwright_versions import MIDDLE, OLDEST, suite_on_version

pytestmark = pytest.mark.e2e

SHAPES = ROOT / "tests" / "fixtures" / "config_shapes"
CONFIGS = {"ts": "playwright.config.ts", "cts": "playwright.config.cts", "mts": "playwright.config.mts",
           "mjs": "playwright.config.mjs", "cjs_promise": "playwright.config.cjs",
           "ts_esm": "playwright.config.ts", "esm": "playwright.config.js"}
# What the ESM project's run-level parts count (one line each per run); the teardown names the number
# of projects it saw.
ESM_COUNTED = ("webserver", "global-setup", "global-setup-returned-teardown", "global-teardown-2-projects")


@dataclass(frozen=True)
class Runs:
    """One shape run both ways."""

    playwright: subprocess.CompletedProcess[str]
    report: dict[str, Any]  # Playwright's JSON report
    hypertest: subprocess.CompletedProcess[str]
    results: dict[str, Any]  # hypertest's results.json
    counts: dict[str, dict[str, int]]  # per side: lines in each $SHAPES_COUNTS file


def copy_shape(shape: str, target: Path, version: str | None) -> Path:
    """A copy of the shape's fixture with the fixture suite's Playwright (1.65), or `version`'s."""
    source = SHAPES / shape
    if version is not None:
        return suite_on_version(source, target, version)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("node_modules", "test-results"))
    (target / "node_modules").symlink_to(SUITE / "node_modules")
    return target


def environment(base: Path, *, chromium: str | None) -> dict[str, str]:
    """A run's environment: its own port and counts folder, `node` on PATH (the web server's command)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHAPES_") and k not in ("CI", "SUITE_CHROMIUM")}
    env.update({"SHAPES_PORT": str(free_port()), "SHAPES_COUNTS": str(base / "counts"), "FORCE_COLOR": "0",
                "PATH": os.pathsep.join([str(Path(find_node(os.environ)).parent), env.get("PATH", "")])})
    if chromium:
        env["SUITE_CHROMIUM"] = chromium  # plain Playwright cannot download a browser here
    return env


def counted(folder: Path) -> dict[str, int]:
    return {path.stem: len(path.read_text(encoding="utf-8").splitlines()) for path in folder.glob("*.log")}


def run_both(shape: str, base: Path, chromium: str, version: str | None = None) -> Runs:
    """The shape run by plain `playwright test --workers 2`, then by `hypertest invoke` at concurrency 2."""
    direct = copy_shape(shape, base / "direct" / "suite", version)
    env = environment(base / "direct", chromium=chromium)
    report_file = base / "report.json"
    cli = direct / "node_modules" / "@playwright" / "test" / "cli.js"
    playwright = subprocess.run(
        [find_node(os.environ), str(cli), "test", "-c", CONFIGS[shape], "--reporter=json", "--workers=2"],
        cwd=direct, env={**env, "PLAYWRIGHT_JSON_OUTPUT_NAME": str(report_file)},
        check=False, capture_output=True, text=True, timeout=600)
    assert report_file.is_file(), playwright.stdout + playwright.stderr
    hyper = copy_shape(shape, base / "hyper" / "suite", version)
    output = base / "results"
    hypertest = subprocess.run(
        [sys.executable, str(ROOT / "entrypoint.py"), "invoke", "--output", str(output), "--concurrency", "2"],
        cwd=hyper, env=environment(base / "hyper", chromium=None), check=False, capture_output=True, text=True,
        timeout=900)
    runs = [p for p in output.iterdir() if (p / "results.json").is_file()] if output.is_dir() else []
    assert runs, hypertest.stdout + hypertest.stderr
    return Runs(playwright, json.loads(report_file.read_text(encoding="utf-8")), hypertest, load_results(output),
                {"playwright": counted(base / "direct" / "counts"), "hypertest": counted(base / "hyper" / "counts")})


def assert_same_outcomes(runs: Runs, total: int) -> None:
    """Both runs fail (a test fails on purpose), and agree on every test's status and outcome."""
    expected = playwright_outcomes(runs.report)
    assert runs.report["errors"] == [], runs.report["errors"]
    assert len(expected) == total
    assert {outcome for _, outcome in expected.values()} == {"expected", "unexpected"}
    assert runs.playwright.returncode == 1, runs.playwright.stdout + runs.playwright.stderr
    assert runs.hypertest.returncode == 1, runs.hypertest.stdout + runs.hypertest.stderr
    assert differences(runs.results["tests"], expected) == []
    validate_run_result(runs.results)


@pytest.mark.parametrize("shape", ["ts", "cts", "mts", "mjs", "cjs_promise", "ts_esm"])
def test_each_config_shape_runs_as_under_playwright(shape: str, tmp_path: Path, chromium: str) -> None:
    """Two projects x three tests; two tests read the config (projects, metadata from a local import)."""
    runs = run_both(shape, tmp_path, chromium)
    assert_same_outcomes(runs, 6)
    failed = sorted((r["project"], r["titlePath"][-1]) for r in runs.results["tests"] if r["status"] != "passed")
    assert failed == [("first", "fails on purpose"), ("second", "fails on purpose")]


@pytest.mark.parametrize("version", [None, OLDEST, MIDDLE], ids=["1.65", OLDEST, MIDDLE])
def test_an_esm_project_with_run_level_parts_runs_as_under_playwright(
        version: str | None, tmp_path: Path, chromium: str) -> None:
    """The globalSetup fails the run unless it sees exactly the user's projects; a test checks
    `testInfo.config.projects` and what the globalSetup saw; each run-level part runs once per run."""
    runs = run_both("esm", tmp_path, chromium, version)
    assert_same_outcomes(runs, 4)
    assert runs.counts["playwright"] == dict.fromkeys(ESM_COUNTED, 1)
    assert runs.counts["hypertest"] == dict.fromkeys(ESM_COUNTED, 1)
    title = ["sees the config projects and what globalSetup saw"]
    seen = next(r for r in runs.results["tests"] if r["titlePath"] == title)
    assert seen["status"] == "passed", seen


def test_a_typescript_esm_project_runs_on_the_oldest_playwright(tmp_path: Path, chromium: str) -> None:
    runs = run_both("ts_esm", tmp_path, chromium, OLDEST)
    assert_same_outcomes(runs, 6)
