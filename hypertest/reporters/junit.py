"""JUnit XML: one <testsuite> per project and file, one <testcase> per test: text made safe for XML
(hypertest/core/safe_text.py: invisible characters shown as `<U+202E>`, characters XML cannot carry as
U+FFFD, attributes capped at 1,000 characters and an error's text at 20,000), then escaped by the XML
writer."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from itertools import groupby
from pathlib import Path
from typing import TextIO

from hypertest.core.contracts import Reporter
from hypertest.core.safe_text import xml_text
from runner.model import RunResult, TestRecord

ATTRIBUTE_LIMIT = 1_000
TEXT_LIMIT = 20_000  # results.json keeps the whole error


def render_junit(result: RunResult) -> str:
    """The JUnit XML document for a results.json document."""
    records = result["tests"]
    root = ET.Element("testsuites", {
        "name": _clean(f"hypertest {result['runId']}"),
        "tests": str(len(records)),
        "failures": str(sum(1 for r in records if _kind(r) == "failure")),
        "errors": str(sum(1 for r in records if _kind(r) == "error")),
        "skipped": str(sum(1 for r in records if _kind(r) == "skipped")),
        "time": _seconds(result["durationMs"]),
    })
    for (project, file), group in groupby(sorted(records, key=lambda r: (r["project"], r["file"])),
                                          key=lambda r: (r["project"], r["file"])):
        cases = list(group)
        suite = ET.SubElement(root, "testsuite", {
            "name": _clean(f"[{project}] {file}" if project else file),
            "tests": str(len(cases)),
            "failures": str(sum(1 for r in cases if _kind(r) == "failure")),
            "errors": str(sum(1 for r in cases if _kind(r) == "error")),
            "skipped": str(sum(1 for r in cases if _kind(r) == "skipped")),
            "time": _seconds(sum(_duration(r) for r in cases)),
        })
        for record in cases:
            _testcase(suite, record)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


class JunitReporter(Reporter):
    """junit.xml in the run folder (`reporters: [junit]`)."""

    def reports(self, result: RunResult, run_dir: Path) -> Mapping[str, str]:
        """Write junit.xml next to results.json."""
        path = run_dir / "junit.xml"
        path.write_text(render_junit(result), encoding="utf-8")
        return {"junit": str(path)}


def REPORTER(out: TextIO) -> Reporter:
    """The JUnit reporter."""
    return JunitReporter()


def _testcase(suite: ET.Element, record: TestRecord) -> None:
    case = ET.SubElement(suite, "testcase", {
        "name": _clean(" › ".join(record["titlePath"])),
        "classname": _clean(record["file"]),
        "file": _clean(record["file"]),
        "line": str(record["line"]),
        "time": _seconds(_duration(record)),
    })
    kind = _kind(record)
    error = _last_error(record)
    if kind in ("failure", "error"):
        element = ET.SubElement(case, kind, {"message": _clean(error.splitlines()[0] if error else ""),
                                             "type": record["status"]})
        element.text = xml_text(error, TEXT_LIMIT)
    elif kind == "skipped":
        ET.SubElement(case, "skipped")
    if record["outcome"] == "flaky":
        ET.SubElement(case, "system-out").text = f"flaky: passed on attempt {len(record['attempts'])}"


def _kind(record: TestRecord) -> str:
    if record["status"] == "error":
        return "error"
    if record["outcome"] == "unexpected":
        return "failure"
    if record["outcome"] == "skipped":
        return "skipped"
    return "passed"


def _duration(record: TestRecord) -> int:
    return sum(int(a.get("durationMs", 0)) for a in record["attempts"])


def _last_error(record: TestRecord) -> str:
    for attempt in reversed(record["attempts"]):
        error = attempt.get("error")
        if error:
            return str(error.get("stack") or error.get("message") or "")
    return ""


def _clean(text: str) -> str:
    """An attribute's value."""
    return xml_text(text, ATTRIBUTE_LIMIT)


def _seconds(milliseconds: float) -> str:
    return f"{milliseconds / 1000:.3f}"
