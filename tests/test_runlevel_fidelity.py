"""Fidelity of the run-level parts: hypertest runs them once per run, as `playwright test` does.

The suite in tests/fixtures/runlevel has a web server, globalSetup (returning a teardown) and
globalTeardown, a setup project with a teardown project, per-project retries, repeatEach, and a
failing setup project whose dependents never run. Each run-level part appends one line to a file
in $RUNLEVEL_COUNTS. The suite runs once directly with Playwright and twice with hypertest (at
concurrency 2, and at 4 with CI=1), each in its own copy, counts folder and port, one after the other.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runner.node import find_node
from tests.aws.processes import free_port
from tests.conftest import ROOT, copy_suite, load_results, validate_run_result
from tests.playwright_report import Key, differences

pytestmark = pytest.mark.e2e

RUNLEVEL = ROOT / "tests" / "fixtures" / "runlevel"
# Every run-level part of the suite, by the file it counts itself in: one line each per run.
COUNTED = ("webserver", "global-setup", "global-setup-returned-teardown", "global-teardown", "setup-project",
           "teardown-project")
# What `playwright test --workers 2` reports for the suite: (project, file, title path, repeatEachIndex)
# -> (status of the last result, outcome). Tests that never ran have no result: "skipped".
PLAYWRIGHT_SAYS: dict[tuple[str, str, tuple[str, ...], int], tuple[str, str]] = {
    ("setup", "auth.setup.ts", ("sign in",), 0): ("passed", "expected"),
    ("cleanup", "cleanup.teardown.ts", ("sign out",), 0): ("passed", "expected"),
    ("app", "app/account.spec.ts", ("shows the signed-in user",), 0): ("passed", "expected"),
    ("app", "app/account.spec.ts", ("stays signed in after a reload",), 0): ("passed", "expected"),
    ("app", "app/account.spec.ts", ("carries the session cookie",), 0): ("passed", "expected"),
    ("app", "app/account.spec.ts", ("an anonymous request is refused",), 0): ("passed", "expected"),
    ("app", "app/global.spec.ts", ("sees what globalSetup left",), 0): ("passed", "expected"),
    ("app", "app/outcomes.spec.ts", ("is flaky: fails first, passes on retry",), 0): ("passed", "flaky"),
    ("app", "app/outcomes.spec.ts", ("fails every time",), 0): ("failed", "unexpected"),
    ("app", "app/outcomes.spec.ts", ("is skipped",), 0): ("skipped", "skipped"),
    ("app", "app/output.spec.ts", ("has its output folder under test-results",), 0): ("passed", "expected"),
    ("app", "app/output.spec.ts", ("writes relative to the project folder",), 0): ("passed", "expected"),
    ("app", "app/serial.spec.ts", ("flaky serial group", "step one"), 0): ("passed", "expected"),
    ("app", "app/serial.spec.ts", ("flaky serial group", "step two fails once"), 0): ("passed", "flaky"),
    ("app", "app/serial.spec.ts", ("flaky serial group", "step three"), 0): ("passed", "expected"),
    ("app", "app/serial.spec.ts", ("broken serial group", "opens"), 0): ("passed", "expected"),
    ("app", "app/serial.spec.ts", ("broken serial group", "always fails"), 0): ("failed", "unexpected"),
    ("app", "app/serial.spec.ts", ("broken serial group", "never reached"), 0): ("skipped", "skipped"),
    ("app", "app/snapshots.spec.ts", ("matches its text snapshot",), 0): ("passed", "expected"),
    ("app", "app/snapshots.spec.ts", ("differs from its text snapshot",), 0): ("failed", "unexpected"),
    ("repeat", "repeat/repeat.spec.ts", ("fails on the second repetition",), 0): ("passed", "expected"),
    ("repeat", "repeat/repeat.spec.ts", ("fails on the second repetition",), 1): ("failed", "unexpected"),
    ("repeat", "repeat/repeat.spec.ts", ("fails on the second repetition",), 2): ("passed", "expected"),
    ("repeat", "repeat/repeat.spec.ts", ("passes every repetition",), 0): ("passed", "expected"),
    ("repeat", "repeat/repeat.spec.ts", ("passes every repetition",), 1): ("passed", "expected"),
    ("repeat", "repeat/repeat.spec.ts", ("passes every repetition",), 2): ("passed", "expected"),
    ("broken-setup", "setup.broken.ts", ("broken setup",), 0): ("failed", "unexpected"),
    ("after-broken", "after-broken/dependent.spec.ts", ("first dependent",), 0): ("skipped", "skipped"),
    ("after-broken", "after-broken/dependent.spec.ts", ("second dependent",), 0): ("skipped", "skipped"),
}


def repetition_title(title_path: Iterable[str], repeat_each_index: int) -> tuple[str, ...]:
    """A title path that names one repetition: the comparison key of `differences` then tells them apart."""
    return (*title_path, f"[repetition {repeat_each_index}]")


def playwright_repetitions(report: Mapping[str, Any]) -> dict[Key, tuple[str, str]]:
    """Like `playwright_outcomes`, one entry per repetition: (project, file, repetition_title) -> (status, outcome).

    The JSON reporter has no repeatEachIndex: each repetition is one more entry of the project in
    `spec.tests`, in repeatEachIndex order (Playwright clones a file's suite for repetitions 1..n-1
    and adds each clone right after it).
    """
    found: dict[Key, tuple[str, str]] = {}

    def walk(suite: Mapping[str, Any], titles: tuple[str, ...]) -> None:
        for spec in suite.get("specs", []):
            repetitions: dict[str, int] = {}
            for test in spec["tests"]:
                index = repetitions.get(test["projectName"], 0)
                repetitions[test["projectName"]] = index + 1
                results = test["results"]
                status = results[-1]["status"] if results else "skipped"
                key = (test["projectName"], spec["file"], repetition_title((*titles, spec["title"]), index))
                assert key not in found, f"duplicate test in Playwright's report: {key}"
                found[key] = (status, test["status"])
        for child in suite.get("suites", []):
            walk(child, (*titles, child["title"]))

    for file_suite in report["suites"]:
        walk(file_suite, ())
    return found


def by_repetition(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """hypertest's records with their repeatEachIndex folded into the title path, for `differences`."""
    return [{**record, "titlePath": list(repetition_title(record["titlePath"], int(record.get("repeatEachIndex", 0))))}
            for record in records]


