"""The dispatcher: a queue of units and a fixed number of worker slots that keep the provider busy."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hypertest.core.models import Unit
from runner.model import error_unit_result

Execute = Callable[[Unit], Mapping[str, Any]]
Ordering = Callable[[Sequence[Unit]], list[Unit]]
RetryPolicy = Callable[["UnitOutcome", int], bool]


def keep_order(units: Sequence[Unit]) -> list[Unit]:
    """The default ordering policy: discovery order."""
    return list(units)


def never_retry(outcome: UnitOutcome, attempt: int) -> bool:
    """The default retry policy: a unit runs once (tests retry inside it, as Playwright configures)."""
    return False


@dataclass(frozen=True)
class UnitOutcome:
    """What one unit's execution returned (a runner result, or the error that replaced it)."""

    unit: Unit
    result: Mapping[str, Any]


class Dispatcher:
    """Runs units through `execute` with at most `slots` at once; never stops early on a failure.

    `ordering` decides which units start first (for example longest first from past durations);
    `retry(outcome, attempt)` says whether a finished unit runs again (for example after an error that
    proves it never ran); `on_begin` / `on_end` are called from the worker threads as units start
    and finally finish.
    """

    def __init__(self, execute: Execute, slots: int, *, ordering: Ordering = keep_order,
                 retry: RetryPolicy = never_retry,
                 on_begin: Callable[[Unit], None] | None = None,
                 on_end: Callable[[UnitOutcome], None] | None = None) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self._execute = execute
        self._slots = slots
        self._ordering = ordering
        self._retry = retry
        self._on_begin = on_begin or (lambda unit: None)
        self._on_end = on_end or (lambda outcome: None)
        self._cancelled = threading.Event()
        self._outcomes: dict[str, UnitOutcome] = {}
        self._lock = threading.Lock()
        # Slots still running. Waiting is done on this condition, never with Thread.join: on
        # Python 3.11 a join interrupted by Ctrl-C marks the thread stopped while it still runs.
        self._live_slots = 0
        self._slots_changed = threading.Condition()

    def finished(self) -> list[UnitOutcome]:
        """The outcomes of the units that have finished so far."""
        with self._lock:
            return list(self._outcomes.values())

    def stop(self) -> None:
        """Hand out no more units (those running go on until they return)."""
        self._cancelled.set()

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
        pending: queue.SimpleQueue[tuple[Unit, int]] = queue.SimpleQueue()
        for unit in self._ordering(units):
            pending.put((unit, 1))
        self._outcomes = {}
        outcomes, lock = self._outcomes, self._lock

        def slot() -> None:
            try:
                run_slot()
            finally:
                with self._slots_changed:
                    self._live_slots -= 1
                    self._slots_changed.notify_all()

        def run_slot() -> None:
            while not self._cancelled.is_set():
                try:
                    unit, attempt = pending.get_nowait()
                except queue.Empty:
                    return
                if attempt == 1:
                    self._on_begin(unit)
                try:
                    result = self._execute(unit)
                except Exception as exc:
                    result = error_unit_result(f"the provider failed to run the unit: {exc}")
                outcome = UnitOutcome(unit, result)
                if self._retry(outcome, attempt):
                    pending.put((unit, attempt + 1))
                    continue
                with lock:
                    outcomes[unit.id] = outcome
                self._on_end(outcome)

        workers = [threading.Thread(target=slot, name=f"hypertest-slot-{n}", daemon=True)
                   for n in range(min(self._slots, len(units)))]
        with self._slots_changed:
            self._live_slots = len(workers)
        for worker in workers:
            worker.start()
        self.wait()
        return [outcomes[unit.id] for unit in units if unit.id in outcomes]  # all of them, unless stopped
