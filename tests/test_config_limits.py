"""Limits a Playwright config sets, honoured by the dispatcher on every provider: a project's `workers`
(its units never run more at once than that, while other projects' units keep the other slots busy) and
`maxFailures` (no unit starts after that many failed tests; the rest are reported as Playwright reports
tests it did not run; teardown projects run anyway).

The in-process tests assert on overlap recorded with counters, barriers and events (bounded waits, no
timing). The e2e tests run tests/fixtures/limits_suite with plain Playwright and with `hypertest invoke`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hypertest.core.dispatcher import Dispatcher, UnitOutcome
from hypertest.core.limits import FailureBudget, RunLimits, settle_interrupted_unit, settle_stopped_unit
from hypertest.core.suite import TestCase, Unit
from hypertest.plugins.playwright.run_level import RunLevel, parse_projects, parse_run_level, run_limits
from runner.node import find_node
from runner.wrapper_config import SETTINGS_VARIABLE, WRAPPER_CONFIG, WrapperSettings, render_wrapper_settings
from tests.conftest import ROOT, SUITE, load_results, small_project, validate_run_result
from tests.playwright_report import differences, playwright_outcomes

LIMITS = ROOT / "tests" / "fixtures" / "limits_suite"
WAIT_S = 20.0  # the longest any in-process wait may take before the test fails


def copy_limits(target: Path) -> Path:
    """A copy of the limits suite whose node_modules is a link to the fidelity suite's (Playwright 1.65.1)."""
    shutil.copytree(LIMITS, target, ignore=shutil.ignore_patterns("node_modules", "test-results", "state"))
    (target / "node_modules").symlink_to(SUITE / "node_modules")
    return target


def unit_of(project: str, name: str) -> Unit:
    test = TestCase(id=f"{project}-{name}", project=project, file="a.spec.ts", line=1, column=1,
                    title_path=(name,), tags=(), expected_status="passed", serial_group=None)
    return Unit(id=f"u-{project}-{name}", tests=(test,))


