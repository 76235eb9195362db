"""Retries in new sandboxes: a failed test's fresh attempts (testRunner.retryStrategy fresh) and the tests a lost
unit did not finish (infraRetries), each merged into one record per test.

When a unit ends, `Retries.settle` says which of its tests are final (reported now, counted by maxFailures) and
which run again: a test that failed (outcome unexpected: failed, timed out, or passed against test.fail()) gets
up to `fresh` more attempts, `parallel` of them at once, until one passes; a Playwright serial group runs again
whole. A test the infrastructure lost (core/infra_cause.py) runs again up to `infra` times, whatever the strategy.
Each retry is a RetryUnit: a new sandbox, run cold. A test's record merges its attempts in order (`retry`
0..n, each with its `sandbox`), the artifacts of every attempt with their `attempt`; its status is its last
attempt's and its outcome is Playwright's rule over its attempts (flaky when one passed after failures),
leaving out the attempts the infrastructure lost.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hypertest.core.config import Settings
from hypertest.core.dispatcher import Dispatcher, UnitOutcome
from hypertest.core.infra_cause import infra_cause, is_lost, labelled_attempt, labelled_record
from hypertest.core.retry_unit import RetryUnit
from hypertest.core.suite import TestCase, Unit
from runner.model import Artifact, Attempt, TestRecord, UnitResult

FAILED_STATUSES = ("failed", "timedOut", "passed")  # with outcome unexpected (passed: against test.fail())


@dataclass(frozen=True)
class Settled:
    """What a finished unit leaves: the records final now, the units to run next, the plan unit's records."""

    final: list[TestRecord]  # report these now (each test once, when its last attempt ended)
    retries: list[RetryUnit]  # run these next
    root: str  # the run plan's unit the tests belong to
    records: list[TestRecord]  # that unit's records as they stand (merged so far)


@dataclass
class _Test:
    """One test's attempts so far."""

    case: TestCase
    record: TestRecord
    next_attempt: int  # the index its next attempt takes
    running: int = 0  # retry units of it queued or running
    fresh_used: int = 0
    infra_used: int = 0
    passed: bool = False  # a fresh attempt passed: no more are queued
    lost: set[int] = field(default_factory=set)  # the attempts the infrastructure lost
    cause: str | None = None  # the cause of the last lost attempt


