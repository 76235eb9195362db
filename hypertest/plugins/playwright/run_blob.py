"""One extra blob report for `playwright merge-reports`: the run's wall time and the tests no unit's blob has.

merge-reports builds the merged run's start and duration from the `onEnd` event of each blob:
Playwright up to 1.57 takes the earliest start and the *longest* duration (the time of one unit when
the units ran one after another), 1.58 and later the span from the earliest start to the latest end
(only while Playwright ran: not discovery, not the units' start-up). This blob's `onEnd` covers the
whole run, from before every unit's start to after every unit's end, so both rules give the run's wall
time, with no need to know which one the project's Playwright follows.

Tests whose unit crashed (`error` records) or that never ran have no result in any blob, so the merged
report would leave them out; this blob carries them as Playwright test results (a failure with the
error's message, or skipped). The blob format is Playwright's internal, versioned one (`report.jsonl`
in a zip; read by merge-reports of every later version through its modernizer): the run's time is
written for the versions whose common events are known (1 and 2), tests only for version 2 (from
Playwright 1.43), whose project tree holds `entries`. For any other version no blob is written.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from runner.json_text import utf8_json
from runner.model import TestRecord

# Sorts before the units' blobs (merge-reports orders them by name), so the units' configuration,
# merged after this one, is the one the report shows.
RUN_BLOB_NAME = "0-hypertest-run.zip"
TIME_BLOB_VERSIONS = (1, 2)  # blob formats whose onConfigure/onBegin/onEnd events this writes
TESTS_BLOB_VERSION = 2  # the blob format whose project tree (suites with `entries`) this writes
_COMMON_EVENTS = ("onBlobReportMetadata", "onConfigure", "onProject", "onEnd")

Key = tuple[str, str, tuple[str, ...], int]  # project, file, title path, repeat index


@dataclass
class BlobFacts:
    """What the units' blobs say that the run's blob needs: format, configuration, projects, tests, times."""

    versions: set[int] = field(default_factory=set)
    metadata: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    tests: set[Key] = field(default_factory=set)
    start_ms: float | None = None
    end_ms: float | None = None

    def add_event(self, event: Mapping[str, Any]) -> None:
        """Take in one common event (metadata, configuration, project or end) of a unit's blob."""
        method, params = event.get("method"), event.get("params") or {}
        if method == "onBlobReportMetadata":
            self.versions.add(int(params.get("version", 0)))
            self.metadata = self.metadata or dict(params)
        elif method == "onConfigure":
            self.config = self.config or dict(params["config"])
        elif method == "onProject":
            project = params["project"]
            self.projects.setdefault(str(project["name"]), project)
            for suite in project.get("suites", []):
                self._add_tests(str(project["name"]), str(suite.get("title", "")), suite, ())
        elif method == "onEnd":
            result = params["result"]
            start, end = float(result["startTime"]), float(result["startTime"]) + float(result["duration"])
            self.start_ms = start if self.start_ms is None else min(self.start_ms, start)
            self.end_ms = end if self.end_ms is None else max(self.end_ms, end)

    def _add_tests(self, project: str, file: str, suite: Mapping[str, Any], titles: tuple[str, ...]) -> None:
        entries = suite.get("entries")
        if entries is None:  # version 1: suites and tests apart
            entries = [*suite.get("suites", []), *suite.get("tests", [])]
        for entry in entries:
            if "testId" in entry:
                self.tests.add((project, file, (*titles, str(entry["title"])), int(entry.get("repeatEachIndex", 0))))
            else:
                self._add_tests(project, file, entry, (*titles, str(entry.get("title", ""))))


def read_blob_facts(blobs: Iterable[Path]) -> BlobFacts:
    """The common events of every blob zip (their test and step events are not parsed)."""
    facts = BlobFacts()
    for blob in blobs:
        with zipfile.ZipFile(blob) as archive:
            for name in sorted(archive.namelist()):
                if not name.endswith(".jsonl"):
                    continue
                for line in archive.read(name).splitlines():
                    # as merge-reports does: only lines naming a common event are parsed
                    if not any(method.encode() in line for method in _COMMON_EVENTS):
                        continue
                    event = json.loads(line)
                    if event.get("method") in _COMMON_EVENTS:
                        facts.add_event(event)
    return facts


def record_key(record: TestRecord) -> Key:
    """The key of a results.json record, comparable with the tests of the blobs."""
    return (str(record["project"]), str(record["file"]), tuple(record["titlePath"]),
            int(record.get("repeatEachIndex") or 0))


