"""Golden files for what hypertest renders: the console summary and JUnit XML.

Set HT_UPDATE_GOLDEN=1 to rewrite the golden files after an intended change, then review the diff.
"""

from __future__ import annotations

import io
import os
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from hypertest.core.contracts import RunInfo
from hypertest.core.dispatcher import Dispatcher, UnitOutcome
from hypertest.core.suite import Unit
from hypertest.plugins.playwright.units import build_units
from hypertest.reporters.console import ConsoleReporter, render_summary
from hypertest.reporters.junit import render_junit
from tests.test_units import case

GOLDEN = Path(__file__).parent / "golden"
HOSTILE = 'quote " and <script>alert(1)</script> & ]]> | `tick` ::error:: %0A \x1b[31mred\x1b[0m \x07bell'


def record(title: str, status: str, outcome: str, *, error: str | None = None, attempts: int = 1,
           project: str = "chromium") -> dict[str, Any]:
    err = {"message": error, "stack": f"{error}\n    at tests/a.spec.ts:3:5", "location": None} if error else None
    return {
        "id": f"{project}-{title[:10]}", "project": project, "file": "dir/a & b.spec.ts", "line": 3, "column": 5,
        "titlePath": ["describe <b>", title], "tags": [], "unitId": "u1", "status": status,
        "expectedStatus": "passed", "outcome": outcome, "annotations": [],
        "attempts": [{"retry": n, "status": status, "durationMs": 1500, "error": err} for n in range(attempts)],
        "artifacts": [],
    }