class Retries:
    """Decides the retries of finished units and merges their attempts; thread-safe (slots end units at once)."""

    def __init__(self, *, fresh: int, parallel: int, infra: int) -> None:
        self.fresh = max(0, fresh)
        self.parallel = max(1, parallel)
        self.infra = max(0, infra)
        self._tests: dict[str, _Test] = {}
        self._order: dict[str, list[str]] = {}  # plan unit -> its tests' ids
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    def settle(self, unit: Unit, result: UnitResult, records: Sequence[TestRecord], *, may_retry: bool = True,
               cut_short: bool = False) -> Settled:
        """Merge a finished unit's records and decide what runs again: its result says whether the
        infrastructure lost it (cut_short: the run stopped it, which is no infrastructure's doing); may_retry
        False when the run hands out no more units."""
        root = unit.retry_of if isinstance(unit, RetryUnit) else unit.id
        first = unit.attempt if isinstance(unit, RetryUnit) else 0
        cause = None if cut_short else infra_cause(result)
        cases = {test.id: test for test in unit.tests}
        with self._lock:
            if root not in self._order:
                self._order[root] = [test.id for test in unit.tests]
            lost: list[_Test] = []
            failed: list[_Test] = []
            touched: list[_Test] = []
            for record in records:
                if record["id"] not in cases:
                    continue
                test = self._merge(cases[record["id"]], record, first, cause if is_lost(record) else None)
                touched.append(test)
                if cause is not None and is_lost(record):
                    lost.append(test)
                elif self._failed(test, record):
                    failed.append(test)
            queued = self._queue(unit, root, lost, failed) if may_retry else []
            final = [self._final(test) for test in touched if test.running == 0]
            current = [self._tests[test_id].record for test_id in self._order[root] if test_id in self._tests]
        return Settled(final=final, retries=queued, root=root, records=current)

    @classmethod
    def of(cls, settings: Settings) -> Retries:
        """The retries the settings ask for: testRunner's fresh retries and parallelRetries, infraRetries."""
        runner = settings.test_runner
        return cls(fresh=runner.fresh_retries, parallel=runner.parallel_retries, infra=settings.infra_retries)

    def finish(self, outcome: UnitOutcome, records: Sequence[TestRecord], dispatcher: Dispatcher | None,
               by_unit: dict[str, list[TestRecord]], *, cut_short: bool) -> list[TestRecord]:
        """Settle a finished unit (its records as the run settled them; cut_short: the run stopped it), keep its
        tests' merged records under the run plan's unit in by_unit, submit its retries to the dispatcher; the
        records final now (each test once, after its last attempt)."""
        settled = self.settle(outcome.unit, outcome.result, records, cut_short=cut_short,
                              may_retry=dispatcher is not None and not dispatcher.stopped())
        by_unit[settled.root] = settled.records
        return self.dispatched(settled, dispatcher.submit if dispatcher is not None else lambda units: False)

    def dispatched(self, settled: Settled, submit: Callable[[Sequence[Unit]], bool]) -> list[TestRecord]:
        """Hand the settled unit's retries to submit (the dispatcher's); the records to report now: the final
        ones, and those of tests whose retries submit refused (the run stopped)."""
        if not settled.retries or submit(settled.retries):
            return settled.final
        return [*settled.final, *(record for unit in settled.retries for record in self.abandon(unit))]

    def abandon(self, unit: Unit) -> list[TestRecord]:
        """A retry unit that will not run (the run stopped): its tests end with the attempts they have; those
        now final."""
        with self._lock:
            final = []
            for case in unit.tests:
                test = self._tests.get(case.id)
                if test is None:
                    continue
                test.running = max(0, test.running - 1)
                if test.running == 0:
                    final.append(self._final(test))
            return final

    def _merge(self, case: TestCase, record: TestRecord, first: int, cause: str | None) -> _Test:
        """The test with this unit's attempts of it merged in (cause: the infrastructure lost its last one)."""
        attempts = [_renumbered(attempt, first + index) for index, attempt in enumerate(record["attempts"])]
        if cause is not None and attempts:
            attempts[-1] = labelled_attempt(attempts[-1], cause)
        artifacts = [_artifact_of(artifact, first) for artifact in record["artifacts"]]
        test = self._tests.get(case.id)
        if test is None:
            test = self._tests[case.id] = _Test(case=case, record={**record, "attempts": [], "artifacts": []},
                                                next_attempt=0)
        else:
            test.running = max(0, test.running - 1)
        test.next_attempt = max(test.next_attempt, first + len(attempts))
        if cause is not None:
            test.lost.add(first + len(attempts) - 1)
            test.cause = cause
        merged = sorted([*test.record["attempts"], *attempts], key=lambda attempt: attempt["retry"])
        test.record = {**test.record, "attempts": merged, "artifacts": [*test.record["artifacts"], *artifacts]}
        if first > 0 or test.lost:
            test.record = _with_outcome(test.record, test.lost)
        if first > 0 and cause is None and record["outcome"] in ("expected", "flaky"):
            test.passed = True
        return test

    def _failed(self, test: _Test, record: TestRecord) -> bool:
        """Whether this unit's attempt of the test failed and the test may get another fresh one."""
        return (self.fresh > 0 and not test.passed and test.fresh_used < self.fresh
                and record["outcome"] == "unexpected" and record["status"] in FAILED_STATUSES)

    def _queue(self, unit: Unit, root: str, lost: list[_Test], failed: list[_Test]) -> list[RetryUnit]:
        """The retry units for the unit's tests that were lost or failed, grouped by the attempt they start."""
        lost = [test for test in lost if test.infra_used < self.infra]
        for test in lost:
            test.infra_used += 1
        queued = self._units(root, lost, "infra", 1)
        failed = self._with_serial_groups(unit, failed, exclude=lost)
        if failed:
            running = max(test.running for test in failed)
            count = min(self.parallel - running, *(self.fresh - test.fresh_used for test in failed))
            for test in failed:
                test.fresh_used += max(0, count)
            queued += self._units(root, failed, "fresh", count)
        return queued

    def _with_serial_groups(self, unit: Unit, failed: list[_Test], *, exclude: list[_Test]) -> list[_Test]:
        """The failed tests with the rest of their serial groups in the unit (a serial group runs again whole)."""
        groups = {test.case.serial_group for test in failed if test.case.serial_group}
        if not groups:
            return failed
        chosen = {test.case.id for test in failed} | {case.id for case in unit.tests if case.serial_group in groups}
        left_out = {test.case.id for test in exclude}
        return [self._tests[case.id] for case in unit.tests if case.id in chosen and case.id not in left_out
                and case.id in self._tests]

    def _units(self, root: str, tests: list[_Test], cause: str, count: int) -> list[RetryUnit]:
        """count retry units of the tests (one per attempt index they start at), each reserving its attempt."""
        units: list[RetryUnit] = []
        for _ in range(max(0, count)):
            by_attempt: dict[int, list[_Test]] = {}
            for test in tests:
                by_attempt.setdefault(test.next_attempt, []).append(test)
            for attempt, group in sorted(by_attempt.items()):
                for test in group:
                    test.next_attempt += 1
                    test.running += 1
                units.append(RetryUnit(id=self._unit_id(root, cause, attempt), tests=tuple(t.case for t in group),
                                       retry_of=root, attempt=attempt, cause=cause))
        return units

    def _unit_id(self, root: str, cause: str, attempt: int) -> str:
        base = f"{root}-{cause}{attempt}"
        unit_id, count = base, 1
        while unit_id in self._ids:
            count += 1
            unit_id = f"{base}-{count}"
        self._ids.add(unit_id)
        return unit_id

    def _final(self, test: _Test) -> TestRecord:
        """The test's record now that no attempt of it is left: one whose every attempt the infrastructure lost
        says its cause."""
        attempts = test.record["attempts"]
        if attempts and test.cause is not None and all(a["retry"] in test.lost for a in attempts):
            test.record = labelled_record(test.record, test.cause)
        return test.record


