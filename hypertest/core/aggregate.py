"""Aggregate unit results into one record per discovered test, and decide the run's conclusion."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TypedDict, cast

from hypertest.core.models import OUTCOMES, STATUSES, TestCase, Unit
from hypertest.errors import ExitCode
from runner import RESULT_SCHEMA_VERSION
from runner.model import (
    Artifact,
    Attempt,
    Resources,
    Stats,
    TestRecord,
    UnitResult,
    UnitSummary,
    error_test_record,
    make_attempt,
)

UNIT_STATUSES = ("ok", "error", "deadline")


class _Identity(TypedDict):
    """What a record says of its test, from discovery (not from the runner)."""

    id: str
    project: str
    file: str
    line: int
    column: int
    titlePath: list[str]
    tags: list[str]
    unitId: str
    repeatEachIndex: int


def parse_unit_result(unit: Unit, raw: object) -> UnitResult:
    """The one parse of what a provider handed over for a unit (any JSON value): the unit's facts, typed
    (a value of the wrong type becomes its default), and the final record of each of the unit's tests, in
    the unit's order; a test missing or malformed becomes an `error` record."""
    found: Mapping[str, object] = raw if isinstance(raw, Mapping) else {}
    status = found.get("status")
    error = found.get("error")
    result: UnitResult = {
        "schemaVersion": _int(found.get("schemaVersion"), RESULT_SCHEMA_VERSION),
        "runId": _text(found.get("runId")) or "",
        "unitId": unit.id,
        "status": status if isinstance(status, str) and status in UNIT_STATUSES else "error",
        "error": None if error is None else str(error),
        "exitCode": _optional_int(found.get("exitCode")),
        "tests": _unit_records(unit, raw),
        "blob": _text(found.get("blob")),
        "unrequestedTests": _int(found.get("unrequestedTests"), 0),
        "outputTail": _text(found.get("outputTail")) or "",
        "startedAt": _text(found.get("startedAt")),
        "durationMs": _int(found.get("durationMs"), 0),
    }
    state, resources = found.get("state"), found.get("resources")
    if isinstance(state, str):
        result["state"] = state
    if isinstance(resources, Mapping):
        result["resources"] = _resources(resources)
    return result


def settled_unit_result(unit: Unit, records: Sequence[TestRecord]) -> UnitResult:
    """The result of a unit that never started, with the records core made for its tests."""
    return {"schemaVersion": RESULT_SCHEMA_VERSION, "runId": "", "unitId": unit.id, "status": "ok", "error": None,
            "exitCode": None, "tests": list(records), "blob": None, "unrequestedTests": 0, "outputTail": "",
            "startedAt": None, "durationMs": 0}


def unit_summary(unit: Unit, result: UnitResult) -> UnitSummary:
    """A unit as results.json lists it."""
    summary: UnitSummary = {"id": unit.id, "tests": [t.id for t in unit.tests], "status": result["status"],
                            "error": result["error"], "startedAt": result["startedAt"],
                            "durationMs": result["durationMs"], "blob": result["blob"]}
    if "resources" in result:
        summary["resources"] = result["resources"]
    return summary


def _unit_records(unit: Unit, result: object) -> list[TestRecord]:
    """The final record of each of the unit's tests; anything missing or malformed becomes `error`."""
    unit_error = _unit_error(result)
    reported = _reported_by_id(result)
    records = []
    for test in unit.tests:
        raw = reported.get(test.id)
        problem = _invalid_record(raw) if raw is not None else None
        if raw is None or problem is not None:
            message = unit_error or problem or "the runner returned no result for this test"
            records.append(error_record(test, unit.id, message))
        else:
            records.append(_merge(test, unit.id, raw))
    return records


def error_record(test: TestCase, unit_id: str, message: str, status: str = "error") -> TestRecord:
    """A record for a test that produced no valid result (status `error`, or `interrupted`)."""
    record = error_test_record(test_id=test.id, project=test.project, file=test.file, title_path=test.title_path,
                               message=message, status=status, line=test.line, column=test.column,
                               expected_status=test.expected_status)
    return {**record, **_identity(test, unit_id)}


def not_run_records(unit: Unit, blocking: Sequence[str]) -> list[TestRecord]:
    """Records of a unit that did not run because groups it requires failed: skipped, as Playwright has it."""
    return skipped_records(unit, f"did not run: its dependency project "
                                 f"{', '.join(repr(name) for name in blocking)} failed")


def skipped_records(unit: Unit, reason: str) -> list[TestRecord]:
    """Records of a unit that never started (for the reason given): skipped, as Playwright reports a test it
    did not run (no result; its list reporter says "did not run")."""
    return [{
        **_identity(test, unit.id),
        "status": "skipped",
        "expectedStatus": test.expected_status,
        "outcome": "skipped",
        "annotations": [{"type": "skip", "description": reason}],
        "attempts": [make_attempt(status="skipped")],
        "artifacts": [],
    } for test in unit.tests]


def _identity(test: TestCase, unit_id: str) -> _Identity:
    return {
        "id": test.id,
        "project": test.project,
        "file": test.file,
        "line": test.line,
        "column": test.column,
        "titlePath": list(test.title_path),
        "tags": list(test.tags),
        "unitId": unit_id,
        "repeatEachIndex": test.repeat_each_index or 0,
    }


