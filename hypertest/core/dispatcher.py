"""The dispatcher: a queue of units and a fixed number of worker slots that keep the provider busy."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from hypertest.core.plan import group_of
from hypertest.core.suite import Unit
from hypertest.core.unit_parse import parse_unit_result
from runner.model import UnitResult, error_unit_result

Execute = Callable[[Unit], object]  # runs a unit through the provider: what it answered, not yet parsed
Ordering = Callable[[Sequence[Unit]], list[Unit]]


def keep_order(units: Sequence[Unit]) -> list[Unit]:
    """The default ordering policy: discovery order."""
    return list(units)


@dataclass(frozen=True)
class UnitOutcome:
    """What one unit's execution returned, parsed (aggregate.parse_unit_result), or the error that replaced it."""

    unit: Unit
    result: UnitResult


class Dispatcher:
    """Runs units through `execute` with at most `slots` at once; never stops early on a failure by itself.

    `limits` caps the units of a group (by `group(unit)`, a project) running at once, as Playwright's
    project `workers` does: a slot takes the first unit in order whose group is below its limit, so other
    groups keep the remaining slots busy. `stop()` (from `on_end`, say at maxFailures) hands out no more.
    `ordering` decides which units start first (for example longest first from past durations); a unit
    runs once (tests retry inside it, as the test runner's config says, or in new units `submit` adds while
    the run goes on: core/retries.py); `on_begin` / `on_end` are called from the worker threads as units start
    and finish.
    """

    def __init__(self, execute: Execute, slots: int, *, ordering: Ordering = keep_order,
                 on_begin: Callable[[Unit], None] | None = None,
                 on_end: Callable[[UnitOutcome], None] | None = None,
                 limits: Mapping[str, int] | None = None, group: Callable[[Unit], str] = group_of) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self._execute = execute
        self._slots = slots
        self._ordering = ordering
        self._on_begin = on_begin or (lambda unit: None)
        self._on_end = on_end or (lambda outcome: None)
        self._limits = {name: count for name, count in (limits or {}).items() if count > 0}
        self._group = group
        self._pending: _Pending | None = None
        self._cancelled = threading.Event()
        self._outcomes: dict[str, UnitOutcome] = {}
        self._lock = threading.Lock()
        # Slots still running. Waiting is done on this condition, never with Thread.join: on
        # Python 3.11 a join interrupted by Ctrl-C marks the thread stopped while it still runs.
        self._live_slots = 0
        self._slots_changed = threading.Condition()
        self._submitted: list[Unit] = []  # added during the current run, in order
        self._start_slot: Callable[[], None] | None = None  # starts one more slot of the current run

    def _limit_of(self, unit: Unit) -> tuple[str, int] | None:
        """The unit's group and how many of its units may run at once (None: only the slots bound it)."""
        if not self._limits:
            return None
        name = self._group(unit)
        return (name, self._limits[name]) if name in self._limits else None

    def finished(self) -> list[UnitOutcome]:
        """The outcomes of the units that have finished so far."""
        with self._lock:
            return list(self._outcomes.values())

    def stop(self) -> None:
        """Hand out no more units (those running go on until they return)."""
        self._cancelled.set()
        if self._pending is not None:
            self._pending.wake()

    def submit(self, units: Sequence[Unit]) -> bool:
        """Add units to the current run, ahead of those waiting (group limits hold for them too), starting slots
        for them while fewer than `slots` run; False (nothing added) when no run goes on or it was stopped.
        The current run() returns their outcomes after its own units'."""
        pending, start = self._pending, self._start_slot
        if not units or pending is None or start is None or self._cancelled.is_set():
            return False
        with self._lock:
            self._submitted.extend(units)
        pending.put_first(units)
        with self._slots_changed:
            more = min(self._slots - self._live_slots, len(units))
            self._live_slots += max(0, more)
        for _ in range(max(0, more)):
            start()
        return True

    def left_over(self) -> list[Unit]:
        """The submitted units of the current (or last) run that never started (it was stopped)."""
        pending = self._pending
        with self._lock:
            submitted = list(self._submitted)
            started = set(self._outcomes)
        waiting = pending.waiting() if pending is not None else set()
        return [unit for unit in submitted if unit.id not in started and unit.id in waiting]

    def stopped(self) -> bool:
        """Whether stop() was called during the current (or last) run."""
        return self._cancelled.is_set()

    def wait(self, wait_s: float | None = None) -> bool:
        """Wait (up to wait_s seconds, or for ever) until no slot runs; whether none does."""
        deadline = None if wait_s is None else time.monotonic() + wait_s
        with self._slots_changed:
            while self._live_slots:
                remaining = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
                if remaining <= 0:
                    return False
                self._slots_changed.wait(remaining)
        return True

    def run(self, units: Sequence[Unit]) -> list[UnitOutcome]:
        """Execute every unit; the outcomes come back in the order the units were given."""
        self._cancelled.clear()
        pending = _Pending(self._ordering(units), self._limit_of, self._cancelled)
        self._pending = pending
        self._outcomes = {}
        self._submitted = []
        outcomes, lock = self._outcomes, self._lock

        def slot() -> None:
            try:
                run_slot()
            finally:
                with self._slots_changed:
                    self._live_slots -= 1
                    self._slots_changed.notify_all()

        def run_slot() -> None:
            while (unit := pending.take()) is not None:
                self._on_begin(unit)
                try:
                    answer = self._execute(unit)
                except Exception as exc:
                    answer = error_unit_result(f"the provider failed to run the unit: {exc}")
                outcome = UnitOutcome(unit, parse_unit_result(unit, answer))  # the one parse of a unit's result
                with lock:
                    outcomes[unit.id] = outcome
                try:
                    self._on_end(outcome)  # before the slot frees: a stop it asks for comes first
                finally:
                    pending.done(unit)

        def start_slot() -> None:  # its place in _live_slots is taken by the caller
            threading.Thread(target=slot, name="hypertest-slot", daemon=True).start()

        count = min(self._slots, len(units))
        with self._slots_changed:
            self._live_slots = count
        self._start_slot = start_slot
        try:
            for _ in range(count):
                start_slot()
            self.wait()
        finally:
            self._start_slot = None
        with lock:
            every = [*units, *self._submitted]
        return [outcomes[unit.id] for unit in every if unit.id in outcomes]  # all of them, unless stopped


