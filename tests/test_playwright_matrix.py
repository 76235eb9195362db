"""The Playwright version matrix: the same small suite (tests/fixtures/matrix_suite) run on the oldest release
hypertest supports, one of the 1.5x range and the newest, with plain `playwright test` and with `hypertest
invoke`, its units in the warm host and (HT_WARM_RUNNER=0) on Playwright's command line; test by test, all
report the same. Each version also lists the tests each tricky unit's own selection
names (its --test-list or its grep), which must be exactly the unit's tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hypertest.core import config as config_model
from hypertest.plugins.playwright.discovery import LIST_REPORTER, discover
from hypertest.plugins.playwright.units import build_units, selectors_of
from runner import payload as payload_model
from runner.node import find_node
from runner.playwright.selection import GREP, TEST_LIST, prefix_test_list, select
from tests.conftest import ROOT, load_results, validate_run_result
from tests.playwright_report import differences, playwright_outcomes
from tests.playwright_versions import MATRIX, SHAPES, suite_on_version

pytestmark = pytest.mark.e2e

MATRIX_SUITE = ROOT / "tests" / "fixtures" / "matrix_suite"
CLI = Path("node_modules") / "@playwright" / "test" / "cli.js"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


@pytest.fixture(scope="module", params=MATRIX)
def runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, chromium: str) -> dict[str, Any]:
    """The matrix suite on one Playwright version: plainly with two workers, and through hypertest."""
    version = str(request.param)
    base = tmp_path_factory.mktemp(f"matrix-{version}")
    direct_dir = suite_on_version(MATRIX_SUITE, base / "direct", version)
    env = {**os.environ, "SUITE_CHROMIUM": chromium, "PLAYWRIGHT_JSON_OUTPUT_NAME": str(base / "direct.json"),
           "FORCE_COLOR": "0"}
    subprocess.run([find_node(os.environ), str(direct_dir / CLI), "test", "--reporter=json", "--workers=2"],
                   cwd=direct_dir, env=env, check=False, capture_output=True, timeout=600)
    direct = json.loads((base / "direct.json").read_text(encoding="utf-8"))
    return {"version": version, "direct": direct, **_invoke(base / "hyper", version, {})}


# The cold run's settings: what it checks is each unit's outcome from Playwright's command line, so it runs one
# unit per file (4, not 17: each costs a Node.js and Playwright start) and makes no HTML report (the warm run's
# is checked).
COLD_SETTINGS = "testRunner:\n  type: playwright\n  granularity: file\nreporters: [console]\n"


@pytest.fixture(scope="module")
def cold(runs: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same suite through hypertest with the warm runner off (HT_WARM_RUNNER=0): Playwright's command line
    for every unit."""
    base = tmp_path_factory.mktemp(f"matrix-cold-{runs['version']}")
    return {"version": runs["version"], "direct": runs["direct"],
            **_invoke(base / "hyper", runs["version"], {"HT_WARM_RUNNER": "0"}, COLD_SETTINGS)}


def _invoke(folder: Path, version: str, switches: dict[str, str], settings: str = "") -> dict[str, Any]:
    """`hypertest invoke` on a copy of the matrix suite on `version` (with a hypertest.yml when settings are
    given): its results, how it ended, its folder."""
    hyper_dir = suite_on_version(MATRIX_SUITE, folder, version)
    if settings:
        (hyper_dir / "hypertest.yml").write_text(settings, encoding="utf-8")
    output = folder.parent / f"results-{folder.name}"
    env = {**{k: v for k, v in os.environ.items() if k != "SUITE_CHROMIUM"}, **switches}
    completed = subprocess.run(
        [sys.executable, str(ROOT / "entrypoint.py"), "invoke", "--output", str(output), "--concurrency", "2"],
        cwd=hyper_dir, env=env, check=False, capture_output=True, text=True, timeout=900)
    return {"hyper": load_results(output), "completed": completed, "dir": hyper_dir}


def test_every_outcome_matches_plain_playwright(runs: dict[str, Any]) -> None:
    expected = playwright_outcomes(runs["direct"])
    assert len(expected) == 24, sorted(expected)
    assert differences(runs["hyper"]["tests"], expected) == [], runs["completed"].stdout[-3000:]
    assert runs["completed"].returncode == 1  # tests failed, as in the plain run
    assert runs["hyper"]["playwrightVersion"] == runs["version"]
    assert all(record["status"] != "error" for record in runs["hyper"]["tests"])