class Overlap:
    """Counts the units of each project running at once, and the most there ever were."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running: dict[str, int] = defaultdict(int)
        self.peak: dict[str, int] = defaultdict(int)
        self.ran: list[str] = []

    def enter(self, unit: Unit) -> None:
        project = unit.tests[0].project
        with self._lock:
            self.running[project] += 1
            self.peak[project] = max(self.peak[project], self.running[project])
            self.ran.append(unit.id)

    def leave(self, unit: Unit) -> None:
        with self._lock:
            self.running[unit.tests[0].project] -= 1


def ok(unit: Unit) -> dict[str, Any]:
    return {"status": "ok", "tests": [{"id": t.id, "status": "passed", "outcome": "expected",
                                       "attempts": [{"retry": 0, "status": "passed"}]} for t in unit.tests]}


# The dispatcher: a group's limit, and every other slot busy.

def test_a_limited_project_runs_one_unit_at_a_time_while_others_fill_the_slots() -> None:
    """database (workers: 1) units wait until every free unit finished: possible only if the free units
    run on the two other slots meanwhile; free units meet in pairs, so two of them ran at once."""
    overlap, free_done = Overlap(), threading.Event()
    pairs = threading.Barrier(2, timeout=WAIT_S)
    free_left = [4]
    lock = threading.Lock()

    def execute(unit: Unit) -> Mapping[str, Any]:
        overlap.enter(unit)
        try:
            if unit.tests[0].project == "database":
                assert free_done.wait(WAIT_S), "the free units did not run while a database unit held its slot"
            else:
                pairs.wait()  # a BrokenBarrierError (an error result) unless two free units run at once
                with lock:
                    free_left[0] -= 1
                    if not free_left[0]:
                        free_done.set()
            return ok(unit)
        finally:
            overlap.leave(unit)

    units = [unit_of("database", f"d{n}") for n in range(3)] + [unit_of("free", f"f{n}") for n in range(4)]
    outcomes = Dispatcher(execute, 3, limits={"database": 1}).run(units)
    assert [o.result["status"] for o in outcomes] == ["ok"] * 7
    assert [o.unit.id for o in outcomes] == [u.id for u in units]
    assert overlap.peak == {"database": 1, "free": 2}
    assert overlap.ran[0] == units[0].id  # the first unit in order starts first, as in Playwright


def test_without_the_limit_the_same_units_overlap() -> None:
    """The control: with no limit, three database units meet at a barrier of three (they ran at once)."""
    overlap, together = Overlap(), threading.Barrier(3, timeout=WAIT_S)

    def execute(unit: Unit) -> Mapping[str, Any]:
        overlap.enter(unit)
        try:
            together.wait()
            return ok(unit)
        finally:
            overlap.leave(unit)

    outcomes = Dispatcher(execute, 3).run([unit_of("database", f"d{n}") for n in range(3)])
    assert [o.result["status"] for o in outcomes] == ["ok"] * 3
    assert overlap.peak["database"] == 3


def test_a_limit_of_two_allows_exactly_two() -> None:
    overlap, pairs = Overlap(), threading.Barrier(2, timeout=WAIT_S)

    def execute(unit: Unit) -> Mapping[str, Any]:
        overlap.enter(unit)
        try:
            pairs.wait()
            return ok(unit)
        finally:
            overlap.leave(unit)

    outcomes = Dispatcher(execute, 4, limits={"database": 2}).run([unit_of("database", f"d{n}") for n in range(6)])
    assert [o.result["status"] for o in outcomes] == ["ok"] * 6
    assert overlap.peak["database"] == 2


def test_stop_wakes_the_slots_waiting_for_a_limited_group() -> None:
    """maxFailures stops the run from on_end while two slots wait for the database's one place."""
    ran: list[str] = []
    dispatcher: Dispatcher

    def ended(outcome: UnitOutcome) -> None:
        dispatcher.stop()

    def execute(unit: Unit) -> Mapping[str, Any]:
        ran.append(unit.id)
        return ok(unit)

    dispatcher = Dispatcher(execute, 3, limits={"database": 1}, on_end=ended)
    result: list[list[UnitOutcome]] = []
    thread = threading.Thread(target=lambda: result.append(dispatcher.run(
        [unit_of("database", f"d{n}") for n in range(3)])), daemon=True)
    thread.start()
    thread.join(WAIT_S)
    assert not thread.is_alive(), "the waiting slots were not woken by stop()"
    assert [o.unit.id for o in result[0]] == ran == ["u-database-d0"]
    assert dispatcher.stopped()


# maxFailures: counted as Playwright counts.

def record(status: str, outcome: str) -> dict[str, Any]:
    return {"id": f"{status}-{outcome}", "status": status, "outcome": outcome, "attempts": [{"status": status}]}


def test_a_test_counts_once_when_it_failed_after_its_retries_and_flaky_ones_do_not() -> None:
    budget = FailureBudget(2)
    assert budget.add([record("passed", "flaky"), record("failed", "expected"), record("skipped", "skipped")]) is False
    assert budget.add([record("interrupted", "unexpected")]) is False  # Playwright's interrupted is not a failure
    assert budget.add([record("failed", "unexpected")]) is False
    assert (budget.failed, budget.max_failures) == (1, 2)
    assert budget.add([record("timedOut", "unexpected"), record("passed", "unexpected")]) is True  # test.fail() passed
    assert budget.reached and budget.failed == 3
    assert budget.add([record("failed", "unexpected")]) is False  # said once
    assert FailureBudget(0).add([record("failed", "unexpected")] * 5) is False  # no limit


def test_a_unit_stopped_by_its_own_max_failures_reports_the_rest_as_not_run() -> None:
    error = {**record("error", "unexpected"), "id": "later"}
    failed = record("failed", "unexpected")
    settled = settle_stopped_unit([failed, error], 1)
    assert settled[0] is failed
    assert (settled[1]["id"], settled[1]["status"], settled[1]["outcome"]) == ("later", "skipped", "skipped")
    assert "maxFailures" in settled[1]["annotations"][0]["description"]
    assert settle_stopped_unit([failed, error], 2) == [failed, error]  # the unit did not reach it: a real error
    assert settle_stopped_unit([error, error], 1) == [error, error]  # a crash is not a stop


# The limits, from the config as discovery lists it.

