"""Aggregate unit results into one record per discovered test, and decide the run's conclusion."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hypertest.core.models import OUTCOMES, STATUSES, TestCase, Unit
from hypertest.errors import ExitCode
from runner.model import error_test_record, make_attempt


def unit_records(unit: Unit, result: Any) -> list[dict[str, Any]]:
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


def error_record(test: TestCase, unit_id: str, message: str, status: str = "error") -> dict[str, Any]:
    """A record for a test that produced no valid result (status `error`, or `interrupted`)."""
    record = error_test_record(test_id=test.id, project=test.project, file=test.file, title_path=test.title_path,
                               message=message, status=status, line=test.line, column=test.column,
                               expected_status=test.expected_status)
    return {**record, **_identity(test, unit_id)}


def not_run_records(unit: Unit, blocking: Sequence[str]) -> list[dict[str, Any]]:
    """Records of a unit that did not run because groups it requires failed: skipped, as Playwright has it."""
    return skipped_records(unit, f"did not run: its dependency project "
                                 f"{', '.join(repr(name) for name in blocking)} failed")


def skipped_records(unit: Unit, reason: str) -> list[dict[str, Any]]:
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


def _identity(test: TestCase, unit_id: str) -> dict[str, Any]:
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


def _merge(test: TestCase, unit_id: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **_identity(test, unit_id),
        "status": raw["status"],
        "expectedStatus": raw.get("expectedStatus", test.expected_status),
        "outcome": "unexpected" if raw["status"] in ("interrupted", "error") else raw["outcome"],
        "annotations": list(raw.get("annotations") or []),
        "attempts": list(raw["attempts"]),
        "artifacts": list(raw.get("artifacts") or []),
    }


def _unit_error(result: Any) -> str | None:
    if not isinstance(result, Mapping):
        return f"the runner returned malformed output ({type(result).__name__}, not an object)"
    if result.get("status") in ("error", "deadline") and result.get("error"):
        return str(result["error"])
    return None


def _reported_by_id(result: Any) -> dict[str, Mapping[str, Any]]:
    if not isinstance(result, Mapping) or not isinstance(result.get("tests"), list):
        return {}
    found: dict[str, Mapping[str, Any]] = {}
    for raw in result["tests"]:
        if isinstance(raw, Mapping) and isinstance(raw.get("id"), str):
            found.setdefault(raw["id"], raw)
    return found


def _invalid_record(raw: Mapping[str, Any]) -> str | None:
    if raw.get("status") not in STATUSES:
        return f"the runner reported an unknown status {raw.get('status')!r}"
    if raw.get("outcome") not in OUTCOMES:
        return f"the runner reported an unknown outcome {raw.get('outcome')!r}"
    attempts = raw.get("attempts")
    if not isinstance(attempts, list) or not attempts or not all(isinstance(a, Mapping) for a in attempts):
        return "the runner reported no attempts"
    return None


def stats(records: Iterable[Mapping[str, Any]]) -> dict[str, int]:
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


def conclusion(counts: Mapping[str, int], fail_on_flaky: bool) -> tuple[str, ExitCode]:
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


def ordered_records(units: Sequence[Unit], by_unit: Mapping[str, Sequence[dict[str, Any]]],
                    tests: Sequence[TestCase], *, interrupted: bool = False) -> list[dict[str, Any]]:
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
