"""Retry units' blobs folded into their plan unit's blob (hypertest/plugins/playwright/retry_blobs.py): small blobs
made by hand in the shapes Playwright's blob reporter writes (format 2 from 1.42, format 1 in 1.40), hostile ones,
real ones from each release of the version matrix merged by its own merge-reports, and one `hypertest invoke`
of the retry suite whose HTML report must agree with results.json."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from hypertest.plugins.playwright.blob_scan import Limits, scan_blob
from hypertest.plugins.playwright.retry_blobs import blobs_to_merge, fold_blobs, retry_groups
from runner.node import find_node
from tests.playwright_versions import NEWEST, OLDEST, playwright_install

FLAKY, BROKEN, PASSES = "t-flaky", "t-broken", "t-passes"
TITLES = {FLAKY: "fails on its first attempt only", BROKEN: "fails every time", PASSES: "passes"}


def project(tests: Sequence[str], version: int = 2) -> dict[str, Any]:
    """An onProject event listing tests in one file suite (format 1: `suites` and `tests`, 2: `entries`)."""
    entries = [{"testId": t, "title": TITLES[t], "location": {"file": "a.spec.ts", "line": 1, "column": 1},
                "retries": 0, "tags": [], "repeatEachIndex": 0, "annotations": []} for t in tests]
    suite: dict[str, Any] = {"title": "a.spec.ts", "location": {"file": "a.spec.ts", "line": 0, "column": 0}}
    suite.update({"entries": entries} if version == 2 else {"suites": [], "tests": entries})
    return {"method": "onProject", "params": {"project": {"name": "p", "metadata": {}, "suites": [suite]}}}


def attempt(test: str, result: str, status: str, resource: str | None = None) -> list[dict[str, Any]]:
    """The events of one result: begin, a step with a child, output, an attachment and the end."""
    attachments = [{"name": "shot", "path": resource, "contentType": "image/png"}] if resource else []
    return [
        {"method": "onTestBegin", "params": {"testId": test, "result": {
            "id": result, "retry": 0, "workerIndex": 0, "parallelIndex": 0, "startTime": 1000}}},
        {"method": "onStepBegin", "params": {"testId": test, "resultId": result, "step": {
            "id": "s1", "title": "hook", "category": "hook", "startTime": 1001}}},
        {"method": "onStepBegin", "params": {"testId": test, "resultId": result, "step": {
            "id": "s2", "parentStepId": "s1", "title": "inner", "category": "fixture", "startTime": 1002}}},
        {"method": "onStepEnd", "params": {"testId": test, "resultId": result, "step": {"id": "s2", "duration": 1}}},
        {"method": "onStepEnd", "params": {"testId": test, "resultId": result, "step": {"id": "s1", "duration": 2}}},
        {"method": "onStdIO", "params": {"testId": test, "resultId": result, "type": "stdout", "data": "hi"}},
        {"method": "onTestEnd", "params": {
            "test": {"testId": test, "expectedStatus": "passed", "timeout": 30000, "annotations": []},
            "result": {"id": result, "duration": 5, "status": status, "errors": [], "attachments": attachments}}},
    ]


def blob(path: Path, tests: Sequence[str], body: Sequence[dict[str, Any]], *, start: float = 1000,
         version: int = 2, resources: Mapping[str, bytes] | None = None, status: str = "failed") -> Path:
    """A blob zip: metadata, configuration, the project, the body's events, its end; and resource files."""
    events = [{"method": "onBlobReportMetadata", "params": {"version": version, "userAgent": "u",
                                                             "pathSeparator": "/"}},
              {"method": "onConfigure", "params": {"config": {"rootDir": "/x", "workers": 1, "metadata": {}}}},
              project(tests, version), {"method": "onBegin"}, *body,
              {"method": "onEnd", "params": {"result": {"status": status, "startTime": start, "duration": 50}}}]
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in (resources or {}).items():
            archive.writestr(name, data)
        archive.writestr("report.jsonl", "".join(json.dumps(e) + "\n" for e in events))
    return path