def test_limits_from_the_listing() -> None:
    listed: list[Any] = [
        {"name": "setup", "teardown": "cleanup", "workers": None},
        {"name": "cleanup"},
        {"name": "database", "dependencies": ["setup"], "workers": 1},
        {"name": "free", "workers": 0},
    ]
    projects = parse_projects(listed)
    assert [p.workers for p in projects] == [None, None, 1, None]
    run_level = parse_run_level({"webServers": [], "globalSetups": [], "globalTeardowns": [], "maxFailures": 3})
    assert run_level.max_failures == 3
    limits = run_limits(projects, run_level)
    assert limits == RunLimits(group_workers={"database": 1}, max_failures=3, exempt_groups=frozenset({"cleanup"}))
    assert limits.describe() == [
        "project 'database': at most 1 unit at a time (its workers: 1); other projects use the remaining slots",
        "maxFailures 3: no unit starts after 3 failed tests; the tests not started are reported skipped "
        "(did not run) (teardown projects still run: cleanup)"]
    assert run_limits(projects, RunLevel()).exempt_groups == frozenset()  # no maxFailures: nothing to exempt
    assert RunLimits().describe() == []


@pytest.mark.integration
def test_discovery_reads_the_limits_of_a_real_config(tmp_path: Path) -> None:
    from hypertest.core.load import load_settings

    folder = copy_limits(tmp_path / "suite")
    (folder / "hypertest.yml").write_text("testRunner:\n  type: playwright\n  config: max-failures.config.ts\n")
    stop = _discover(load_settings(folder / "hypertest.yml", folder))
    assert stop.limits() == RunLimits(max_failures=2, exempt_groups=frozenset({"cleanup"}))
    (folder / "hypertest.yml").write_text("testRunner:\n  type: playwright\n")
    workers = _discover(load_settings(folder / "hypertest.yml", folder))
    assert workers.limits() == RunLimits(group_workers={"database": 1})
    assert [p.workers for p in workers.projects] == [1, None]


def _discover(settings: Any) -> Any:
    from hypertest.plugins.playwright.discovery import discover

    return discover(settings.test_runner, os.environ)


@pytest.mark.integration
def test_list_names_the_limits(tmp_path: Path, cli: Any) -> None:
    folder = copy_limits(tmp_path / "suite")
    listed = cli("list", cwd=folder)
    assert listed.code == 0, listed.err
    assert ("project 'database': at most 1 unit at a time (its workers: 1); other projects use the remaining "
            "slots") in listed.out.splitlines()
    (folder / "hypertest.yml").write_text("testRunner:\n  type: playwright\n  config: max-failures.config.ts\n")
    listed = cli("list", cwd=folder)
    lines = listed.out.splitlines()
    assert any(line.startswith("maxFailures 2: no unit starts after 2 failed tests") for line in lines)


# End to end: plain Playwright and hypertest on tests/fixtures/limits_suite.

@dataclass(frozen=True)
class Run:
    """One run of a copy of the limits suite."""

    folder: Path
    state: Path  # $LIMITS_STATE: the database lock and the tests' intervals
    completed: subprocess.CompletedProcess[str]
    output: Path  # hypertest: its --output; Playwright: its JSON report

    def intervals(self) -> list[dict[str, Any]]:
        lines = (self.state / "intervals.jsonl").read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines]


def suite_env(base: Path, chromium: str | None) -> tuple[dict[str, str], Path]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "SUITE_CHROMIUM", "LIMITS_STATE")}
    env.update({"LIMITS_STATE": str(base / "state"), "FORCE_COLOR": "0"})
    if chromium:
        env["SUITE_CHROMIUM"] = chromium
    return env, base / "state"


def playwright_run(base: Path, chromium: str, config: str, workers: int) -> Run:
    folder = copy_limits(base / "suite")
    env, state = suite_env(base, chromium)
    report = base / "report.json"
    cli = folder / "node_modules" / "@playwright" / "test" / "cli.js"
    argv = [find_node(os.environ), str(cli), "test", "-c", config, "--reporter=json", f"--workers={workers}"]
    completed = subprocess.run(argv, cwd=folder, env={**env, "PLAYWRIGHT_JSON_OUTPUT_NAME": str(report)},
                               check=False, capture_output=True, text=True, timeout=300)
    return Run(folder, state, completed, report)


