"""The dispatcher: a queue of units and a fixed number of worker slots that keep the provider busy."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hypertest.core.models import Unit

Execute = Callable[[Unit], Mapping[str, Any]]
Ordering = Callable[[Sequence[Unit]], list[Unit]]


def keep_order(units: Sequence[Unit]) -> list[Unit]:
    """The default ordering policy: discovery order."""
    return list(units)


@dataclass(frozen=True)
class UnitOutcome:
    """What one unit's execution returned (a runner result, or the error that replaced it)."""

    unit: Unit
    result: Mapping[str, Any]


class Dispatcher:
    """Runs units through `execute` with at most `slots` at once; never stops early on a failure.

    `ordering` decides which units start first (for example longest first from past durations);
    `on_begin` / `on_end` are called from the worker threads as units start and finish.
    """

    def __init__(self, execute: Execute, slots: int, *, ordering: Ordering = keep_order,
                 on_begin: Callable[[Unit], None] | None = None,
                 on_end: Callable[[UnitOutcome], None] | None = None) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self._execute = execute
        self._slots = slots
        self._ordering = ordering
        self._on_begin = on_begin or (lambda unit: None)
        self._on_end = on_end or (lambda outcome: None)

    def run(self, units: Sequence[Unit]) -> list[UnitOutcome]:
        """Execute every unit; the outcomes come back in the order the units were given."""
        pending: queue.SimpleQueue[Unit] = queue.SimpleQueue()
        for unit in self._ordering(units):
            pending.put(unit)
        outcomes: dict[str, UnitOutcome] = {}
        lock = threading.Lock()

        def slot() -> None:
            while True:
                try:
                    unit = pending.get_nowait()
                except queue.Empty:
                    return
                self._on_begin(unit)
                try:
                    result = self._execute(unit)
                except Exception as exc:
                    result = {"status": "error", "error": f"the provider failed to run the unit: {exc}",
                              "tests": []}
                outcome = UnitOutcome(unit, result)
                with lock:
                    outcomes[unit.id] = outcome
                self._on_end(outcome)

        workers = [threading.Thread(target=slot, name=f"hypertest-slot-{n}", daemon=True)
                   for n in range(min(self._slots, len(units)))]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return [outcomes[unit.id] for unit in units]
