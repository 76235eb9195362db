"""The merged HTML report: the run's wall time, and the tests no unit's blob has (error records, tests
that never ran). Real blobs from real Playwright runs, merged by the real `playwright merge-reports`;
the report's data is read from the JSON it embeds (a base64 zip in index.html), not from its UI."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
import re
import subprocess
import time
import zipfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hypertest.core.aggregate import error_record
from hypertest.core.suite import TestCase
from hypertest.plugins.playwright import html_report
from hypertest.plugins.playwright.html_report import merge_html_report
from hypertest.plugins.playwright.prepared_merge import PreparedMerge
from hypertest.plugins.playwright.run_blob import BlobFacts, read_blob_facts, write_run_blob
from runner.node import find_node
from tests.conftest import DEMO, SUITE, copy_suite, load_results, small_project

PASSES = ("alpha", "core/outcomes.spec.ts", ("passes with a fixture",), 13, 1)
SMOKE = ("alpha", "more/tagged.spec.ts", ("tagged smoke test",), 3, 1)
NEVER_RAN = TestCase(id="beta-never-ran", project="beta", file="core/outcomes.spec.ts", line=40, column=1,
                     title_path=("a group", "never ran"), tags=("@late",), expected_status="passed",
                     serial_group=None)
CRASHED = TestCase(id="alpha-crashed", project="alpha", file="core/titles.spec.ts", line=7, column=3,
                   title_path=("outer", "crashed with its unit"), tags=(), expected_status="passed",
                   serial_group=None)


def report_data(index: Path) -> dict[str, Any]:
    """The JSON files the HTML report embeds (report.json and one per test file), by name."""
    html = index.read_text(encoding="utf-8")
    match = re.search(r'id="playwrightReportBase64">data:application/zip;base64,([A-Za-z0-9+/=]+)<', html)
    assert match, "no embedded report data in index.html"
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(match.group(1)))) as archive:
        return {name: json.loads(archive.read(name)) for name in archive.namelist()}


def report_tests(data: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every test of the report by (project, title), from its per-file data."""
    return {(test["projectName"], test["title"]): test for name, file in data.items() if name != "report.json"
            for test in file["tests"]}


def end_event(blob: Path) -> dict[str, Any]:
    """The `onEnd` result of a blob: the start and duration of its Playwright run."""
    with zipfile.ZipFile(blob) as archive:
        for line in archive.read("report.jsonl").splitlines():
            event = json.loads(line)
            if event["method"] == "onEnd":
                result: dict[str, Any] = event["params"]["result"]
                return result
    raise AssertionError(f"{blob} has no onEnd event")