def _merge(test: TestCase, unit_id: str, raw: Mapping[str, object]) -> TestRecord:
    """A valid record of the runner's (_invalid_record said so) with discovery's identity of its test."""
    status, expected = str(raw["status"]), raw.get("expectedStatus", test.expected_status)
    annotations, artifacts = raw.get("annotations") or [], raw.get("artifacts") or []
    return {
        **_identity(test, unit_id),
        "status": status,
        "expectedStatus": expected if isinstance(expected, str) else test.expected_status,
        "outcome": "unexpected" if status in ("interrupted", "error") else str(raw["outcome"]),
        "annotations": [dict(a) for a in annotations if isinstance(a, Mapping)] if isinstance(annotations, list)
        else [],
        # objects, checked by _invalid_record (attempts) and here (artifacts); their fields are the runner's
        "attempts": cast(list[Attempt], list(cast(list[object], raw["attempts"]))),
        "artifacts": cast(list[Artifact], [a for a in artifacts if isinstance(a, Mapping)])
        if isinstance(artifacts, list) else [],
    }


def _unit_error(result: object) -> str | None:
    if not isinstance(result, Mapping):
        return f"the runner returned malformed output ({type(result).__name__}, not an object)"
    if result.get("status") in ("error", "deadline") and result.get("error"):
        return str(result["error"])
    return None


def _reported_by_id(result: object) -> dict[str, Mapping[str, object]]:
    tests = result.get("tests") if isinstance(result, Mapping) else None
    if not isinstance(tests, list):
        return {}
    found: dict[str, Mapping[str, object]] = {}
    for raw in tests:
        if isinstance(raw, Mapping) and isinstance(raw.get("id"), str):
            found.setdefault(raw["id"], raw)
    return found


def _invalid_record(raw: Mapping[str, object]) -> str | None:
    if raw.get("status") not in STATUSES:
        return f"the runner reported an unknown status {raw.get('status')!r}"
    if raw.get("outcome") not in OUTCOMES:
        return f"the runner reported an unknown outcome {raw.get('outcome')!r}"
    attempts = raw.get("attempts")
    if not isinstance(attempts, list) or not attempts or not all(isinstance(a, Mapping) for a in attempts):
        return "the runner reported no attempts"
    return None


def _int(value: object, default: int) -> int:
    """value when it is a JSON number (a float cut to an integer), else default."""
    optional = _optional_int(value)
    return default if optional is None else optional


def _optional_int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if isinstance(value, int) else (int(value) if math.isfinite(value) else None)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _resources(found: Mapping[str, object]) -> Resources:
    peak_tmp = found.get("peakTmpMb")
    return {"peakMemoryMb": _int(found.get("peakMemoryMb"), 0),
            "peakTmpMb": _optional_int(peak_tmp)}


def stats(records: Iterable[TestRecord]) -> Stats:
    """Counts by status and outcome, plus the headline numbers."""
    records = list(records)

    def count(status: str | None = None, outcome: str | None = None) -> int:
        return sum(1 for r in records
                   if (status is None or r["status"] == status) and (outcome is None or r["outcome"] == outcome))

    unexpected = count(outcome="unexpected")
    errors = count(status="error", outcome="unexpected")
    interrupted = count(status="interrupted", outcome="unexpected")
    expected = count(outcome="expected")
    passed = count(status="passed", outcome="expected")
    return {
        "total": len(records),
        "passed": passed,
        "failed": unexpected - errors - interrupted,  # failed, timed out, or passed against test.fail()
        "flaky": count(outcome="flaky"),
        "skipped": count(outcome="skipped"),
        "errors": errors,
        "expected": expected,
        "unexpected": unexpected,
        "expectedFailures": expected - passed,
        "timedOut": count(status="timedOut"),
        "interrupted": interrupted,
    }


def conclusion(counts: Stats, fail_on_flaky: bool) -> tuple[str, ExitCode]:
    """The run's conclusion and exit code: real failures first, then infrastructure errors, then flaky.

    An interrupted test (stopped at its unit's deadline) fails the run like a failed one; after Ctrl-C
    the caller replaces the exit code with INTERRUPTED.
    """
    if counts["failed"] or counts["interrupted"]:
        return "failed", ExitCode.TESTS_FAILED
    if counts["errors"]:
        return "error", ExitCode.INFRASTRUCTURE
    if counts["flaky"] and fail_on_flaky:
        return "failed", ExitCode.TESTS_FAILED
    return "passed", ExitCode.OK


def ordered_records(units: Sequence[Unit], by_unit: Mapping[str, Sequence[TestRecord]],
                    tests: Sequence[TestCase], *, interrupted: bool = False) -> list[TestRecord]:
    """Every discovered test exactly once, in discovery order.

    A test whose unit never reported is `interrupted` when the run was interrupted, else `error`.
    """
    by_id = {record["id"]: record for unit in units for record in by_unit.get(unit.id, [])}
    unit_of = {test.id: unit.id for unit in units for test in unit.tests}
    for test in tests:
        if test.id not in by_id:
            by_id[test.id] = (
                error_record(test, unit_of.get(test.id, ""), "the run was interrupted before this test finished",
                             status="interrupted")
                if interrupted else error_record(test, unit_of.get(test.id, ""), "the test was never dispatched"))
    return [by_id[test.id] for test in tests]
