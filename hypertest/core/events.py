"""The event stream of a run, and the multiplexer that fans it out to every reporter."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypertest.core.models import Unit

MergeReport = Callable[[Sequence[Mapping[str, Any]], Sequence[Mapping[str, Any]]], "Path | None"]


@dataclass(frozen=True)
class RunInfo:
    """What is known when a run starts."""

    run_id: str
    total_tests: int
    units: Sequence[Unit]
    concurrency: int
    provider: str
    output_dir: str
    # the test runner's merged report of the run, from the units (id, blob) and the records (None: it has none)
    merge_report: MergeReport | None = None


class Reporter:
    """Receives the run's events, in order, one at a time; a reporter overrides the events it needs.

    Reporters are found by the names in the `reporters` setting (core/registry.py)."""

    def on_begin(self, info: RunInfo) -> None:
        """The run starts."""

    def on_unit_begin(self, unit: Unit) -> None:
        """A unit was handed to the provider."""

    def on_unit_end(self, unit: Unit, records: Sequence[Mapping[str, Any]]) -> None:
        """A unit finished; records are its tests' final records."""

    def reports(self, result: Mapping[str, Any], run_dir: Path) -> Mapping[str, str]:
        """Write this reporter's files into the run folder; their paths by report name (results.json lists them)."""
        return {}

    def on_end(self, result: Mapping[str, Any]) -> None:
        """The run finished; result is the whole results.json document."""


class ReporterMultiplexer:
    """One reporter that forwards each event to many, serialised, isolating their failures."""

    def __init__(self, reporters: Sequence[Reporter]) -> None:
        self.reporters = list(reporters)
        self._lock = threading.Lock()
        self.failures: list[str] = []

    def _each(self, method: str, *args: Any) -> None:
        with self._lock:
            for reporter in self.reporters:
                try:
                    getattr(reporter, method)(*args)
                except Exception as exc:
                    message = f"reporter {type(reporter).__name__}.{method} failed: {exc}"
                    self.failures.append(message)
                    print(f"warning: {message}", file=sys.stderr)

    def on_begin(self, info: RunInfo) -> None:
        """Fan out on_begin."""
        self._each("on_begin", info)

    def on_unit_begin(self, unit: Unit) -> None:
        """Fan out on_unit_begin."""
        self._each("on_unit_begin", unit)

    def on_unit_end(self, unit: Unit, records: Sequence[Mapping[str, Any]]) -> None:
        """Fan out on_unit_end."""
        self._each("on_unit_end", unit, records)

    def reports(self, result: Mapping[str, Any], run_dir: Path) -> dict[str, str]:
        """Every reporter's files, by report name."""
        written: dict[str, str] = {}
        with self._lock:
            for reporter in self.reporters:
                try:
                    written.update(reporter.reports(result, run_dir))
                except Exception as exc:
                    message = f"reporter {type(reporter).__name__}.reports failed: {exc}"
                    self.failures.append(message)
                    print(f"warning: {message}", file=sys.stderr)
        return written

    def on_end(self, result: Mapping[str, Any]) -> None:
        """Fan out on_end."""
        self._each("on_end", result)
