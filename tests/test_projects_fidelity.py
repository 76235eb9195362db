"""Fidelity across projects (issue 18 item 1): several projects over the same files with other `use`
options, file-level `test.use` of a worker-scoped option and of a device, describe-level `test.use`, a
second test type and `repeatEach` (tests/fixtures/projects_suite). Playwright gives a worker only tests of
one worker hash; a warm worker handed a test of another hash fails it. Each test of the fixture asserts
the options it sees, and records the worker process that ran it.

Plain `playwright test --workers 2` against `hypertest invoke --concurrency 2` with every speed-up on
(warm runner, warm workers, warm browser), with `granularity: auto` on a second run in the same output
folder (the first run's durations), and with every speed-up off: test by test, the same statuses and
outcomes, and no worker ran tests of two worker hashes. Real Playwright 1.65 and the system Chromium.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runner.node import find_node
from tests.conftest import ROOT, SUITE

pytestmark = pytest.mark.e2e

PROJECTS_SUITE = ROOT / "tests" / "fixtures" / "projects_suite"
Key = tuple[str, str, tuple[str, ...]]
# What each speed-up switch is in each hypertest run (the variables of the test process are left out).
SWITCHES = ("HT_WARM_RUNNER", "HT_WARM_WORKER", "HT_WARM_BROWSER")
SETTINGS: dict[str, dict[str, str]] = {
    "warm": {"HT_WARM_RUNNER": "1", "HT_WARM_WORKER": "1", "HT_WARM_BROWSER": "1"},
    "auto": {"HT_WARM_RUNNER": "1", "HT_WARM_WORKER": "1", "HT_WARM_BROWSER": "1"},
    "cold": {"HT_WARM_RUNNER": "0", "HT_WARM_WORKER": "0", "HT_WARM_BROWSER": "0"},
}


def copy_projects_suite(target: Path) -> Path:
    """A copy of the fixture using tests/fixtures/suite's node_modules (the same Playwright 1.65)."""
    shutil.copytree(PROJECTS_SUITE, target, ignore=shutil.ignore_patterns("node_modules", "test-results"))
    (target / "node_modules").symlink_to(SUITE / "node_modules")
    return target


def worker_hash_class(record: Mapping[str, Any]) -> tuple[str, int, str]:
    """The worker hash Playwright gives a test of the fixture, by what makes it: its project, its repetition,
    and its worker-scoped fixtures (a file-level test.use, its test type)."""
    kind = {"file-option.spec.ts": "file-level workerLabel", "file-device.spec.ts": "file-level device"}.get(
        record["file"], "project")
    if record["titlePath"] == ["a test type with its own worker fixture"]:
        kind = "typed"
    return record["project"], int(record.get("repeatEachIndex") or 0), kind


def playwright_outcomes(report: Mapping[str, Any]) -> dict[Key, Counter[tuple[str, str]]]:
    """(project, file, title path) -> its (final status, outcome) per repetition, from Playwright's JSON."""
    found: dict[Key, Counter[tuple[str, str]]] = defaultdict(Counter)

    def walk(suite: Mapping[str, Any], titles: tuple[str, ...]) -> None:
        for spec in suite.get("specs", []):
            for test in spec["tests"]:
                results = test["results"]
                status = results[-1]["status"] if results else "skipped"
                found[(test["projectName"], spec["file"], (*titles, spec["title"]))][(status, test["status"])] += 1
        for child in suite.get("suites", []):
            walk(child, (*titles, child["title"]))

    for file_suite in report["suites"]:
        walk(file_suite, ())
    return dict(found)


def hypertest_outcomes(records: Iterable[Mapping[str, Any]]) -> dict[Key, Counter[tuple[str, str]]]:
    """The same from hypertest's records (one per test and repetition)."""
    found: dict[Key, Counter[tuple[str, str]]] = defaultdict(Counter)
    for record in records:
        found[(record["project"], record["file"], tuple(record["titlePath"]))][
            (record["status"], record["outcome"])] += 1
    return dict(found)


def differences(got: Mapping[Key, Counter[tuple[str, str]]], want: Mapping[Key, Counter[tuple[str, str]]]) -> list[str]:
    """Every test whose repetitions hypertest reports with other results than Playwright (or not at all)."""
    problems = [f"{key}: hypertest says {dict(got.get(key, {}))}, Playwright says {dict(outcomes)}"
                for key, outcomes in want.items() if got.get(key) != outcomes]
    problems.extend(f"not in Playwright's run: {key}" for key in got if key not in want)
    return problems


