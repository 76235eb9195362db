"""Console reporter: a live progress line on a terminal, periodic plain lines otherwise, then a summary."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from hypertest.core.contracts import Reporter, RunInfo
from hypertest.core.retry_unit import retry_of
from hypertest.core.safe_text import split_lines, strip_ansi, terminal_text
from hypertest.core.suite import Unit
from hypertest.github.triage_sections import (
    SECTIONS,
    attempts_story,
    base_of,
    evidence,
    grouped,
    quarantined_class,
    rate,
)
from runner.model import RunResult, TestRecord

PLAIN_INTERVAL_S = 10.0
MAX_LISTED_FAILURES = 50
ERROR_LINES = 6
MAX_TRIAGE_LINES = 200
TRIAGE_COLUMN = 14  # the classes' column: `pre-existing` and two spaces


class ConsoleReporter(Reporter):
    """Human-readable progress and summary on a text stream.

    Its events may come from several dispatcher slots at once: the counters change, and the line is
    drawn, under one lock. `running` counts the units in flight (begun and not yet ended).
    """

    def __init__(self, stream: TextIO, *, interactive: bool | None = None,
                 clock: Callable[[], float] = time.monotonic, interval_s: float = PLAIN_INTERVAL_S) -> None:
        self.stream = stream
        self.interactive = stream.isatty() if interactive is None else interactive
        self.clock = clock
        self.interval_s = interval_s
        self.started = clock()
        self.last_plain = self.started
        self.total_units = 0
        self.total_tests = 0
        self.done_units = 0
        self.done_tests = 0
        self.running = 0
        self.failed = 0
        self.interrupted = 0
        self._lock = threading.Lock()

    def on_begin(self, info: RunInfo) -> None:
        """Print what is about to run."""
        self.started = self.last_plain = self.clock()
        self.total_units = len(info.units)
        self.total_tests = info.total_tests
        self.stream.write(f"hypertest run {info.run_id}: {plural(info.total_tests, 'test')} in "
                          f"{plural(len(info.units), 'unit')}, {info.concurrency} at a time on {info.provider}\n")
        self.stream.flush()

    def on_unit_begin(self, unit: Unit) -> None:
        """Count a unit in flight and draw the progress line (a retry unit adds to the units to run)."""
        with self._lock:
            if retry_of(unit):  # not in the plan the run began with
                self.total_units += 1
            self.running += 1
            self._progress()

    def on_unit_end(self, unit: Unit, records: Sequence[TestRecord]) -> None:
        """Count the unit's finished tests; draw the progress line unless the slot is about to start another.

        A slot ends one unit and then begins the next: drawn in between, the line would show one unit
        fewer in flight than there are busy slots. While units are still queued, the next begin draws it.
        """
        with self._lock:
            self.running -= 1
            self.done_units += 1
            self.done_tests += len(records)
            self.failed += sum(1 for r in records if r["outcome"] == "unexpected" and r["status"] != "interrupted")
            self.interrupted += sum(1 for r in records if r["status"] == "interrupted")
            queued = self.total_units - self.done_units - self.running
            if queued <= 0:
                self._progress(force_plain=self.done_units == self.total_units)

    def _progress(self, force_plain: bool = False) -> None:
        elapsed = self.clock() - self.started
        interrupted = f"{self.interrupted} interrupted, " if self.interrupted else ""
        line = (f"[{self.done_tests}/{self.total_tests}] {self.failed} failed, {interrupted}{self.running} running, "
                f"{_clock(elapsed)}")
        if self.interactive:
            self.stream.write("\r\x1b[2K" + line)
            self.stream.flush()
        elif force_plain or self.clock() - self.last_plain >= self.interval_s:
            self.last_plain = self.clock()
            self.stream.write(line + "\n")
            self.stream.flush()

    def on_end(self, result: RunResult) -> None:
        """Print the summary: each unexpected test with its location and first error lines, then counts."""
        if self.interactive:
            self.stream.write("\r\x1b[2K")
        self.stream.write(render_summary(result))
        self.stream.flush()


def render_summary(result: RunResult) -> str:
    """The end-of-run summary text."""
    lines: list[str] = [""]
    failures = [r for r in result["tests"] if r["outcome"] == "unexpected"]
    flaky = [r for r in result["tests"] if r["outcome"] == "flaky"]
    for number, record in enumerate(failures[:MAX_LISTED_FAILURES], start=1):
        lines.append(f"  {number}) {_name(record)}  [{record['status']}]")
        lines.append(f"     at {printable(record['file'])}:{record['line']}:{record['column']}")
        lines.extend(f"     {text}" for text in _first_error_lines(record))
        lines.append("")
    if len(failures) > MAX_LISTED_FAILURES:
        lines.append(f"  … and {len(failures) - MAX_LISTED_FAILURES} more failures in results.json\n")
    if flaky:
        lines.append("  flaky (passed on a retry):")
        lines.extend(f"    {_name(r)}  ({printable(r['file'])}:{r['line']})" for r in flaky[:MAX_LISTED_FAILURES])
        lines.append("")
    triaged = _triage_lines(result)
    if triaged:
        lines.extend([*triaged, ""])
    counts = result["stats"]
    parts = [f"{counts['passed']} passed", f"{counts['failed']} failed"]
    if counts.get("interrupted"):
        parts.append(f"{counts['interrupted']} interrupted")
    for count, label in ((counts["flaky"], "flaky"), (counts["skipped"], "skipped"),
                         (counts["expectedFailures"], "failed as expected")):
        if count:
            parts.append(f"{count} {label}")
    if counts["errors"]:
        parts.append(plural(counts["errors"], "error"))
    quarantined = f" ({counts['quarantined']} quarantined: not failing the run)" if counts.get("quarantined") else ""
    lines.append(f"{result['conclusion'].upper()}: {', '.join(parts)} of {plural(counts['total'], 'test')} "
                 f"in {_clock(result['durationMs'] / 1000)}{quarantined}")
    for name, path in sorted(result.get("reports", {}).items()):
        lines.append(printable(f"  {name}: {path}"))
    return "\n".join(lines) + "\n"


def _triage_lines(result: RunResult) -> list[str]:
    """What failure triage compared the run with, then one line per triaged test, its class (or quarantined)
    in an aligned column: `  new           chromium › a.spec.ts:12 › checkout › pays — passed in main's last 3
    runs`; nothing when no test needs a class."""
    info = result.get("triage")
    groups = grouped(result) if info else {}
    rows = [(section, record) for section in SECTIONS for record in groups.get(section, [])]
    if not info or not rows:
        return []  # nothing failed, flaked or was fixed: nothing to compare
    base, runs = printable(base_of(result)), len(info["baseRuns"])
    lines = [f"  compared with {base} ({plural(runs, 'run')} of history from {printable(str(info['history']))}):"
             if runs else f"  no history of {base} yet: every failure counts as new:"]
    for section, record in rows[:MAX_TRIAGE_LINES]:
        said = _triage_said(section, record)
        lines.append(f"  {section:<{TRIAGE_COLUMN}}{_place(record)}" + (f" — {printable(said)}" if said else ""))
    if len(rows) > MAX_TRIAGE_LINES:
        lines.append(f"  … and {len(rows) - MAX_TRIAGE_LINES} more in results.json")
    return lines


def _triage_said(section: str, record: TestRecord) -> str:
    """A triaged test's evidence (raw text), with what its section adds: a flaky test's rate and attempts, a
    quarantined test's own class."""
    said = evidence(record)
    if section == "flaky":
        return "; ".join(part for part in (said, rate(record), attempts_story(record)) if part)
    if section == "quarantined":
        return f"{quarantined_class(record)}: {said}" if said else quarantined_class(record)
    return said


