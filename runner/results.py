"""Turn the reporter's JSON lines into one record per requested test, never leaving a test out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.json_text import read_json_lines
from runner.model import error_test_record, make_attempt
from runner.payload import TestKey, TestRef

STATUSES = ("passed", "failed", "timedOut", "skipped", "interrupted")
OUTCOMES = ("expected", "unexpected", "flaky", "skipped")


@dataclass
class Parsed:
    """What the reporter wrote: attempts per test key, global errors, and whether the run ended."""

    attempts: dict[TestKey, list[dict[str, Any]]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    ended: bool = False


def parse_reporter_lines(path: Path) -> Parsed:
    """Read the reporter's JSON-lines file; a torn last line (a killed run) is counted, not fatal."""
    parsed = Parsed()
    records = read_json_lines(path)
    for record in records:
        kind = record.get("type")
        if kind == "testEnd":
            key = (str(record["project"]), str(record["file"]), tuple(record["titlePath"]),
                   int(record.get("repeatEachIndex") or 0))
            parsed.attempts.setdefault(key, []).append(record)
        elif kind == "error":
            parsed.errors.append(record.get("error") or {})
        elif kind == "end":
            parsed.ended = True
    return parsed


def build_test_records(tests: Sequence[TestRef], parsed: Parsed, *, missing_status: str,
                       missing_message: str) -> list[dict[str, Any]]:
    """One record per requested test, in request order; unreported tests get missing_status."""
    records = []
    for test in tests:
        attempts = sorted(parsed.attempts.get(test.key, []), key=lambda a: int(a.get("retry", 0)))
        if attempts:
            records.append(_reported(test, attempts))
        else:
            records.append(_missing(test, missing_status, missing_message))
    return records


def _reported(test: TestRef, attempts: list[dict[str, Any]]) -> dict[str, Any]:
    last = attempts[-1]
    status = last["status"] if last.get("status") in STATUSES else "failed"
    outcome = last.get("outcome") if last.get("outcome") in OUTCOMES else "unexpected"
    if status == "interrupted":
        outcome = "unexpected"
    return {
        "id": test.id,
        "project": test.project,
        "file": test.file,
        "titlePath": list(test.title_path),
        "line": int(last.get("line", 0)),
        "column": int(last.get("column", 0)),
        "status": status,
        "expectedStatus": last.get("expectedStatus", "passed"),
        "outcome": outcome,
        "annotations": last.get("annotations", []),
        "attempts": [_attempt(a) for a in attempts],
        "artifacts": [],
    }


def _attempt(record: dict[str, Any]) -> dict[str, Any]:
    status = record.get("status")
    return dict(make_attempt(retry=int(record.get("retry", 0)), status=status if status in STATUSES else "failed",
                             duration_ms=max(0, int(record.get("duration", 0))), start_time=record.get("startTime"),
                             errors=record.get("errors") or []))


def _missing(test: TestRef, status: str, message: str) -> dict[str, Any]:
    return dict(error_test_record(test_id=test.id, project=test.project, file=test.file,
                                  title_path=test.title_path, message=message, status=status))


def unrequested(tests: Iterable[TestRef], parsed: Parsed) -> int:
    """How many tests the run reported that were not requested (they are left out of the result)."""
    wanted = {test.key for test in tests}
    return sum(1 for key in parsed.attempts if key not in wanted)
