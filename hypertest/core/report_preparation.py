"""When to start what the merged report needs (TestRunnerPlugin.prepare_report): once every unit of the run has
started and one has ended since, so it loads while the last units run, on a slot's worth of CPU no unit uses."""

from __future__ import annotations

import threading
from collections.abc import Callable

from hypertest.core.contracts import PreparedReport


class ReportPreparation:
    """Counts units as they start and end, and calls start once at the moment above; thread-safe (the
    dispatcher's slots call it)."""

    def __init__(self, start: Callable[[], PreparedReport | None], total_units: int, *, wanted: bool) -> None:
        self._start = start
        self._waiting = total_units if wanted else -1  # units not started yet; -1: no report to prepare
        self._lock = threading.Lock()
        self._prepared: PreparedReport | None = None

    def unit_began(self) -> None:
        """A unit started (or was settled without running)."""
        with self._lock:
            if self._waiting > 0:
                self._waiting -= 1

    def unit_ended(self) -> None:
        """A unit ended: when none is left to start, start the preparation (once)."""
        with self._lock:
            if self._waiting != 0:
                return
            self._waiting = -1
            try:
                self._prepared = self._start()
            except Exception:  # only a head start: the report step makes the report without it
                self._prepared = None

    def take(self) -> PreparedReport | None:
        """What was started (None: nothing yet); the caller uses or closes it."""
        with self._lock:
            prepared, self._prepared = self._prepared, None
            self._waiting = -1
            return prepared

    def close(self) -> None:
        """End what was started and not taken (a run that made no report)."""
        prepared = self.take()
        if prepared is not None:
            prepared.close()