def _place(record: TestRecord) -> str:
    """`chromium › a.spec.ts:12 › describe › title`, terminal-escaped."""
    project = f"{record['project']} › " if record["project"] else ""
    return printable(f"{project}{record['file']}:{record['line']} › " + " › ".join(record["titlePath"]))


def plural(count: int, noun: str) -> str:
    """`1 test`, `2 tests`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _name(record: TestRecord) -> str:
    project = f"[{record['project']}] " if record["project"] else ""
    return printable(project + " › ".join(record["titlePath"]))


def printable(text: str) -> str:
    """text as one terminal line (hypertest/core/safe_text.py): control characters and line breaks shown as
    `\\x07`, invisible characters such as bidi controls as `<U+202E>`, at most 1,000 characters, so that a
    title cannot drive the terminal or hide what it says."""
    return terminal_text(text)


def _first_error_lines(record: TestRecord) -> list[str]:
    for attempt in reversed(record["attempts"]):
        error = attempt.get("error")
        if error and error.get("message"):
            text = strip_ansi(str(error["message"]))
            return [printable(line) for line in split_lines(text) if line.strip()][:ERROR_LINES]
    return []


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}" if minutes else f"{seconds:.1f}s"


def REPORTER(out: TextIO) -> Reporter:
    """The console reporter on the run's output stream (`reporters: [console]`)."""
    return ConsoleReporter(out)