def workers_of(records: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Worker process (pid@start time, as the fixture annotates) -> the records of the tests it ran."""
    found: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        for annotation in record.get("annotations") or []:
            if annotation.get("type") == "worker":
                found[str(annotation.get("description"))].append(record)
    return dict(found)


@dataclass
class Runs:
    """The fixture's runs, each made when a test first needs it (module-scoped: they are slow)."""

    base: Path
    chromium: str

    def __post_init__(self) -> None:
        self._direct: dict[str, Any] | None = None
        self._hyper: dict[str, tuple[dict[str, Any], subprocess.CompletedProcess[str]]] = {}

    def direct(self) -> dict[str, Any]:
        """Playwright's own JSON report of `playwright test --workers 2`."""
        if self._direct is None:
            folder = copy_projects_suite(self.base / "direct")
            report = self.base / "direct.json"
            env = {**os.environ, "SUITE_CHROMIUM": self.chromium, "PLAYWRIGHT_JSON_OUTPUT_NAME": str(report),
                   "FORCE_COLOR": "0"}
            cli = folder / "node_modules" / "@playwright" / "test" / "cli.js"
            subprocess.run([find_node(os.environ), str(cli), "test", "--reporter=json", "--workers=2"],
                           cwd=folder, env=env, check=False, capture_output=True, timeout=900)
            self._direct = json.loads(report.read_text(encoding="utf-8"))
        return self._direct

    def hyper(self, name: str) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
        """hypertest's results.json and process of one run: warm, auto (a second run after warm, in the same
        output folder, packing by warm's durations) or cold."""
        if name not in self._hyper:
            args = []
            if name == "auto":
                self.hyper("warm")  # its durations are what auto packs by
                args = ["--granularity", "auto"]
            output = self.base / ("cold-results" if name == "cold" else "warm-results")
            folder = copy_projects_suite(self.base / name)
            env = {k: v for k, v in os.environ.items() if k != "SUITE_CHROMIUM" and k not in SWITCHES}
            env.update(SETTINGS[name])
            completed = subprocess.run(
                [sys.executable, str(ROOT / "entrypoint.py"), "invoke", "--output", str(output), "--concurrency", "2",
                 "--run-id", name, *args],
                cwd=folder, env=env, check=False, capture_output=True, text=True, timeout=1200)
            results = output / name / "results.json"
            assert results.is_file(), completed.stdout + completed.stderr
            self._hyper[name] = json.loads(results.read_text(encoding="utf-8")), completed
        return self._hyper[name]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Runs:
    return Runs(tmp_path_factory.mktemp("projects-fidelity"), chromium)


@pytest.mark.parametrize("name", ["warm", "auto", "cold"])
def test_every_test_matches_playwright(runs: Runs, name: str) -> None:
    expected = playwright_outcomes(runs.direct())
    assert sum(sum(c.values()) for c in expected.values()) >= 35
    results, completed = runs.hyper(name)
    assert differences(hypertest_outcomes(results["tests"]), expected) == [], completed.stdout[-4000:]
    assert completed.returncode == 1, completed.stderr  # one test fails for real, in both
    assert results["stats"]["total"] == sum(sum(c.values()) for c in expected.values())


@pytest.mark.parametrize("name", ["warm", "auto", "cold"])
def test_no_worker_ran_tests_of_two_worker_hashes(runs: Runs, name: str) -> None:
    results, _ = runs.hyper(name)
    ran = [r for r in results["tests"] if r["status"] != "skipped"]
    workers = workers_of(ran)
    assert [r["id"] for r in ran if not any(a.get("type") == "worker" for a in r.get("annotations") or [])] == []
    mixed = {worker: sorted({worker_hash_class(r) for r in records}) for worker, records in workers.items()
             if len({worker_hash_class(r) for r in records}) > 1}
    assert mixed == {}
    if name == "cold":  # no warm worker: each worker served one unit
        assert all(len({r["unitId"] for r in records}) == 1 for records in workers.values())


@pytest.mark.parametrize("name", ["warm", "auto", "cold"])
def test_the_warm_browser_served_when_on(runs: Runs, name: str) -> None:
    """Every project of the fixture may use the warm browser: on, each test's worker connected to it
    rather than launching a browser of its own (so the runs above had it on); off, each launched its own."""
    results, _ = runs.hyper(name)
    browsers = Counter(annotation["description"] for record in results["tests"] if record["status"] != "skipped"
                       for annotation in record.get("annotations") or [] if annotation.get("type") == "browser")
    assert set(browsers) == ({"launched"} if name == "cold" else {"connected"}), browsers


def test_auto_packed_tests_of_one_file_and_project(runs: Runs) -> None:
    results, _ = runs.hyper("auto")
    assert len(results["units"]) < results["stats"]["total"]
    packed = [unit for unit in results["units"] if len(unit["tests"]) > 1]
    assert packed  # so a unit that holds tests of several worker hashes was checked above


def test_the_comparison_notices_a_wrong_repetition(runs: Runs) -> None:
    expected = playwright_outcomes(runs.direct())
    records = [dict(record) for record in runs.hyper("warm")[0]["tests"]]
    repeated = next(r for r in records if r["project"] == "mobile" and r["status"] == "passed")
    repeated["status"], repeated["outcome"] = "passed", "flaky"
    assert len(differences(hypertest_outcomes(records), expected)) == 1
    assert len(differences(hypertest_outcomes([r for r in records if r is not repeated]), expected)) == 1