def events_of(path: Path) -> list[dict[str, Any]]:
    """The events of a blob."""
    with zipfile.ZipFile(path) as archive:
        return [json.loads(line) for line in archive.read("report.jsonl").splitlines()]


def results_of(events: Sequence[dict[str, Any]]) -> list[tuple[str, int, str]]:
    """(test id, retry, result id) of each onTestBegin."""
    return [(e["params"]["testId"], e["params"]["result"]["retry"], e["params"]["result"]["id"])
            for e in events if e["method"] == "onTestBegin"]


def unit(unit_id: str, started: str, retry_of: str | None = None, blob_name: str | None = "") -> dict[str, Any]:
    """A results.json unit with its blob (blob_name None: it has none)."""
    key = None if blob_name is None else f"blobs/{blob_name or unit_id}.zip"
    found: dict[str, Any] = {"id": unit_id, "tests": [], "status": "ok", "error": None, "startedAt": started,
                             "durationMs": 1, "blob": key}
    return {**found, "retryOf": retry_of} if retry_of else found


def test_retries_fold_into_their_plan_units_blob_renumbered(tmp_path: Path) -> None:
    root = blob(tmp_path / "u1.zip", [FLAKY, BROKEN], [*attempt(FLAKY, "r1", "failed", "resources/a.png"),
                                                     *attempt(BROKEN, "r2", "failed")],
                resources={"resources/a.png": b"A"})
    # the first retry reuses a result id and step ids of the root's: they get names of their own
    one = blob(tmp_path / "u1-fresh1.zip", [FLAKY, BROKEN], [*attempt(FLAKY, "r1", "passed", "resources/b.png"),
                                                           *attempt(BROKEN, "r3", "failed")],
               start=2000, resources={"resources/b.png": b"B"}, status="passed")
    two = blob(tmp_path / "u1-fresh2.zip", [BROKEN], attempt(BROKEN, "r4", "failed"), start=3000)
    target = tmp_path / "scratch" / "u1.zip"
    target.parent.mkdir()
    assert fold_blobs(root, [one, two], target) == [one, two]
    events = events_of(target)
    assert results_of(events) == [(FLAKY, 0, "r1"), (BROKEN, 0, "r2"), (FLAKY, 1, "r1-1"), (BROKEN, 1, "r3"),
                                  (BROKEN, 2, "r4")]
    assert [e["method"] for e in events][:4] == ["onBlobReportMetadata", "onConfigure", "onProject", "onBegin"]
    assert events[-1] == {"method": "onEnd", "params": {"result": {"status": "failed", "startTime": 1000,
                                                                   "duration": 2050}}}
    # every event of the renamed result names it, its steps are renamed and still nested
    renamed = [e["params"] for e in events[4:-1] if e["params"].get("resultId") == "r1-1"
               or e["params"].get("result", {}).get("id") == "r1-1"]
    assert len(renamed) == 7
    steps = [p["step"] for p in renamed if "step" in p]
    assert {s["id"] for s in steps} == {"s1-1", "s2-1"} and steps[1]["parentStepId"] == "s1-1"
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == ["report.jsonl", "resources/a.png", "resources/b.png"]
        assert archive.read("resources/b.png") == b"B"
    assert len({p for p, *_ in results_of(events)}) == 2


def test_a_resource_name_taken_by_other_content_is_renamed(tmp_path: Path) -> None:
    root = blob(tmp_path / "u1.zip", [FLAKY], attempt(FLAKY, "r1", "failed", "resources/x.png"),
                resources={"resources/x.png": b"root", "resources/same.md": b"same"})
    retry = blob(tmp_path / "u1-fresh1.zip", [FLAKY], attempt(FLAKY, "r2", "passed", "resources/x.png"),
                 resources={"resources/x.png": b"retry", "resources/same.md": b"same"})
    target = tmp_path / "out.zip"
    assert fold_blobs(root, [retry], target) == [retry]
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == ["report.jsonl", "resources/same.md", "resources/x-1.png",
                                              "resources/x.png"]
        assert archive.read("resources/x.png") == b"root" and archive.read("resources/x-1.png") == b"retry"
    ends = [e["params"]["result"] for e in events_of(target) if e["method"] == "onTestEnd"]
    assert [r["attachments"][0]["path"] for r in ends] == ["resources/x.png", "resources/x-1.png"]


