"""Turn the result plugin's JSON lines into hypertest test records (schema/result.schema.json, testRecord).

An attempt is one run of a test's setup, call and teardown (pytest-rerunfailures runs a failed test
again: each run is an attempt, retry 0, 1, ...). How pytest's outcomes map:

| pytest                                      | status  | expectedStatus | outcome    | annotation      |
| ------------------------------------------- | ------- | -------------- | ---------- | --------------- |
| passed                                      | passed  | passed         | expected   |                 |
| failed in call                              | failed  | passed         | unexpected |                 |
| error in setup or teardown (a fixture's)    | failed  | passed         | unexpected |                 |
| skipped (pytest.skip, skip/skipif markers)  | skipped | skipped        | skipped    | skip: reason    |
| xfail (the expected failure happened)       | failed  | failed         | expected   | xfail: reason   |
| xpass, not strict (pytest exits 0)          | passed  | passed         | expected   | xpass: reason   |
| xpass, strict (pytest fails it)             | failed  | passed         | unexpected | xpass: reason   |
| failed, then passed on a rerun              | passed  | passed         | flaky      |                 |

An error in setup or teardown names its phase in the error message ("error in setup: ..."); pytest
counts such errors as failures for its exit code, and so does an unexpected outcome here. The last
attempt gives the record's status; an attempt whose teardown was never reported (pytest was stopped or
crashed) has the status the caller gives for tests that did not finish (`interrupted` at the deadline,
else `error`), and so has a requested test that was not reported at all. `project` is "" and `column`
0; `file`, `line` and `titlePath` come from the request (from collection); artifacts are added later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.json_text import read_json_lines
from runner.model import ErrorInfo, ErrorLocation, error_info, error_test_record, make_attempt
from runner.pytest.payload import RequestedTest


@dataclass
class Reports:
    """What the result plugin wrote: phase reports per node id, collection facts, and the end."""

    phases: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    collected: list[str] | None = None
    collect_errors: list[dict[str, Any]] = field(default_factory=list)
    started: bool = False
    ended: bool = False


def parse_result_lines(path: Path) -> Reports:
    """Read the result plugin's JSON-lines file; a torn last line (a killed run) is counted, not fatal."""
    reports = Reports()
    entries = read_json_lines(path)
    for entry in entries:
        kind = entry.get("type")
        if kind == "report" and isinstance(entry.get("nodeId"), str):
            reports.phases.setdefault(entry["nodeId"], []).append(entry)
        elif kind == "collected" and isinstance(entry.get("nodeIds"), list):
            reports.collected = [str(node_id) for node_id in entry["nodeIds"]]
        elif kind == "collectError":
            reports.collect_errors.append(entry)
        elif kind == "start":
            reports.started = True
        elif kind == "end":
            reports.ended = True
    return reports