def as_records(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Playwright's own report as hypertest-like records (project, file, titlePath, repeatEachIndex, ...)."""
    return [{"project": project, "file": file, "titlePath": list(titles[:-1]),
             "repeatEachIndex": int(titles[-1].removeprefix("[repetition ").removesuffix("]")),
             "status": status, "outcome": outcome}
            for (project, file, titles), (status, outcome) in playwright_repetitions(report).items()]


@dataclass(frozen=True)
class Run:
    """One run of a copy of the suite."""

    folder: Path  # the copy of the suite it ran in
    counts: Path  # its $RUNLEVEL_COUNTS
    completed: subprocess.CompletedProcess[str]
    output: Path  # hypertest: its --output; Playwright: its JSON report

    def count_lines(self) -> dict[str, int]:
        """Lines in each counts file of the run (a part that never ran has none)."""
        return {path.stem: len(path.read_text(encoding="utf-8").splitlines()) for path in self.counts.glob("*.log")}

    def hypertest_records(self) -> list[dict[str, Any]]:
        tests: list[dict[str, Any]] = load_results(self.output)["tests"]
        return tests

    def playwright_report(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads(self.output.read_text(encoding="utf-8"))
        return report


def suite_env(base: Path, *, ci: bool, chromium: str | None) -> tuple[dict[str, str], Path]:
    """The environment of one run: its own counts folder and port, CI as asked, `node` on PATH (the web server)."""
    counts = base / "counts"
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "SUITE_CHROMIUM") and not k.startswith("RUNLEVEL_")}
    env.update({"RUNLEVEL_COUNTS": str(counts), "RUNLEVEL_PORT": str(free_port()), "FORCE_COLOR": "0",
                "PATH": os.pathsep.join([str(Path(find_node(os.environ)).parent), env.get("PATH", "")])})
    if ci:
        env["CI"] = "1"
    if chromium:
        env["SUITE_CHROMIUM"] = chromium
    return env, counts