def test_with_the_warm_runner_off_every_outcome_matches_plain_playwright_too(cold: dict[str, Any]) -> None:
    assert differences(cold["hyper"]["tests"], playwright_outcomes(cold["direct"])) == [], \
        cold["completed"].stdout[-3000:]
    assert cold["completed"].returncode == 1
    assert {unit["runPath"] for unit in cold["hyper"]["units"]} == {"command line"}


def test_units_run_in_the_warm_host_their_playwright_allows(runs: dict[str, Any]) -> None:
    """Each release runs its units in a host of its shape (runner/playwright/warm_api.cjs): the oldest "loader
    class", 1.56 "config fields" (selected by grep: its test list does not match prefixes), the newest "options"."""
    [shape] = [name for name, version in SHAPES.items() if version == runs["version"]]
    assert {unit["runPath"] for unit in runs["hyper"]["units"]} == {f"warm host ({shape})"}


def test_records_attachments_and_report(runs: dict[str, Any]) -> None:
    result = runs["hyper"]
    validate_run_result(result)
    by_title = {(r["project"], tuple(r["titlePath"])): r for r in result["tests"]}
    attached = by_title[("main", ("attaches a file",))]
    assert [a["name"] for a in attached["artifacts"]] == ["note"]
    flaky = by_title[("main", ("is flaky: fails first, passes on retry",))]
    assert [a["status"] for a in flaky["attempts"]] == ["failed", "passed"]
    serial = [by_title[("main", ("a serial group", title))] for title in
              ("first step", "second step fails", "third step never runs")]
    assert len({r["unitId"] for r in serial}) == 1
    joined = [by_title[("main", titles)] for titles in (("joined", "a b"), ("joined a", "b"))]
    assert len({r["unitId"] for r in joined}) == 1  # one grep pattern cannot tell them apart
    assert Path(result["reports"]["html"]).is_file()


def test_each_units_selection_names_exactly_its_tests(runs: dict[str, Any]) -> None:
    project = runs["dir"]
    cli = project / CLI
    prefixes = _version(runs["version"]) >= (1, 58)
    assert prefix_test_list(cli) is prefixes  # --test-list from 1.56, as prefixes from 1.58
    settings = config_model.TestRunnerSettings(type="playwright", config=project / "playwright.config.ts",
                                               projects=(), granularity="test", retries=None, grep=None,
                                               grep_invert=None, tags=())
    discovery = discover(settings)
    units = build_units(discovery.tests, "test")
    tricky = [u for u in units if u.tests[0].file != "outcomes.spec.ts"]
    assert len(tricky) == 7  # titles.spec.ts: 5 (the joined pair in one), unnameable.spec.ts: 1 per project
    for number, unit in enumerate(tricky):
        tests = [payload_model.TestRef(t.id, t.project, t.file, t.title_path, t.repeat_each_index or 0)
                 for t in unit.tests]
        selectors = [payload_model.Selector(s.project, s.file, s.title_path) for s in selectors_of(unit.tests)]
        selection = select(cli, tests, selectors)
        assert selection.form == (TEST_LIST if prefixes else GREP)
        options = list(selection.options)
        if selection.form == TEST_LIST:
            test_list = project / f"unit-{number}.txt"
            test_list.write_text(selection.list_text, encoding="utf-8")
            options += ["--test-list", str(test_list)]
        listed = _listed(project, options)
        assert listed == sorted((t.project, t.file, t.title_path) for t in unit.tests), selection


def _listed(project: Path, options: list[str]) -> list[tuple[str, str, tuple[str, ...]]]:
    output = project / "listed.json"
    env = {**os.environ, "HT_LIST_OUTPUT": str(output), "FORCE_COLOR": "0"}
    completed = subprocess.run(
        [find_node(os.environ), str(project / CLI), "test", "--list", f"--reporter={LIST_REPORTER}", *options],
        cwd=project, env=env, check=False, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    document = json.loads(output.read_text(encoding="utf-8"))
    return sorted((t["project"], t["file"], tuple(t["titlePath"])) for t in document["tests"])