def test_blob_format_1_of_playwright_1_40_folds_too(tmp_path: Path) -> None:
    root = blob(tmp_path / "u1.zip", [BROKEN], attempt(BROKEN, "r1", "failed"), version=1)
    retry = blob(tmp_path / "u1-fresh1.zip", [BROKEN], attempt(BROKEN, "r2", "failed"), version=1)
    newer = blob(tmp_path / "u1-fresh2.zip", [BROKEN], attempt(BROKEN, "r3", "failed"), version=2)
    assert scan_blob(root).listed == {BROKEN}
    assert fold_blobs(root, [retry, newer], tmp_path / "out.zip") == [retry]  # another format stays apart
    assert results_of(events_of(tmp_path / "out.zip")) == [(BROKEN, 0, "r1"), (BROKEN, 1, "r2")]


def test_a_retry_with_a_test_its_plan_unit_does_not_list_stays_apart(tmp_path: Path) -> None:
    root = blob(tmp_path / "u1.zip", [FLAKY], attempt(FLAKY, "r1", "failed"))
    stranger = blob(tmp_path / "u1-fresh1.zip", [FLAKY, PASSES], attempt(PASSES, "r2", "passed"))
    assert fold_blobs(root, [stranger], tmp_path / "out.zip") == []
    assert not (tmp_path / "out.zip").exists()


def test_units_group_by_plan_unit_in_order_of_start(tmp_path: Path) -> None:
    units = [unit("u1", "2026-01-01T00:00:01Z"), unit("u2", "2026-01-01T00:00:00Z"),
             unit("u1-fresh2", "2026-01-01T00:00:09Z", "u1"), unit("u1-fresh1", "2026-01-01T00:00:05Z", "u1"),
             unit("lost", "2026-01-01T00:00:00Z", blob_name=None),
             unit("lost-infra1", "2026-01-01T00:00:04Z", "lost"), unit("lost-fresh1", "", "lost")]
    assert retry_groups(units) == [["u1.zip", "u1-fresh1.zip", "u1-fresh2.zip"],  # type: ignore[arg-type]
                                   ["lost-infra1.zip", "lost-fresh1.zip"]]


def test_the_run_folders_blobs_are_left_as_they_are(tmp_path: Path) -> None:
    blobs = tmp_path / "run" / "blobs"
    blob(blobs / "u1.zip", [BROKEN], attempt(BROKEN, "r1", "failed"))
    blob(blobs / "u1-fresh1.zip", [BROKEN], attempt(BROKEN, "r2", "failed"))
    blob(blobs / "u2.zip", [PASSES], attempt(PASSES, "r3", "passed"), status="passed")
    # the plan unit lost its blob: its infrastructure retry's is the one the others fold into
    blob(blobs / "u3-infra1.zip", [FLAKY], attempt(FLAKY, "r4", "failed"))
    blob(blobs / "u3-fresh1.zip", [FLAKY], attempt(FLAKY, "r5", "passed"), status="passed")
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in blobs.iterdir()}
    units = [unit("u1", "2026-01-01T00:00:00Z"), unit("u2", "2026-01-01T00:00:00Z"),
             unit("u1-fresh1", "2026-01-01T00:00:03Z", "u1"), unit("u3", "2026-01-01T00:00:00Z", blob_name=None),
             unit("u3-infra1", "2026-01-01T00:00:01Z", "u3"), unit("u3-fresh1", "2026-01-01T00:00:02Z", "u3")]
    scratch = tmp_path / "scratch"
    merged = blobs_to_merge(blobs, units, scratch)  # type: ignore[arg-type]
    assert merged == [scratch / "u1.zip", blobs / "u2.zip", scratch / "u3-infra1.zip"]
    assert results_of(events_of(scratch / "u3-infra1.zip")) == [(FLAKY, 0, "r4"), (FLAKY, 1, "r5")]
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in blobs.iterdir()} == before
    assert blobs_to_merge(blobs, [], scratch) == sorted(blobs.glob("*.zip"))