def skipped_record(test: TestCase) -> dict[str, Any]:
    """A record of a test that did not run (its setup project failed): skipped, no attempt."""
    return {**error_record(test, "u9", "unused"), "status": "skipped", "outcome": "skipped", "attempts": [],
            "annotations": [{"type": "skip", "description": "did not run: its dependency project 'setup' failed"}]}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> dict[str, Any]:
    """Two real Playwright runs of the fixture suite, one after the other, each writing a blob."""
    base = tmp_path_factory.mktemp("html-report")
    suite = copy_suite(SUITE, base / "suite")
    blobs = base / "blobs"
    cli = suite / "node_modules" / "@playwright" / "test" / "cli.js"
    before = dt.datetime.now(dt.UTC)
    for name, (project, file, titles, _, _) in {"u1.zip": PASSES, "u2.zip": SMOKE}.items():
        env = {**os.environ, "SUITE_CHROMIUM": chromium, "FORCE_COLOR": "0",
               "PLAYWRIGHT_BLOB_OUTPUT_FILE": str(blobs / name)}
        completed = subprocess.run([find_node(os.environ), str(cli), "test", "--reporter=blob", "--project", project,
                                    "--grep", titles[-1], file],
                                   cwd=suite, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert completed.returncode == 0 and (blobs / name).is_file(), completed.stdout + completed.stderr
    after = dt.datetime.now(dt.UTC)
    return {"suite": suite, "blobs": blobs, "before": before, "after": after,
            "ends": [end_event(blobs / "u1.zip"), end_event(blobs / "u2.zip")]}


@pytest.mark.e2e
def test_the_report_spans_the_whole_run(runs: dict[str, Any], tmp_path: Path) -> None:
    first, second = runs["ends"]
    assert second["startTime"] >= first["startTime"] + first["duration"]  # one after the other
    data = report_data(merge_html_report(runs["blobs"], tmp_path / "report", runs["suite"],
                                         started_at=runs["before"], ended_at=runs["after"]))["report.json"]
    wall_ms = (runs["after"] - runs["before"]).total_seconds() * 1000
    assert data["startTime"] == pytest.approx(runs["before"].timestamp() * 1000, abs=1)
    assert data["duration"] == pytest.approx(wall_ms, abs=1)  # the run's, not one unit's
    assert data["duration"] > first["duration"] + second["duration"]
    assert data["stats"]["total"] == 2 and data["stats"]["expected"] == 2
    # each unit keeps its own bar on the report's timeline
    assert {(m["startTime"], m["duration"]) for m in data["machines"]} >= {
        (e["startTime"], e["duration"]) for e in runs["ends"]}


@pytest.mark.e2e
def test_without_a_start_the_report_spans_the_units(runs: dict[str, Any], tmp_path: Path) -> None:
    first, second = runs["ends"]
    data = report_data(merge_html_report(runs["blobs"], tmp_path / "report", runs["suite"]))["report.json"]
    assert data["startTime"] == first["startTime"]
    assert data["duration"] == pytest.approx(second["startTime"] + second["duration"] - first["startTime"])


@pytest.mark.e2e
def test_both_merge_rules_of_playwright_give_the_run_window(runs: dict[str, Any]) -> None:
    """Up to 1.57 merge-reports takes the longest duration, from 1.58 the span: the run's blob suits both."""
    facts = read_blob_facts(sorted(runs["blobs"].glob("*.zip")))
    run_blob = write_run_blob(runs["blobs"].parent / "run.zip", facts, [], started_at=runs["before"],
                              ended_at=runs["after"])
    assert run_blob is not None
    ends = [*runs["ends"], end_event(run_blob)]
    start = min(e["startTime"] for e in ends)
    longest = max(e["duration"] for e in ends)  # Playwright <= 1.57
    span = max(e["startTime"] + e["duration"] for e in ends) - start  # Playwright >= 1.58
    wall_ms = (runs["after"] - runs["before"]).total_seconds() * 1000
    assert start == pytest.approx(runs["before"].timestamp() * 1000, abs=1)
    assert longest == pytest.approx(wall_ms, abs=1) and span == pytest.approx(wall_ms, abs=1)
    # the units' blobs alone: the older rule says one unit's time, less than even the units' span
    first, second = runs["ends"]
    assert max(first["duration"], second["duration"]) < second["startTime"] + second["duration"] - first["startTime"]


@pytest.mark.e2e
def test_error_and_never_run_records_are_in_the_report(runs: dict[str, Any], tmp_path: Path) -> None:
    crashed = error_record(CRASHED, "u3", "the runner process exited with code 137")
    covered = error_record(TestCase(id="x", project=PASSES[0], file=PASSES[1], line=PASSES[3], column=PASSES[4],
                                    title_path=PASSES[2], tags=(), expected_status="passed", serial_group=None),
                           "u1", "a blob has this test: not added twice")
    index = merge_html_report(runs["blobs"], tmp_path / "report", runs["suite"],
                              extra_records=[crashed, skipped_record(NEVER_RAN), covered])
    data = report_data(index)
    assert data["report.json"]["stats"] == {"total": 4, "expected": 2, "unexpected": 1, "flaky": 0, "skipped": 1,
                                            "ok": False}
    tests = report_tests(data)
    failed = tests[("alpha", "crashed with its unit")]
    assert failed["outcome"] == "unexpected" and failed["path"] == ["outer"]
    assert failed["location"] == {"file": "core/titles.spec.ts", "line": 7, "column": 3}
    assert [r["status"] for r in failed["results"]] == ["failed"]
    assert "the runner process exited with code 137" in failed["results"][0]["errors"][0]["message"]
    skipped = tests[("beta", "never ran")]
    assert skipped["outcome"] == "skipped" and skipped["tags"] == ["@late"]
    assert skipped["annotations"][0]["description"].startswith("did not run")
    assert tests[("alpha", "passes with a fixture")]["outcome"] == "expected"


def wait_until_idle(prepared: PreparedMerge, timeout_s: float = 60.0) -> None:
    """Until the prepared process has loaded Playwright and sleeps waiting for its go (bounded)."""
    assert prepared.child is not None
    stat = Path(f"/proc/{prepared.child.pid}/stat")
    deadline = time.monotonic() + timeout_s
    before = -1
    while time.monotonic() < deadline:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        cpu = int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
        if fields[0] == "S" and cpu == before:
            return
        before = cpu
        time.sleep(0.2)
    raise AssertionError("the prepared merge never settled")


@pytest.mark.e2e
def test_a_prepared_merge_makes_the_same_report(runs: dict[str, Any], tmp_path: Path) -> None:
    """merge-reports started early, Playwright loaded while it waits, merges what is there when told to go."""
    plain = report_data(merge_html_report(runs["blobs"], tmp_path / "plain", runs["suite"],
                                          extra_records=[skipped_record(NEVER_RAN)],
                                          started_at=runs["before"], ended_at=runs["after"]))
    prepared = PreparedMerge(tmp_path / "report", runs["suite"], {**os.environ, "NODE_DEBUG": "module"})
    wait_until_idle(prepared)
    assert prepared.child is not None and prepared.child.poll() is None
    assert not (tmp_path / "report").exists()  # it waits: nothing merged yet
    # what it loaded so far (Node's module log): the Playwright command modules, before any blob is there
    assert re.search(r"playwright/lib/program\.js", (tmp_path / "merge-reports.log").read_text(errors="replace"))
    early = report_data(merge_html_report(runs["blobs"], tmp_path / "report", runs["suite"],
                                          extra_records=[skipped_record(NEVER_RAN)],
                                          started_at=runs["before"], ended_at=runs["after"], prepared=prepared))
    assert early["report.json"]["stats"] == plain["report.json"]["stats"]
    assert early["report.json"]["startTime"] == plain["report.json"]["startTime"]
    assert early["report.json"]["duration"] == plain["report.json"]["duration"]
    assert report_tests(early).keys() == report_tests(plain).keys() and len(report_tests(early)) == 3
    assert prepared.child is None and not prepared.blob_dir.exists()
    assert not (tmp_path / "merge-reports.log").exists()


@pytest.mark.e2e
def test_a_prepared_merge_closed_unused_merges_nothing(runs: dict[str, Any], tmp_path: Path) -> None:
    prepared = PreparedMerge(tmp_path / "report", runs["suite"])
    child = prepared.child
    assert child is not None
    prepared.close()
    assert child.poll() == 0 and not prepared.blob_dir.exists()
    assert not (tmp_path / "report").exists() and not (tmp_path / "merge-reports.log").exists()
    prepared.close()  # again: nothing left to do


@pytest.mark.e2e
def test_a_prepared_merge_that_cannot_serve_gives_way_to_a_plain_one(runs: dict[str, Any], tmp_path: Path) -> None:
    """Another report's merge is not used; one whose process died is replaced by a plain merge-reports."""
    other = PreparedMerge(tmp_path / "elsewhere", runs["suite"])
    index = merge_html_report(runs["blobs"], tmp_path / "report", runs["suite"], prepared=other)
    assert other.child is None and not other.blob_dir.exists() and not (tmp_path / "elsewhere").exists()
    assert report_data(index)["report.json"]["stats"]["total"] == 2
    dead = PreparedMerge(tmp_path / "again", runs["suite"])
    assert dead.child is not None
    dead.child.kill()
    dead.child.wait()
    index = merge_html_report(runs["blobs"], tmp_path / "again", runs["suite"], prepared=dead)
    assert index == tmp_path / "again" / "index.html"
    assert report_data(index)["report.json"]["stats"]["total"] == 2


@pytest.mark.e2e
def test_the_prepared_merge_holds_no_secret_the_tests_could_read(runs: dict[str, Any], tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """It starts while the last units run: a test reading /proc/<pid>/environ must find the tests' environment
    there, not hypertest's (the action's token, AWS credentials, the workflow command files)."""
    from types import SimpleNamespace

    from hypertest.plugins.playwright import PLUGIN
    from runner.environment import child_environment

    canaries = {"GITHUB_TOKEN": "canary-token-0001", "AWS_SECRET_ACCESS_KEY": "canary-aws-0002",
                "GITHUB_OUTPUT": "/tmp/canary-output-0003"}
    for name, value in canaries.items():
        monkeypatch.setenv(name, value)
    context: Any = SimpleNamespace(run_dir=tmp_path / "run", test_env=child_environment(dict(os.environ)))
    discovery: Any = SimpleNamespace(project_dir=runs["suite"])
    prepared = PLUGIN.prepare_report(discovery, context)
    assert isinstance(prepared, PreparedMerge) and prepared.child is not None
    try:
        environ = Path(f"/proc/{prepared.child.pid}/environ").read_bytes().decode(errors="replace")
        assert "PATH=" in environ and not [value for value in canaries.values() if value in environ]
    finally:
        prepared.close()


def test_blobs_of_an_unknown_format_get_no_run_blob(tmp_path: Path) -> None:
    facts = BlobFacts(versions={3}, metadata={"version": 3}, config={"rootDir": "/x"}, start_ms=1.0, end_ms=2.0)
    assert write_run_blob(tmp_path / "run.zip", facts, []) is None
    mixed = replace(facts, versions={1, 2})
    assert write_run_blob(tmp_path / "run.zip", mixed, []) is None
    older = replace(facts, versions={1}, metadata={"version": 1})  # the time, but no tests in the v1 tree
    crashed = error_record(CRASHED, "u", "boom")
    assert write_run_blob(tmp_path / "run.zip", older, [crashed]) == tmp_path / "run.zip"
    with zipfile.ZipFile(tmp_path / "run.zip") as archive:
        methods = [json.loads(line)["method"] for line in archive.read("report.jsonl").splitlines()]
    assert methods == ["onBlobReportMetadata", "onConfigure", "onBegin", "onEnd"]


def test_a_refused_run_blob_falls_back_to_the_units_blobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    events = [{"method": "onBlobReportMetadata", "params": {"version": 2, "userAgent": "u", "pathSeparator": "/"}},
              {"method": "onConfigure", "params": {"config": {"rootDir": "/x", "workers": 1, "metadata": {}}}},
              {"method": "onBegin"},
              {"method": "onEnd", "params": {"result": {"status": "passed", "startTime": 1000, "duration": 5}}}]
    with zipfile.ZipFile(blobs / "u1.zip", "w") as archive:
        archive.writestr("report.jsonl", "".join(json.dumps(e) + "\n" for e in events))
    merged: list[list[str]] = []

    def merge(blob_dir: Path, report_dir: Path, project_dir: Path, environ: object) -> Path:
        names = sorted(p.name for p in blob_dir.glob("*.zip"))
        merged.append(names)
        if len(names) > 1:
            raise html_report.MergeError("refused")
        return report_dir / "index.html"

    monkeypatch.setattr(html_report, "_merge", merge)
    merge_html_report(blobs, tmp_path / "report", tmp_path, extra_records=[error_record(CRASHED, "u", "boom")])
    # blobs are merged under report- names (merge-reports of Playwright 1.40 reads only report*.zip)
    assert merged == [["report-0-hypertest-run.zip", "report-u1.zip"], ["report-u1.zip"]]


@pytest.mark.e2e
def test_invoke_puts_a_crashed_unit_in_the_report(tmp_path: Path, chromium: str) -> None:
    """Through `invoke`: one unit's runner crashes (an `error` record), the others run for real."""
    from hypertest.core.invoke import invoke
    from hypertest.core.load import load_settings
    from hypertest.providers.local import LocalProvider, local_settings

    project = copy_suite(DEMO, tmp_path / "demo")
    settings = load_settings(None, project, {})
    settings = replace(settings, output=tmp_path / "out", concurrency=2, reporters=("html",),
                       test_runner=replace(settings.test_runner, grep="has a title|has a heading"))

    class OneCrash(LocalProvider):
        def execute(self, payload: Mapping[str, Any]) -> Mapping[str, Any]:
            if "has a heading" in " ".join(payload["unit"]["tests"][0]["titlePath"]):
                return {"status": "error", "error": "the runner process exited with code 137", "tests": []}
            return super().execute(payload)

    state = invoke(settings, stream=io.StringIO(), environ=dict(os.environ),
                   provider=OneCrash(local_settings(settings.provider), dict(os.environ)))
    result = load_results(tmp_path / "out")
    assert sorted(r["status"] for r in result["tests"]) == ["error", "passed"]
    data = report_data(Path(state.reports["html"]))
    assert data["report.json"]["stats"]["total"] == result["stats"]["total"] == 2
    assert data["report.json"]["stats"]["unexpected"] == 1 and data["report.json"]["stats"]["expected"] == 1
    crashed = next(t for t in report_tests(data).values() if "heading" in t["title"])
    assert "exited with code 137" in crashed["results"][0]["errors"][0]["message"]
    started = dt.datetime.fromisoformat(result["startedAt"].replace("Z", "+00:00")).timestamp() * 1000
    assert data["report.json"]["startTime"] == pytest.approx(started, abs=1)  # from the run's start, not a unit's
    report_end = data["report.json"]["startTime"] + data["report.json"]["duration"]
    assert all(m["startTime"] + m["duration"] <= report_end for m in data["report.json"]["machines"])


@pytest.mark.e2e
def test_invoke_puts_tests_that_never_ran_in_the_report(tmp_path: Path, chromium: str) -> None:
    """A setup project fails, so its dependents never run: skipped in results.json and in the report."""
    from hypertest.core.invoke import invoke
    from hypertest.core.load import load_settings

    project = small_project(
        tmp_path / "setup-fails",
        "import { defineConfig } from '@playwright/test';\n"
        "export default defineConfig({ testDir: './tests', projects: [\n"
        "  { name: 'setup', testMatch: /.*\\.setup\\.ts/ },\n"
        "  { name: 'app', dependencies: ['setup'] },\n"
        "] });\n",
        {"tests/auth.setup.ts": "import { test, expect } from '@playwright/test';\n"
                                "test('signs in', async () => { expect(1).toBe(2); });\n",
         "tests/app.spec.ts": "import { test } from '@playwright/test';\n"
                              "test('uses the sign-in', async () => {});\n"
                              "test('uses it again', async () => {});\n"})
    settings = load_settings(None, project, {})
    settings = replace(settings, output=tmp_path / "out", concurrency=2, reporters=("html",))
    state = invoke(settings, stream=io.StringIO(), environ=dict(os.environ))
    result = load_results(tmp_path / "out")
    statuses = {(r["project"], r["titlePath"][-1]): r["status"] for r in result["tests"]}
    assert statuses == {("setup", "signs in"): "failed", ("app", "uses the sign-in"): "skipped",
                        ("app", "uses it again"): "skipped"}
    data = report_data(Path(state.reports["html"]))
    assert data["report.json"]["stats"]["total"] == 3
    assert (data["report.json"]["stats"]["unexpected"], data["report.json"]["stats"]["skipped"]) == (1, 2)
    outcomes = {key: test["outcome"] for key, test in report_tests(data).items()}
    assert outcomes == {("setup", "signs in"): "unexpected", ("app", "uses the sign-in"): "skipped",
                        ("app", "uses it again"): "skipped"}