def write_run_blob(target: Path, facts: BlobFacts, extra_records: Sequence[TestRecord], *,
                   started_at: datetime | None = None, ended_at: datetime | None = None) -> Path | None:
    """Write the run's blob (see the module's docstring) at target; None when the blobs' format is unknown.

    The run's window runs from started_at (else the first unit's start) to ended_at (else now when
    started_at is given, else the last unit's end), widened to cover every unit. extra_records that a
    unit's blob already has are left out, so no test is reported twice.
    """
    if facts.config is None or facts.metadata is None or len(facts.versions) != 1:
        return None
    [version] = facts.versions
    if version not in TIME_BLOB_VERSIONS:
        return None
    start_ms, end_ms = _window(facts, started_at, ended_at)
    records = [r for r in extra_records if record_key(r) not in facts.tests] if version == TESTS_BLOB_VERSION else []
    separator = str(facts.metadata.get("pathSeparator") or "/")
    metadata = {"version": version, "userAgent": facts.metadata.get("userAgent", ""), "pathSeparator": separator}
    # counted as no worker and no metadata of its own when merge-reports adds up the configurations
    config = {**facts.config, "metadata": {}, "workers": 0, "shard": None}
    events: list[dict[str, Any]] = [{"method": "onBlobReportMetadata", "params": metadata},
                                     {"method": "onConfigure", "params": {"config": config}}]
    tests = _TestEvents(separator, start_ms)
    by_project: dict[str, list[TestRecord]] = {}
    for record in records:
        by_project.setdefault(str(record["project"]), []).append(record)
    for name, group in by_project.items():
        project = copy.deepcopy(facts.projects.get(name)) or _bare_project(name)
        project["suites"] = tests.file_suites(group)
        events.append({"method": "onProject", "params": {"project": project}})
    events.append({"method": "onBegin"})
    events.extend(tests.results)
    failed = any(r["outcome"] == "unexpected" for r in records)
    events.append({"method": "onEnd", "params": {"result": {
        "status": "failed" if failed else "passed", "startTime": start_ms, "duration": end_ms - start_ms}}})
    lines = "".join(utf8_json(event, separators=(",", ":")) + "\n" for event in events)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("report.jsonl", lines)
    return target


def _window(facts: BlobFacts, started_at: datetime | None, ended_at: datetime | None) -> tuple[float, float]:
    starts = [value for value in (facts.start_ms, _ms(started_at)) if value is not None]
    ends = [value for value in (facts.end_ms, _ms(ended_at)) if value is not None]
    if started_at is not None and ended_at is None:
        ends.append(time.time() * 1000)
    start = min(starts) if starts else time.time() * 1000
    end = max([*ends, start])
    return start, end


def _ms(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp() * 1000


def _bare_project(name: str) -> dict[str, Any]:
    return {"metadata": {}, "name": name, "outputDir": "", "repeatEach": 1, "retries": 0, "testDir": "",
            "testIgnore": [], "testMatch": [], "timeout": 0, "suites": [], "grep": [], "grepInvert": [],
            "dependencies": [], "snapshotDir": "", "use": {}}


class _TestEvents:
    """The project tree entries and the begin/end events of the extra records, in the blob's format."""

    def __init__(self, separator: str, start_ms: float) -> None:
        self.separator = separator
        self.start_ms = start_ms
        self.results: list[dict[str, Any]] = []

    def file_suites(self, records: Sequence[TestRecord]) -> list[dict[str, Any]]:
        """The file suites (with describe suites inside) holding these records' tests."""
        files: dict[str, dict[str, Any]] = {}
        for record in records:
            file = str(record["file"]).replace("/", self.separator)
            suite = files.setdefault(file, {"title": file, "location": {"file": file, "line": 0, "column": 0},
                                            "entries": []})
            location = {"file": file, "line": int(record["line"]), "column": int(record["column"])}
            for title in record["titlePath"][:-1]:
                suite = self._describe(suite, str(title), location)
            suite["entries"].append(self._test(record, location))
        return list(files.values())

    @staticmethod
    def _describe(parent: dict[str, Any], title: str, location: Mapping[str, Any]) -> dict[str, Any]:
        for entry in parent["entries"]:
            if "testId" not in entry and entry["title"] == title:
                found: dict[str, Any] = entry
                return found
        suite: dict[str, Any] = {"title": title, "location": dict(location), "entries": []}
        parent["entries"].append(suite)
        return suite

    def _test(self, record: TestRecord, location: Mapping[str, Any]) -> dict[str, Any]:
        test_id = "hypertest-" + hashlib.sha1(str(record["id"]).encode(), usedforsecurity=False).hexdigest()[:20]
        annotations = [{"type": str(a["type"]), **({"description": str(a["description"])}
                                                 if a.get("description") is not None else {})}
                       for a in record.get("annotations") or [] if isinstance(a, Mapping) and a.get("type")]
        status, expected, errors = _result_of(record)
        result_id = test_id + "-0"
        self.results.append({"method": "onTestBegin", "params": {"testId": test_id, "result": {
            "id": result_id, "retry": 0, "workerIndex": 0, "parallelIndex": 0, "startTime": self.start_ms}}})
        self.results.append({"method": "onTestEnd", "params": {
            "test": {"testId": test_id, "expectedStatus": expected, "timeout": 0, "annotations": annotations},
            "result": {"id": result_id, "duration": sum(int(a.get("durationMs") or 0) for a in record["attempts"]),
                       "status": status, "errors": errors,
                       **({"annotations": annotations} if annotations else {})}}})
        return {"testId": test_id, "title": str(record["titlePath"][-1]), "location": dict(location), "retries": 0,
                "tags": [str(tag) for tag in record.get("tags") or []],
                "repeatEachIndex": int(record.get("repeatEachIndex") or 0), "annotations": annotations}


def _result_of(record: TestRecord) -> tuple[str, str, list[dict[str, str]]]:
    """Playwright's (status, expected status, errors) for a record no blob has."""
    messages = [str(error["message"]) for attempt in record["attempts"] if isinstance(attempt, Mapping)
                for error in [attempt.get("error")] if isinstance(error, Mapping) and error.get("message")]
    errors = [{"message": message, "stack": message} for message in messages[-1:]]
    if record["status"] == "error":  # no result: a failure, whatever the test expected
        return "failed", "passed", errors or [{"message": "hypertest got no result for this test",
                                                "stack": "hypertest got no result for this test"}]
    if record["status"] == "skipped":
        return "skipped", "skipped", []
    return str(record["status"]), str(record.get("expectedStatus") or "passed"), errors