def hostile(path: Path, name: str, data: bytes) -> Path:
    """A retry blob with one more entry."""
    blob(path, [BROKEN], attempt(BROKEN, "r2", "failed"))
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(name, data)
    return path


@pytest.mark.parametrize("name", ["../x", "/tmp/x", "resources/../../x", "resources/sub/x", "other.txt",
                                  "second.jsonl", "resources/.hidden", "..\\x"])
def test_a_blob_with_an_unsafe_entry_is_refused(tmp_path: Path, name: str) -> None:
    root = blob(tmp_path / "u1.zip", [BROKEN], attempt(BROKEN, "r1", "failed"))
    retry = hostile(tmp_path / "in" / "u1-fresh1.zip", name, b"gotcha")
    assert fold_blobs(root, [retry], tmp_path / "in" / "out.zip") == []
    assert fold_blobs(retry, [root], tmp_path / "in" / "out.zip") == []  # as the plan unit's blob too
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["in", "u1-fresh1.zip", "u1.zip"]


def test_events_beyond_the_limits_are_refused(tmp_path: Path) -> None:
    root = blob(tmp_path / "u1.zip", [BROKEN], attempt(BROKEN, "r1", "failed"))
    retry = blob(tmp_path / "u1-fresh1.zip", [BROKEN], attempt(BROKEN, "r2", "failed"))
    size = zipfile.ZipFile(retry).getinfo("report.jsonl").file_size
    assert fold_blobs(root, [retry], tmp_path / "out.zip", Limits(report_bytes=size)) == [retry]
    assert fold_blobs(root, [retry], tmp_path / "out.zip", Limits(report_bytes=size - 1)) == []
    # one huge line (a zip bomb: 64 MB of spaces in a few kB) is refused without reading it whole
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive, \
            archive.open("report.jsonl", "w") as sink:
        sink.write(b'{"method":"onBlobReportMetadata","params":{"version":2}}\n{"method":"onStdIO","x":"')
        for _ in range(64):
            sink.write(b" " * (1 << 20))
    assert bomb.stat().st_size < 1 << 20
    assert fold_blobs(root, [bomb], tmp_path / "out2.zip", Limits(line_bytes=1 << 20)) == []
    assert not (tmp_path / "out2.zip").exists()