def hypertest_run(base: Path, config: str, concurrency: int) -> Run:
    folder = copy_limits(base / "suite")
    (folder / "hypertest.yml").write_text(f"testRunner:\n  type: playwright\n  config: {config}\n")
    env, state = suite_env(base, None)
    completed = subprocess.run([sys.executable, str(ROOT / "entrypoint.py"), "invoke", "--output", str(base / "out"),
                                "--concurrency", str(concurrency)], cwd=folder, env=env, check=False,
                               capture_output=True, text=True, timeout=900)
    return Run(folder, state, completed, base / "out")


def report_of(run: Run) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(run.output.read_text(encoding="utf-8"))
    return report


# What `playwright test -c max-failures.config.ts --workers 1` reports: (project, file, title) -> (status, outcome).
STOPPED_AFTER_TWO = {
    ("setup", "prepare.setup.ts", ("prepares",)): ("passed", "expected"),
    ("cleanup", "cleanup.teardown.ts", ("cleans up",)): ("passed", "expected"),
    ("checks", "a-first.spec.ts", ("is flaky: fails on its first attempt",)): ("passed", "flaky"),
    ("checks", "a-first.spec.ts", ("fails every time",)): ("failed", "unexpected"),
    ("checks", "a-first.spec.ts", ("passes",)): ("passed", "expected"),
    ("checks", "a-first.spec.ts", ("is expected to fail",)): ("failed", "expected"),
    ("checks", "a-first.spec.ts", ("fails as well",)): ("failed", "unexpected"),
    ("checks", "a-first.spec.ts", ("would pass",)): ("skipped", "skipped"),
    ("checks", "a-first.spec.ts", ("would fail",)): ("skipped", "skipped"),
    ("checks", "b-later.spec.ts", ("never starts",)): ("skipped", "skipped"),
    ("checks", "b-later.spec.ts", ("never starts either, and would fail",)): ("skipped", "skipped"),
    ("checks", "b-later.spec.ts", ("is skipped",)): ("skipped", "skipped"),
}