def run_playwright(folder: Path, env: dict[str, str], report: Path) -> subprocess.CompletedProcess[str]:
    """`playwright test --workers 2 --reporter=json` in a copy of the suite, the report written to `report`."""
    cli = folder / "node_modules" / "@playwright" / "test" / "cli.js"
    return subprocess.run([find_node(os.environ), str(cli), "test", "--reporter=json", "--workers=2"],
                          cwd=folder, env={**env, "PLAYWRIGHT_JSON_OUTPUT_NAME": str(report)},
                          check=False, capture_output=True, text=True, timeout=300)


def run_hypertest(folder: Path, env: dict[str, str], output: Path,
                  concurrency: int) -> subprocess.CompletedProcess[str]:
    """`hypertest invoke` on the local provider in a copy of the suite."""
    return subprocess.run(
        [sys.executable, str(ROOT / "entrypoint.py"), "invoke", "--output", str(output),
         "--concurrency", str(concurrency)],
        cwd=folder, env=env, check=False, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def direct(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Run:
    """The suite run with plain `playwright test --workers 2`."""
    base = tmp_path_factory.mktemp("runlevel-direct")
    folder = copy_suite(RUNLEVEL, base / "suite")
    env, counts = suite_env(base, ci=False, chromium=chromium)
    return Run(folder, counts, run_playwright(folder, env, base / "report.json"), base / "report.json")


@pytest.fixture(scope="module", params=[pytest.param((2, False), id="c2"), pytest.param((4, True), id="c4-CI")])
def hyper(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The suite run with `hypertest invoke` on the local provider (at 2, and at 4 with CI=1)."""
    concurrency, ci = request.param
    base = tmp_path_factory.mktemp(f"runlevel-hyper-{concurrency}")
    folder = copy_suite(RUNLEVEL, base / "suite")
    env, counts = suite_env(base, ci=ci, chromium=None)
    return Run(folder, counts, run_hypertest(folder, env, base / "results", concurrency), base / "results")


def assert_teardowns_ran(run: Run) -> None:
    """What the setup and globalSetup wrote, their teardowns deleted; nothing counted more than once."""
    assert not (run.folder / "state" / "global.json").exists()
    assert not (run.folder / "playwright" / ".auth" / "user.json").exists()
    assert run.count_lines() == dict.fromkeys(COUNTED, 1)  # and no after-broken.log, no ignored.log


# Plain Playwright: the suite does what it is built to do.

def test_playwright_reports_the_suite_as_designed(direct: Run) -> None:
    assert direct.completed.returncode == 1, direct.completed.stderr
    report = direct.playwright_report()
    assert report["errors"] == []
    got = {(project, file, titles[:-1], int(titles[-1].removeprefix("[repetition ").removesuffix("]"))): outcome
           for (project, file, titles), outcome in playwright_repetitions(report).items()}
    assert got == PLAYWRIGHT_SAYS
    assert report["stats"] | {"startTime": None, "duration": None} == {
        "startTime": None, "duration": None, "expected": 18, "unexpected": 5, "flaky": 2, "skipped": 4}


def test_playwright_report_shapes(direct: Run) -> None:
    """Never-run dependents have no result; repetitions are separate entries of one spec."""
    report = direct.playwright_report()
    specs = {spec["title"]: spec for file_suite in report["suites"] for spec in file_suite["specs"]}
    for title in ("first dependent", "second dependent"):
        [test] = specs[title]["tests"]
        assert (test["projectName"], test["status"], test["results"]) == ("after-broken", "skipped", [])
    repeated = specs["passes every repetition"]["tests"]
    assert [t["results"][0]["annotations"] for t in repeated] == [
        [{"type": "repeatEachIndex", "description": str(index)}] for index in range(3)]
    assert all("repeatEachIndex" not in t for t in repeated)
    assert "must never run" not in specs


def test_playwright_runs_each_runlevel_part_once(direct: Run) -> None:
    assert_teardowns_ran(direct)


def test_comparison_tells_repetitions_apart(direct: Run) -> None:
    expected = playwright_repetitions(direct.playwright_report())
    records = as_records(direct.playwright_report())
    assert len(records) == len(PLAYWRIGHT_SAYS)
    assert differences(by_repetition(records), expected) == []
    tampered = [dict(record) for record in records]
    second = next(r for r in tampered if r["titlePath"] == ["fails on the second repetition"]
                  and r["repeatEachIndex"] == 1)
    second["outcome"] = "expected"
    assert len(differences(by_repetition(tampered), expected)) == 1
    assert len(differences(by_repetition([r for r in tampered if r is not second]), expected)) == 1  # missing
    flattened = [{k: v for k, v in r.items() if k != "repeatEachIndex"} for r in records]
    problems = differences(by_repetition(flattened), expected)
    assert sum("reported twice" in p for p in problems) == 4  # 2 tests x repetitions 1 and 2
    assert sum("missing from hypertest" in p for p in problems) == 4


# hypertest: the same statuses and outcomes, each run-level part once per run.

def test_every_status_and_outcome_matches_playwright(direct: Run, hyper: Run) -> None:
    expected = playwright_repetitions(direct.playwright_report())
    assert differences(by_repetition(hyper.hypertest_records()), expected) == []


def test_each_runlevel_part_ran_once(hyper: Run) -> None:
    assert_teardowns_ran(hyper)


def test_exit_code_is_one(hyper: Run) -> None:
    assert hyper.completed.returncode == 1, hyper.completed.stdout + hyper.completed.stderr


def test_records_are_complete_and_valid(hyper: Run) -> None:
    result = load_results(hyper.output)
    validate_run_result(result)
    ids = [r["id"] for r in result["tests"]]
    assert len(ids) == len(set(ids)) == result["stats"]["total"] == len(PLAYWRIGHT_SAYS)
    dependents = [r for r in result["tests"] if r["project"] == "after-broken"]
    assert sorted(r["titlePath"][-1] for r in dependents) == ["first dependent", "second dependent"]
    assert {(r["status"], r["outcome"]) for r in dependents} == {("skipped", "skipped")}
    assert not [r for r in result["tests"] if r["file"] == "app/ignored.spec.ts"]


@pytest.mark.parametrize("runner", ["playwright", "hypertest"])
def test_with_ci_a_busy_port_fails_the_run_before_anything_runs(runner: str, tmp_path: Path, chromium: str) -> None:
    """reuseExistingServer is false with CI=1: a port already in use stops the run (Playwright: exit 1)."""
    folder = copy_suite(RUNLEVEL, tmp_path / "suite")
    env, counts = suite_env(tmp_path, ci=True, chromium=chromium if runner == "playwright" else None)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        env["RUNLEVEL_PORT"] = str(listener.getsockname()[1])
        if runner == "playwright":
            completed = run_playwright(folder, env, tmp_path / "report.json")
            assert completed.returncode == 1
        else:
            completed = run_hypertest(folder, env, tmp_path / "results", 2)
            assert completed.returncode != 0
    assert "is already used" in completed.stdout + completed.stderr
    assert not counts.exists()  # neither the web server nor globalSetup started
