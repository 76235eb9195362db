"""The multiplexer that fans a run's events out to every reporter (the Reporter contract and RunInfo are in
core/contracts.py, beside the other contracts)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hypertest.core.contracts import Reporter, RunInfo
from hypertest.core.suite import Unit
from runner.model import RunResult, TestRecord


class ReporterMultiplexer:
    """One reporter that forwards each event to many, serialised, isolating their failures."""

    def __init__(self, reporters: Sequence[Reporter]) -> None:
        self.reporters = list(reporters)
        self._lock = threading.Lock()

    def _each(self, method: str, *args: Any) -> None:
        with self._lock:
            for reporter in self.reporters:
                try:
                    getattr(reporter, method)(*args)
                except Exception as exc:
                    _warn(reporter, method, exc)

    def on_begin(self, info: RunInfo) -> None:
        """Fan out on_begin."""
        self._each("on_begin", info)

    def on_unit_begin(self, unit: Unit) -> None:
        """Fan out on_unit_begin."""
        self._each("on_unit_begin", unit)

    def on_unit_end(self, unit: Unit, records: Sequence[TestRecord]) -> None:
        """Fan out on_unit_end."""
        self._each("on_unit_end", unit, records)

    def reports(self, result: RunResult, run_dir: Path) -> dict[str, str]:
        """Every reporter's files, by report name."""
        written: dict[str, str] = {}
        with self._lock:
            for reporter in self.reporters:
                try:
                    written.update(reporter.reports(result, run_dir))
                except Exception as exc:
                    _warn(reporter, "reports", exc)
        return written

    def on_end(self, result: RunResult) -> None:
        """Fan out on_end."""
        self._each("on_end", result)


def _warn(reporter: Reporter, method: str, exc: Exception) -> None:
    """A reporter's failure is a warning on stderr; the run and the other reporters go on."""
    print(f"warning: reporter {type(reporter).__name__}.{method} failed: {exc}", file=sys.stderr)