@pytest.fixture(scope="module")
def plain_stop(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Run:
    return playwright_run(tmp_path_factory.mktemp("limits-plain-stop"), chromium, "max-failures.config.ts", 1)


@pytest.fixture(scope="module")
def hyper_stop(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return hypertest_run(tmp_path_factory.mktemp("limits-hyper-stop"), "max-failures.config.ts", 1)


@pytest.mark.e2e
def test_plain_playwright_stops_after_two_failures(plain_stop: Run) -> None:
    assert plain_stop.completed.returncode == 1, plain_stop.completed.stderr
    report = report_of(plain_stop)
    assert playwright_outcomes(report) == STOPPED_AFTER_TWO
    assert [e["message"] for e in report["errors"]] == ["Testing stopped early after 2 maximum allowed failures."]


@pytest.mark.e2e
def test_hypertest_at_concurrency_one_matches_playwright_test_by_test(plain_stop: Run, hyper_stop: Run) -> None:
    said = hyper_stop.completed.stdout + hyper_stop.completed.stderr
    assert hyper_stop.completed.returncode == 1, said
    result = load_results(hyper_stop.output)
    validate_run_result(result)
    assert differences(result["tests"], playwright_outcomes(report_of(plain_stop))) == []
    assert "testing stopped early after 2 maximum allowed failures" in said
    not_run = [r for r in result["tests"] if r["status"] == "skipped" and r["titlePath"] != ["is skipped"]]
    assert len(not_run) == 4
    assert all("maxFailures" in r["annotations"][0]["description"] for r in not_run)
    assert not any(set(u["tests"]) & {r["id"] for r in not_run} for u in result["units"])  # never dispatched


@pytest.mark.e2e
def test_hypertest_at_concurrency_two_keeps_the_invariants(tmp_path: Path) -> None:
    """Which tests run before the stop depends on timing: every test once, at most two failures plus the
    one unit that may be running beside the second, the rest not run, the teardown run, exit code 1."""
    run = hypertest_run(tmp_path, "max-failures.config.ts", 2)
    assert run.completed.returncode == 1, run.completed.stdout + run.completed.stderr
    result = load_results(run.output)
    validate_run_result(result)
    keys = [(r["project"], r["file"], tuple(r["titlePath"])) for r in result["tests"]]
    assert sorted(keys) == sorted(STOPPED_AFTER_TWO)
    failed = [r for r in result["tests"] if r["outcome"] == "unexpected"]
    assert 2 <= len(failed) <= 3 and all(r["status"] == "failed" for r in failed)
    dispatched = {test for unit in result["units"] for test in unit["tests"]}
    for record in result["tests"]:
        if record["id"] not in dispatched:
            assert (record["status"], record["outcome"]) == ("skipped", "skipped"), record
    by_title = {r["titlePath"][0]: r for r in result["tests"]}
    assert by_title["cleans up"]["status"] == "passed"
    assert by_title["never starts either, and would fail"]["status"] == "skipped"  # the last file never starts


@pytest.fixture(scope="module")
def plain_workers(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Run:
    return playwright_run(tmp_path_factory.mktemp("limits-plain-workers"), chromium, "playwright.config.ts", 3)


@pytest.fixture(scope="module")
def hyper_workers(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return hypertest_run(tmp_path_factory.mktemp("limits-hyper-workers"), "playwright.config.ts", 3)


def disjoint(intervals: list[tuple[float, float]]) -> bool:
    ordered = sorted(intervals)
    return all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(ordered))


@pytest.mark.e2e
def test_project_workers_hypertest_matches_playwright(plain_workers: Run, hyper_workers: Run) -> None:
    assert plain_workers.completed.returncode == 0, plain_workers.completed.stdout
    assert hyper_workers.completed.returncode == 0, hyper_workers.completed.stdout + hyper_workers.completed.stderr
    result = load_results(hyper_workers.output)
    validate_run_result(result)
    expected = playwright_outcomes(report_of(plain_workers))
    assert set(expected.values()) == {("passed", "expected")} and len(expected) == 6
    assert differences(result["tests"], expected) == []


@pytest.mark.e2e
def test_database_units_never_overlap_and_free_units_run_beside_them(hyper_workers: Run) -> None:
    tests = [i for i in hyper_workers.intervals() if i["project"] == "database"]
    assert len(tests) == 3 and disjoint([(i["start"], i["end"]) for i in tests])
    result = load_results(hyper_workers.output)
    project_of = {r["id"]: r["project"] for r in result["tests"]}

    def span(unit: Mapping[str, Any]) -> tuple[float, float]:
        start = dt.datetime.fromisoformat(unit["startedAt"].replace("Z", "+00:00")).timestamp()
        return start, start + unit["durationMs"] / 1000

    units: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for unit in result["units"]:
        units[project_of[unit["tests"][0]]].append(span(unit))
    assert len(units["database"]) == 3 and disjoint(units["database"])
    # no global slow-down: the dispatcher gave the other slots to free units while the first database unit ran
    assert any(f[0] < d[1] and d[0] < f[1] for f in units["free"] for d in units["database"])


# maxFailures with units running side by side: the units running at the stop are interrupted (local).

def test_a_unit_cut_short_by_the_stop_reports_its_unfinished_tests_interrupted() -> None:
    finished = record("passed", "expected")
    cut = {**record("interrupted", "unexpected"), "attempts": [
        {"retry": 0, "status": "failed", "error": None, "errors": []},
        {"retry": 1, "status": "interrupted", "error": {"message": "the run was interrupted"}, "errors": []}]}
    settled = settle_interrupted_unit([finished, cut], 2)
    assert settled[0] is finished
    assert (settled[1]["status"], settled[1]["outcome"]) == ("interrupted", "skipped")  # as Playwright reports it
    assert [a["status"] for a in settled[1]["attempts"]] == ["failed", "interrupted"]  # the first attempt kept
    assert settled[1]["attempts"][1]["error"]["message"] == (
        "interrupted: testing stopped early after 2 maximum allowed failures (maxFailures)")


def test_a_unit_starts_with_the_failures_the_run_still_allows() -> None:
    budget = FailureBudget(3)
    assert budget.remaining == 3
    budget.add([record("failed", "unexpected"), record("timedOut", "unexpected")])
    assert budget.remaining == 1
    budget.add([record("failed", "unexpected")] * 2)
    assert budget.remaining == 1 and budget.reached  # never 0: a unit that starts still runs one test
    assert FailureBudget(0).remaining is None


def test_the_unit_config_takes_the_failures_left_over_the_users(tmp_path: Path) -> None:
    """The wrapper config, evaluated by Node: maxFailures from the unit's settings, else the user's."""
    user = tmp_path / "user.config.cjs"
    user.write_text("module.exports = { testDir: 'tests', maxFailures: 5 };\n")
    shown = []
    for left in (1, None):
        settings = tmp_path / f"settings-{left}.json"
        settings.write_text(render_wrapper_settings(WrapperSettings(
            user_config=user, output_dir=tmp_path / "out", blob_dir=tmp_path / "blob", blob_name="b.zip",
            result_reporter=tmp_path / "reporter.cjs", forced_chromium=None, fallback_chromium="/bin/true",
            chromium_args=(), max_failures=left)))
        completed = subprocess.run(
            [find_node(os.environ), "-e", "console.log(require(process.argv[1]).maxFailures)", str(WRAPPER_CONFIG)],
            capture_output=True, text=True, check=True, timeout=60,
            env={**os.environ, SETTINGS_VARIABLE: str(settings)})
        shown.append(completed.stdout.strip())
    assert shown == ["1", "5"]


STOP_CONFIG = """import { defineConfig } from '@playwright/test';
export default defineConfig({
  testDir: './tests', fullyParallel: true, maxFailures: 1, timeout: 90000, reporter: 'list',
  use: { launchOptions: process.env.SUITE_CHROMIUM ? { executablePath: process.env.SUITE_CHROMIUM } : {} },
});
"""
# `fails` fails only once `runs long` is running (it waits for its mark), so the stop finds it running.
STOP_SPEC = """import { test, expect } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';
const mark = path.join(process.env.STOP_MARKS!, 'running');
test('runs long', async () => {
  fs.writeFileSync(mark, 'yes');
  await new Promise((resolve) => setTimeout(resolve, 60000));
});
test('fails', async () => {
  await expect.poll(() => fs.existsSync(mark), { timeout: 60000 }).toBe(true);
  expect(1).toBe(2);
});
"""


@pytest.mark.e2e
def test_the_test_running_when_max_failures_stops_the_run_is_interrupted(tmp_path: Path, chromium: str) -> None:
    project = small_project(tmp_path / "stop", STOP_CONFIG, {"tests/stop.spec.ts": STOP_SPEC})
    outcomes = {}
    for side in ("playwright", "hypertest"):
        marks = tmp_path / f"marks-{side}"
        marks.mkdir()
        env = {**os.environ, "STOP_MARKS": str(marks), "FORCE_COLOR": "0"}
        if side == "playwright":
            report = tmp_path / "report.json"
            cli = project / "node_modules" / "@playwright" / "test" / "cli.js"
            completed = subprocess.run(
                [find_node(os.environ), str(cli), "test", "--reporter=json", "--workers=2"], cwd=project,
                env={**env, "SUITE_CHROMIUM": chromium, "PLAYWRIGHT_JSON_OUTPUT_NAME": str(report)},
                check=False, capture_output=True, text=True, timeout=300)
            outcomes[side] = playwright_outcomes(json.loads(report.read_text(encoding="utf-8")))
        else:
            completed = subprocess.run(
                [sys.executable, str(ROOT / "entrypoint.py"), "invoke", "--output", str(tmp_path / "out"),
                 "--concurrency", "2"], cwd=project, env=env, check=False, capture_output=True, text=True,
                timeout=300)
            result = load_results(tmp_path / "out")
            validate_run_result(result)
            outcomes[side] = {(r["project"], r["file"], tuple(r["titlePath"])): (r["status"], r["outcome"])
                              for r in result["tests"]}
            assert "the running units were stopped" in completed.stdout, completed.stdout + completed.stderr
        assert completed.returncode == 1, completed.stdout + completed.stderr
    assert outcomes["hypertest"] == outcomes["playwright"] == {
        ("", "stop.spec.ts", ("runs long",)): ("interrupted", "skipped"),
        ("", "stop.spec.ts", ("fails",)): ("failed", "unexpected")}
