"""Limits a test runner's config sets on a run: how many units of a group run at once, and how many
failures stop it.

Playwright's project option `workers` (1.52+) caps how many of a project's test groups run at once; its
`maxFailures` stops handing out tests once that many tests failed (a test counts once, when its last
retry failed; a flaky test does not count), except teardown projects, which run anyway. The tests it
never started are reported as not run (`skipped`, with no result); the tests running when it stops are
`interrupted` (outcome `skipped`). A plugin reads these from its config (Discovery.limits); the dispatcher
and invoke honour them the same way on every provider, and a unit gets the failures left when it starts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from runner.model import TestRecord, error_info, make_attempt

FAILED_STATUSES = ("failed", "timedOut", "passed", "error")  # passed: against test.fail()


@dataclass(frozen=True)
class RunLimits:
    """What the config limits: units at once per group (project), and failures before the run stops."""

    group_workers: Mapping[str, int] = field(default_factory=dict)  # group -> at most this many units at once
    max_failures: int = 0  # 0: no limit
    exempt_groups: frozenset[str] = frozenset()  # groups that still run after max_failures (teardowns)

    def limit_of(self, group: str) -> int | None:
        """How many units of the group may run at once (None: no limit of its own)."""
        limit = self.group_workers.get(group)
        return limit if limit and limit > 0 else None

    def describe(self) -> list[str]:
        """One line per limit, for `hypertest list` and the console."""
        lines = [f"project {group!r}: at most {count} unit{'s' if count != 1 else ''} at a time "
                 f"(its workers: {count}); other projects use the remaining slots"
                 for group, count in sorted(self.group_workers.items()) if count > 0]
        if self.max_failures > 0:
            exempt = f" (teardown projects still run: {', '.join(sorted(self.exempt_groups))})" \
                if self.exempt_groups else ""
            lines.append(f"maxFailures {self.max_failures}: no unit starts after {self.max_failures} "
                         f"failed test{'s' if self.max_failures != 1 else ''}; the tests not started are "
                         f"reported skipped (did not run){exempt}")
        return lines


def is_counted_failure(record: TestRecord) -> bool:
    """Whether a final test record counts toward maxFailures, as Playwright counts: its outcome is
    unexpected after its last retry (an interrupted test does not count)."""
    return record["outcome"] == "unexpected" and record["status"] in FAILED_STATUSES


def stopped_reason(max_failures: int) -> str:
    """The annotation of a test that did not run because the run reached maxFailures."""
    return f"did not run: testing stopped early after {max_failures} maximum allowed failures (maxFailures)"


def stopped_message(max_failures: int, provider: str, *, stops_running: bool) -> str:
    """The console's line when maxFailures stops the run (as Playwright's "Testing stopped early")."""
    running = ("the running units were stopped, their unfinished tests reported interrupted"
               if stops_running else f"the running units finish ({provider} cannot stop them)")
    return (f"testing stopped early after {max_failures} maximum allowed failures (maxFailures): no unit starts "
            f"after that, {running}, the tests not started are reported skipped\n")


class FailureBudget:
    """Counts failed tests across units (from any slot's thread); says when maxFailures is reached."""

    def __init__(self, max_failures: int) -> None:
        self.max_failures = max(0, max_failures)
        self._failed = 0
        self._lock = threading.Lock()

    @property
    def failed(self) -> int:
        """Failed tests counted so far."""
        with self._lock:
            return self._failed

    @property
    def remaining(self) -> int | None:
        """How many more failed tests the run allows before it stops (None: no limit; at least 1)."""
        if self.max_failures <= 0:
            return None
        with self._lock:
            return max(1, self.max_failures - self._failed)

    @property
    def reached(self) -> bool:
        """Whether the run has had max_failures failed tests (never, without a limit)."""
        with self._lock:
            return self.max_failures > 0 and self._failed >= self.max_failures

    def add(self, records: Iterable[TestRecord]) -> bool:
        """Count a finished unit's records; True exactly once: when these records reach the limit."""
        count = sum(1 for record in records if is_counted_failure(record))
        with self._lock:
            before = self._failed
            self._failed += count
            return self.max_failures > 0 and before < self.max_failures <= self._failed


def settle_stopped_unit(records: Sequence[TestRecord], max_failures: int) -> list[TestRecord]:
    """A unit's records after its own test runner stopped at maxFailures (its config holds the limit too):
    when the unit's failures reached it, its tests without a result did not run, so they are skipped
    (as Playwright reports a test it never started), not errors."""
    ran_and_failed = sum(1 for r in records if is_counted_failure(r) and r["status"] != "error")
    if max_failures <= 0 or ran_and_failed < max_failures:
        return list(records)
    return [did_not_run(record, stopped_reason(max_failures)) if record["status"] == "error" else record
            for record in records]


def settle_interrupted_unit(records: Sequence[TestRecord], max_failures: int) -> list[TestRecord]:
    """A unit's records after the run stopped it at maxFailures while it ran: the tests it cut short are
    `interrupted` with the outcome `skipped`, as Playwright reports the tests running when it stops, and
    say why; the tests that finished keep their results."""
    reason = f"interrupted: {stopped_reason(max_failures).removeprefix('did not run: ')}"
    return [_interrupted_by_stop(record, reason) if record["status"] == "interrupted" else record
            for record in records]


def _interrupted_by_stop(record: TestRecord, reason: str) -> TestRecord:
    attempts = list(record["attempts"])
    last = make_attempt(status="interrupted", errors=[error_info(reason)])
    if attempts:  # the attempt cut short keeps what it had (its retry, duration, start), with the reason
        last = {**attempts[-1], "status": "interrupted", "error": last["error"], "errors": last["errors"]}
    return {**record, "status": "interrupted", "outcome": "skipped", "attempts": [*attempts[:-1], last]}


def did_not_run(record: TestRecord, reason: str) -> TestRecord:
    """The record of a test that never started: skipped, with the reason as its skip annotation."""
    return {**record, "status": "skipped", "outcome": "skipped",
            "annotations": [{"type": "skip", "description": reason}],
            "attempts": [make_attempt(status="skipped")], "artifacts": []}