def hostile_result() -> dict[str, Any]:
    tests = [
        record("passes", "passed", "expected"),
        record(HOSTILE, "failed", "unexpected", error=f"Error: expected {HOSTILE}\nline two\nline three",
               attempts=2),
        record("times out", "timedOut", "unexpected", error="Test timeout of 1500ms exceeded."),
        record("is flaky", "passed", "flaky", attempts=2),
        record("skipped", "skipped", "skipped"),
        record("crashed unit", "error", "unexpected", error="the runner process exited with code 137"),
        record("fails as expected", "failed", "expected", project=""),
        record("stopped at the deadline", "interrupted", "unexpected",
               error="the unit reached its deadline before this test finished"),
    ]
    return {
        "runId": "20261125T000000Z-abcdef", "durationMs": 83_000, "conclusion": "failed",
        "stats": {"total": 8, "passed": 1, "failed": 2, "flaky": 1, "skipped": 1, "errors": 1,
                  "expectedFailures": 1, "expected": 2, "unexpected": 4, "timedOut": 1, "interrupted": 1},
        "tests": tests,
        "reports": {"junit": "out/junit.xml", "results": "out/results.json"},
    }


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("HT_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, f"{name} changed; rerun with HT_UPDATE_GOLDEN=1 if intended"


def test_summary_golden() -> None:
    check_golden("summary.txt", render_summary(hostile_result()))


def test_junit_golden_and_well_formed() -> None:
    text = render_junit(hostile_result())
    check_golden("junit.xml", text)
    root = ET.fromstring(text.encode())
    # JUnit has no "interrupted": an interrupted test is a failure there
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("8", "3", "1", "1")
    names = [case.get("name") for case in root.iter("testcase")]
    assert any("<script>" in (name or "") for name in names)  # kept as text, escaped by the writer
    assert "\x1b" not in text and "\x07" not in text


def test_summary_lists_each_failure_with_location_and_error() -> None:
    text = render_summary(hostile_result())
    assert "[chromium] describe <b> › times out  [timedOut]" in text
    assert "at dir/a & b.spec.ts:3:5" in text
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b[31mred\\x1b[0m \\x07bell  [failed]" in text  # control characters shown, not obeyed
    assert ("FAILED: 1 passed, 2 failed, 1 interrupted, 1 flaky, 1 skipped, 1 failed as expected, 1 error "
            "of 8 tests in 1:23") in text


@pytest.mark.parametrize("interactive", [True, False])
def test_progress_on_a_terminal_and_in_a_log(interactive: bool) -> None:
    now = [0.0]
    stream = io.StringIO()
    reporter = ConsoleReporter(stream, interactive=interactive, clock=lambda: now[0], interval_s=10)
    units = [type("U", (), {"tests": (case("a"),)})() for _ in range(3)]
    reporter.on_begin(RunInfo("r", 3, units, 2, "local", "out"))  # type: ignore[arg-type]
    for index in range(3):
        now[0] += 6
        reporter.on_unit_begin(units[index])  # type: ignore[arg-type]
        reporter.on_unit_end(units[index], [record("x", "failed", "unexpected")])  # type: ignore[arg-type]
    text = stream.getvalue()
    if interactive:
        # drawn at each begin, and at the last end (an end with units queued is followed by a begin)
        assert text.count("\r\x1b[2K") == 4 and text.endswith("[3/3] 3 failed, 0 running, 18.0s")
    else:
        lines = [line for line in text.splitlines() if line.startswith("[")]
        # a line at most every 10 s, and always one when the last unit ends
        assert lines == ["[1/3] 1 failed, 1 running, 12.0s", "[3/3] 3 failed, 0 running, 18.0s"]


def progress_lines(text: str) -> list[str]:
    """Every progress line drawn, on a terminal (redrawn in place) or in a log (one per line)."""
    return [line for line in re.split(r"\r\x1b\[2K|\n", text) if line.startswith("[")]


@pytest.mark.parametrize("interactive", [True, False])
def test_running_counts_every_busy_slot_of_a_real_dispatcher(interactive: bool) -> None:
    """Two slots: while units are queued, every line drawn says 2 running, never 1.

    Unit n returns only once unit n+1 has begun, so each end happens while the other slot is busy
    and is followed by that slot beginning the next unit: the order of events is fixed, not timed.
    """
    stream = io.StringIO()
    reporter = ConsoleReporter(stream, interactive=interactive, clock=lambda: 0.0, interval_s=0)
    units = build_units([case(f"t{n}") for n in range(6)], "test")
    index = {unit.id: n for n, unit in enumerate(units)}
    begun = [threading.Event() for _ in units]

    def execute(unit: Unit) -> Mapping[str, object]:
        n = index[unit.id]
        begun[n].set()
        if n + 1 < len(units):
            assert begun[n + 1].wait(30), "the other slot never began the next unit"
        return {"tests": [{"id": t.id, "status": "passed", "outcome": "expected", "expectedStatus": "passed",
                           "attempts": [{"retry": 0, "status": "passed", "durationMs": 1, "error": None}]}
                          for t in unit.tests]}

    def ended(outcome: UnitOutcome) -> None:
        reporter.on_unit_end(outcome.unit, outcome.result["tests"])

    reporter.on_begin(RunInfo("r", len(units), units, 2, "local", "out"))
    Dispatcher(execute, 2, on_begin=reporter.on_unit_begin, on_end=ended).run(units)
    lines = [line.rsplit(",", 1)[0] for line in progress_lines(stream.getvalue())]
    assert lines == ["[0/6] 0 failed, 1 running",  # the first slot began, the second not yet
                     *[f"[{done}/6] 0 failed, 2 running" for done in range(5)],
                     "[5/6] 0 failed, 1 running",  # nothing queued: the last unit runs alone
                     "[6/6] 0 failed, 0 running"]


def test_progress_counts_interrupted_tests_apart_from_failures() -> None:
    stream = io.StringIO()
    reporter = ConsoleReporter(stream, interactive=False, clock=lambda: 0.0)
    [unit] = build_units([case("a")], "test")
    reporter.on_begin(RunInfo("r", 3, [unit], 2, "local", "out"))
    reporter.on_unit_begin(unit)
    reporter.on_unit_end(unit, [record("x", "failed", "unexpected"), record("y", "interrupted", "unexpected"),
                                record("z", "interrupted", "unexpected")])
    assert progress_lines(stream.getvalue())[-1] == "[3/3] 1 failed, 2 interrupted, 0 running, 0.0s"


def test_console_summary_of_hostile_text_golden() -> None:
    """Bidi controls, zero-width characters, BOM, soft hyphen, ANSI and control characters in titles, files
    and messages are shown (`<U+202E>`, `\\x07`), never passed to the terminal; every line is capped."""
    from tests.hostile_text import hostile_text_result, stray_characters

    text = render_summary(hostile_text_result())
    check_golden("hostile/summary.txt", text)
    assert stray_characters(text) == []
    assert "rlo<U+202E>exe.txt<U+202C>" in text
    # each piece at most 1,000 characters, with its number, indent and status around it
    assert max(len(line) for line in text.splitlines()) <= 1_000 + len("  50)   [interrupted]")
    assert "more characters)" in text


def test_junit_of_hostile_text_golden() -> None:
    from tests.hostile_text import hostile_text_result, stray_characters

    text = render_junit(hostile_text_result())
    check_golden("hostile/junit.xml", text)
    root = ET.fromstring(text.encode())
    assert stray_characters(text) == []
    for element in root.iter():
        assert all(len(value) <= 1_000 for value in element.attrib.values()), element.tag
        assert len(element.text or "") <= 20_000, element.tag
    assert any("rlo<U+202E>exe.txt" in (case.get("name") or "") for case in root.iter("testcase"))
    assert len(text) < 100_000