def split_attempts(phases: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """A test's phase reports grouped by attempt: by pytest-rerunfailures' index, else at each setup."""
    attempts: list[list[dict[str, Any]]] = []
    current_index: object = None
    for phase in phases:
        index = phase.get("attempt")
        new = not attempts or (index != current_index if isinstance(index, int)
                               else phase.get("phase") == "setup")
        if new:
            attempts.append([])
            current_index = index
        attempts[-1].append(phase)
    return attempts


@dataclass(frozen=True)
class AttemptResult:
    """One attempt in the result schema's terms."""

    status: str
    expected_status: str
    errors: list[ErrorInfo]
    annotations: list[dict[str, Any]]
    duration_ms: int
    start_time: str | None
    setup_ms: int | None = None  # the setup phase (fixtures), when pytest reported it
    teardown_ms: int | None = None


def attempt_result(phases: Sequence[dict[str, Any]], *, unfinished_status: str,
                   unfinished_message: str) -> AttemptResult:
    """The status, expected status, errors and annotations of one attempt's phase reports."""
    by_phase = {str(p.get("phase")): p for p in phases}
    call, setup = by_phase.get("call"), by_phase.get("setup")
    errors = [_error(p) for p in phases if p.get("outcome") in ("failed", "rerun")]
    annotations: list[dict[str, Any]] = []
    expected = "passed"
    wasxfail = next((p.get("wasxfail") for p in phases if p.get("wasxfail") is not None), None)
    if "teardown" not in by_phase:
        status = unfinished_status
        errors.append(error_info(unfinished_message))
    elif errors:
        status = "failed"
        if call is not None and call.get("xpassStrict"):
            annotations.append({"type": "xpass", "description": _xpass_reason(call)})
    elif wasxfail is not None and any(p.get("outcome") == "skipped" for p in phases):
        status, expected = "failed", "failed"
        annotations.append({"type": "xfail", "description": wasxfail})
        errors = [_error(p) for p in phases if p.get("outcome") == "skipped" and p.get("crash")]
    elif any(p.get("outcome") == "skipped" for p in phases):
        status = expected = "skipped"
        skipped = next(p for p in phases if p.get("outcome") == "skipped")
        annotations.append({"type": "skip", "description": str(skipped.get("skipReason") or "")})
    else:
        status = "passed"
        if wasxfail is not None:
            annotations.append({"type": "xpass", "description": wasxfail})
    starts = [p["start"] for p in phases if isinstance(p.get("start"), (int, float))]
    first = setup if setup is not None else (phases[0] if phases else {})
    start = first.get("start") if isinstance(first.get("start"), (int, float)) else min(starts, default=None)
    return AttemptResult(
        status=status, expected_status=expected, errors=errors, annotations=annotations,
        duration_ms=max(0, int(sum(float(p.get("duration") or 0) for p in phases) * 1000)),
        start_time=_iso(start), setup_ms=_phase_ms(setup), teardown_ms=_phase_ms(by_phase.get("teardown")))


def _phase_ms(phase: dict[str, Any] | None) -> int | None:
    """A phase's duration in milliseconds (None: not reported, or not a number)."""
    duration = None if phase is None else phase.get("duration")
    return max(0, int(float(duration) * 1000)) if isinstance(duration, int | float) else None


def build_records(tests: Sequence[RequestedTest], reports: Reports, *, unfinished_status: str,
                  missing_message: Callable[[RequestedTest], str]) -> list[dict[str, Any]]:
    """One record per requested test, in request order; an unreported test gets unfinished_status."""
    records = []
    for test in tests:
        phases = reports.phases.get(test.node_id, [])
        if phases:
            records.append(_reported(test, split_attempts(phases), unfinished_status, missing_message(test)))
        else:
            records.append(_missing(test, unfinished_status, missing_message(test)))
    return records


def attempt_artifacts(reports: Reports, test: RequestedTest) -> list[list[dict[str, str]]]:
    """pytest-playwright's artifacts of each attempt of a test (same order as the record's attempts)."""
    return [[a for p in attempt for a in p.get("artifacts") or []]
            for attempt in split_attempts(reports.phases.get(test.node_id, []))]


def unrequested(tests: Iterable[RequestedTest], reports: Reports) -> int:
    """How many tests pytest reported that were not requested (they are left out of the result)."""
    wanted = {test.node_id for test in tests}
    return sum(1 for node_id in reports.phases if node_id not in wanted)


def _reported(test: RequestedTest, attempts: list[list[dict[str, Any]]], unfinished_status: str,
              unfinished_message: str) -> dict[str, Any]:
    results = [attempt_result(a, unfinished_status=unfinished_status, unfinished_message=unfinished_message)
               for a in attempts]
    last = results[-1]
    if last.status == "skipped":
        outcome = "skipped"
    elif last.status == last.expected_status:
        earlier_failed = any(r.status != r.expected_status for r in results[:-1])
        outcome = "flaky" if earlier_failed and last.status == "passed" else "expected"
    else:
        outcome = "unexpected"
    return _record(test, last.status, last.expected_status, outcome, annotations=last.annotations, attempts=[
        dict(make_attempt(retry=retry, status=r.status, duration_ms=r.duration_ms, start_time=r.start_time,
                          errors=r.errors, setup_ms=r.setup_ms, teardown_ms=r.teardown_ms))
        for retry, r in enumerate(results)])


def _missing(test: RequestedTest, status: str, message: str) -> dict[str, Any]:
    return dict(error_test_record(test_id=test.id, project="", file=test.file, title_path=test.title_path,
                                  message=message, status=status, line=test.line))


def _record(test: RequestedTest, status: str, expected: str, outcome: str, *, annotations: list[dict[str, Any]],
            attempts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": test.id,
        "project": "",
        "file": test.file,
        "titlePath": list(test.title_path),
        "line": test.line,
        "column": 0,
        "status": status,
        "expectedStatus": expected,
        "outcome": outcome,
        "annotations": annotations,
        "attempts": attempts,
        "artifacts": [],
    }


def _error(phase: dict[str, Any]) -> ErrorInfo:
    found = phase.get("crash")
    crash: dict[str, Any] = found if isinstance(found, dict) else {}
    message = str(crash.get("message") or phase.get("longrepr") or "failed")
    when = phase.get("phase")
    if when in ("setup", "teardown"):
        message = f"error in {when}: {message}"
    location: ErrorLocation | None = None
    if crash.get("path") and isinstance(crash.get("line"), int):
        location = {"file": str(crash["path"]), "line": int(crash["line"]), "column": 0}
    return error_info(message, stack=str(phase.get("longrepr") or ""), location=location)


def _xpass_reason(call: dict[str, Any]) -> str:
    text = str((call.get("crash") or {}).get("message") or call.get("longrepr") or "")
    return text.removeprefix("[XPASS(strict)]").strip()


def _iso(epoch: Any) -> str | None:
    if not isinstance(epoch, (int, float)):
        return None
    return dt.datetime.fromtimestamp(float(epoch), dt.UTC).isoformat().replace("+00:00", "Z")