def test_resources_beyond_the_limit_leave_nothing_behind(tmp_path: Path) -> None:
    root = blob(tmp_path / "u1.zip", [BROKEN], attempt(BROKEN, "r1", "failed"))
    retry = tmp_path / "u1-fresh1.zip"
    blob(retry, [BROKEN], attempt(BROKEN, "r2", "failed"))
    with zipfile.ZipFile(retry, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("resources/big.zip", b"\0" * (8 << 20))
    assert fold_blobs(root, [retry], tmp_path / "out.zip", Limits(resource_bytes=1 << 20)) == []
    assert not (tmp_path / "out.zip").exists()


@pytest.mark.parametrize("bad", [b'{"method":"onTestBegin","params":{"testId":1,"result":{"id":"r"}}}',
                                 b'{"method":"onStdIO","params":{"data":NaN}}', b"[1]", b"{", b"\xff",
                                 b'{"method":"onBlobReportMetadata","params":{"version":2}}', b"[" * 100_000])
def test_a_blob_with_odd_events_is_refused(tmp_path: Path, bad: bytes) -> None:
    root = blob(tmp_path / "u1.zip", [BROKEN], attempt(BROKEN, "r1", "failed"))
    retry = blob(tmp_path / "u1-fresh1.zip", [BROKEN], attempt(BROKEN, "r2", "failed"))
    with zipfile.ZipFile(retry) as archive:
        text = archive.read("report.jsonl")
    with zipfile.ZipFile(retry, "w") as archive:
        archive.writestr("report.jsonl", text + bad + b"\n")
    assert fold_blobs(root, [retry], tmp_path / "out.zip") == []


SPEC = """const { test, expect } = require('@playwright/test');
const fs = require('fs');
const path = require('path');
test('fails on its first attempt only', async ({}, testInfo) => {
  const file = testInfo.outputPath('note.txt');
  fs.writeFileSync(file, 'attempt');
  await testInfo.attach('note', { path: file, contentType: 'text/plain' });
  const marker = path.join(process.env.RETRY_STATE, 'flaky');
  const first = !fs.existsSync(marker);
  fs.writeFileSync(marker, '1');
  expect(first).toBe(false);
});
test('fails every time', async () => { expect(1).toBe(2); });
"""


@pytest.mark.integration
@pytest.mark.parametrize("version", (OLDEST, NEWEST))  # the blob format of the first and the latest
def test_real_blobs_fold_into_one_test_with_its_results(tmp_path: Path, version: str) -> None:
    """Blobs of each release (no browser: the tests use none), folded, merged by that release's merge-reports."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "node_modules").symlink_to(playwright_install(version) / "node_modules")
    (suite / "playwright.config.js").write_text("module.exports = { projects: [{ name: 'p' }], retries: 0 };\n")
    (suite / "a.spec.js").write_text(SPEC)
    cli = str(suite / "node_modules" / "@playwright" / "test" / "cli.js")
    env = {**os.environ, "RETRY_STATE": str(tmp_path), "FORCE_COLOR": "0"}
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    for name, grep in (("u1", "."), ("u1-fresh1", "."), ("u1-fresh2", "every")):
        subprocess.run([find_node(os.environ), cli, "test", "--reporter=blob", "--grep", grep], cwd=suite, env=env,
                       check=False, capture_output=True, timeout=300)
        [made] = (suite / "blob-report").glob("*.zip")  # report.zip, from 1.4x report-<hash>.zip
        made.rename(blobs / f"{name}.zip")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    units = [unit("u1", "2026-01-01T00:00:00Z"), unit("u1-fresh1", "2026-01-01T00:00:01Z", "u1"),
             unit("u1-fresh2", "2026-01-01T00:00:02Z", "u1")]
    [folded] = blobs_to_merge(blobs, units, tmp_path / "scratch")  # type: ignore[arg-type]
    os.link(folded, inbox / "report-u1.zip")
    merged = subprocess.run([find_node(os.environ), cli, "merge-reports", "--reporter", "json", str(inbox)],
                            cwd=suite, env=env, check=True, capture_output=True, text=True, timeout=300)
    report = json.loads(merged.stdout[merged.stdout.index("{"):])
    specs = {spec["title"]: spec["tests"] for spec in report["suites"][0]["specs"]}
    [flaky], [broken] = specs[TITLES[FLAKY]], specs[TITLES[BROKEN]]
    assert [(r["retry"], r["status"]) for r in flaky["results"]] == [(0, "failed"), (1, "passed")]
    assert [(r["retry"], r["status"]) for r in broken["results"]] == [(0, "failed"), (1, "failed"), (2, "failed")]
    assert (flaky["status"], broken["status"]) == ("flaky", "unexpected")
    notes = [a["path"] for r in flaky["results"] for a in r["attachments"] if a["name"] == "note"]
    assert len(set(notes)) == 2 and all(Path(p).read_text() == "attempt" for p in notes)
    assert {k: report["stats"][k] for k in ("expected", "unexpected", "flaky")} == {
        "expected": 0, "unexpected": 1, "flaky": 1}
