"""Aggregate unit results into one record per discovered test, and decide the run's conclusion."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import cast

from hypertest.core.retry_unit import retry_of
from hypertest.core.suite import TestCase, Unit
from hypertest.errors import ExitCode
from runner import RESULT_SCHEMA_VERSION
from runner.model import (
    Stats,
    TestPlace,
    TestRecord,
    UnitResult,
    UnitSummary,
    error_test_record,
    make_attempt,
)


class RecordIdentity(TestPlace):
    """What a record says of its test, from discovery (not from the runner)."""

    tags: list[str]
    unitId: str
    repeatEachIndex: int


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
    if "runPath" in result:
        summary["runPath"] = result["runPath"]
    if "sandbox" in result:
        summary["sandbox"] = result["sandbox"]
    if "infra" in result:
        summary["infra"] = result["infra"]
    if retry_of(unit):
        summary["retryOf"] = retry_of(unit)
    return summary


def error_record(test: TestCase, unit_id: str, message: str, status: str = "error") -> TestRecord:
    """A record for a test that produced no valid result (status `error`, or `interrupted`)."""
    record = error_test_record(test_id=test.id, project=test.project, file=test.file, title_path=test.title_path,
                               message=message, status=status, line=test.line, column=test.column,
                               expected_status=test.expected_status)
    return {**record, **record_identity(test, unit_id)}


def not_run_records(unit: Unit, blocking: Sequence[str]) -> list[TestRecord]:
    """Records of a unit that did not run because groups it requires failed: skipped, as Playwright has it."""
    return skipped_records(unit, f"did not run: its dependency project "
                                 f"{', '.join(repr(name) for name in blocking)} failed")


def skipped_records(unit: Unit, reason: str) -> list[TestRecord]:
    """Records of a unit that never started (for the reason given): skipped, as Playwright reports a test it
    did not run (no result; its list reporter says "did not run")."""
    return [cast(TestRecord, {
        **record_identity(test, unit.id),
        "status": "skipped",
        "expectedStatus": test.expected_status,
        "outcome": "skipped",
        "annotations": [{"type": "skip", "description": reason}],
        "attempts": [make_attempt(status="skipped")],
        "artifacts": [],
    }) for test in unit.tests]


def record_identity(test: TestCase, unit_id: str) -> RecordIdentity:
    """What a record says of its test, from discovery: its id, place, title path, tags, unit and repetition."""
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
    quarantined = sum(1 for r in records if r["outcome"] == "unexpected" and r.get("quarantined"))
    counts: Stats = {
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
    if quarantined:
        counts["quarantined"] = quarantined
    return counts


def conclusion(counts: Stats, fail_on_flaky: bool, *, teardown_failed: bool = False,
               interrupted: bool = False) -> tuple[str, ExitCode]:
    """The run's conclusion and exit code: real failures first, then infrastructure errors, then flaky.

    An interrupted test (stopped at its unit's deadline) fails the run like a failed one. A run whose global
    teardown failed is an error even when its tests passed; a run stopped by Ctrl-C (interrupted) is failed
    with the exit code INTERRUPTED.
    """
    if interrupted:
        return "failed", ExitCode.INTERRUPTED
    verdict = _tests_conclusion(counts, fail_on_flaky)
    if teardown_failed and verdict[1] == ExitCode.OK:
        return "error", ExitCode.INFRASTRUCTURE  # the tests passed; the run did not
    return verdict


def _tests_conclusion(counts: Stats, fail_on_flaky: bool) -> tuple[str, ExitCode]:
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
