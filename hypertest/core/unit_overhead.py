"""What one unit costs beyond its tests, measured from past runs per provider and test runner: the median of
each finished unit's duration minus its tests' own (every attempt). `granularity: auto` packs short tests
against this figure, so it packs only where starting a unit still costs more than the tests it would hold."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence

from runner.model import TestRecord, UnitSummary

MIN_UNITS = 3  # fewer finished units measure nothing


def measured_overhead_ms(units: Sequence[UnitSummary], records: Iterable[TestRecord]) -> int | None:
    """The median overhead of the units that finished (status ok, with a duration); None below MIN_UNITS."""
    own = {record["id"]: sum(attempt["durationMs"] for attempt in record["attempts"]) for record in records}
    overheads = [unit["durationMs"] - sum(own.get(test, 0) for test in unit["tests"])
                 for unit in units if unit["status"] == "ok" and unit["durationMs"] > 0]
    return max(0, int(statistics.median(overheads))) if len(overheads) >= MIN_UNITS else None