def _renumbered(attempt: Attempt, index: int) -> Attempt:
    return {**attempt, "retry": index}


def _artifact_of(artifact: Artifact, first: int) -> Artifact:
    """An artifact of an attempt that started at index first (a retry unit's unit-wide files: its first)."""
    if first == 0:
        return artifact
    attempt = artifact.get("attempt")
    return {**artifact, "attempt": first + (attempt or 0)}


def merged_outcome(attempts: Sequence[Attempt], expected_status: str, lost: set[int]) -> str:
    """Playwright's outcome of a test from its attempts (leaving out interrupted ones and those the
    infrastructure lost): skipped when all skipped, expected without failures, unexpected when all failed,
    else flaky."""
    results = [a for a in attempts if a["status"] != "interrupted" and a["retry"] not in lost]
    if not results:
        return "unexpected"
    if all(a["status"] == "skipped" for a in results):
        return "skipped"
    failures = [a for a in results if a["status"] not in ("skipped", expected_status)]
    if not failures:
        return "expected"
    return "unexpected" if len(failures) == len(results) else "flaky"


def _with_outcome(record: TestRecord, lost: set[int]) -> TestRecord:
    """A merged record: its status is its last attempt's the infrastructure did not lose (else its last one's),
    its outcome Playwright's over its attempts."""
    attempts = record["attempts"]
    kept = [attempt for attempt in attempts if attempt["retry"] not in lost] or attempts
    status = kept[-1]["status"] if kept else record["status"]
    outcome = merged_outcome(attempts, record["expectedStatus"], lost)
    if outcome == "flaky":  # as Playwright reports a flaky test: with the status of its passing attempt
        status = next(a["status"] for a in reversed(kept) if a["status"] == record["expectedStatus"])
    merged: TestRecord = {**record, "status": status, "outcome": outcome}
    merged.pop("infra", None)
    return merged