class _Pending:
    """The units not yet started, handed out as Playwright's dispatcher does: the first one in order whose
    group runs fewer units than its limit; a slot with none it may take waits until a unit ends."""

    def __init__(self, units: Sequence[Unit], limit_of: Callable[[Unit], tuple[str, int] | None],
                 cancelled: threading.Event) -> None:
        self._queue: list[Unit] = list(units)
        self._limit_of = limit_of
        self._cancelled = cancelled
        self._running: dict[str, int] = {}  # group -> units of it running now
        self._changed = threading.Condition()

    def take(self) -> Unit | None:
        """The next unit this slot may run; None when none is left (or the run stopped)."""
        with self._changed:
            while not self._cancelled.is_set() and self._queue:
                for index, unit in enumerate(self._queue):
                    limit = self._limit_of(unit)
                    if limit is None or self._running.get(limit[0], 0) < limit[1]:
                        del self._queue[index]
                        if limit is not None:
                            self._running[limit[0]] = self._running.get(limit[0], 0) + 1
                        return unit
                # every unit left waits for its group: a running unit of that group ends and notifies
                self._changed.wait(0.5)
            return None

    def put_first(self, units: Sequence[Unit]) -> None:
        """Put units ahead of the waiting ones, in their order, and wake the slots."""
        with self._changed:
            self._queue[:0] = list(units)
            self._changed.notify_all()

    def waiting(self) -> set[str]:
        """The ids of the units not started."""
        with self._changed:
            return {unit.id for unit in self._queue}

    def done(self, unit: Unit) -> None:
        """A unit ended: its place in its group is free."""
        limit = self._limit_of(unit)
        with self._changed:
            if limit is not None:
                self._running[limit[0]] -= 1
            self._changed.notify_all()

    def wake(self) -> None:
        """Wake the waiting slots (the run was stopped)."""
        with self._changed:
            self._changed.notify_all()
