"""What one unit costs beyond its tests, measured from past runs per provider and test runner: the median of
each finished unit's duration minus its tests' own (every attempt). `granularity: auto` packs short tests
against this figure, so it packs only where starting a unit still costs more than the tests it would hold."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path

from runner.model import TestRecord, UnitSummary

FILE_NAME = ".overhead.json"
MIN_UNITS = 3  # fewer finished units measure nothing


def measured_overhead_ms(units: Sequence[UnitSummary], records: Iterable[TestRecord]) -> int | None:
    """The median overhead of the units that finished (status ok, with a duration); None below MIN_UNITS."""
    own = {record["id"]: sum(attempt["durationMs"] for attempt in record["attempts"]) for record in records}
    overheads = [unit["durationMs"] - sum(own.get(test, 0) for test in unit["tests"])
                 for unit in units if unit["status"] == "ok" and unit["durationMs"] > 0]
    return max(0, int(statistics.median(overheads))) if len(overheads) >= MIN_UNITS else None


def load_overhead(output: Path, provider: str, runner: str) -> int | None:
    """The overhead measured by past runs of this provider and test runner, or None."""
    try:
        document = json.loads((output / FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    found = document.get(f"{provider}/{runner}") if isinstance(document, dict) else None
    return found if isinstance(found, int) and not isinstance(found, bool) and found >= 0 else None


def save_measured_overhead(output: Path, provider: str, runner: str, units: Sequence[UnitSummary],
                           records: Iterable[TestRecord]) -> None:
    """Measure this run's unit overhead and keep it for the next runs of this provider and test runner."""
    save_overhead(output, provider, runner, measured_overhead_ms(units, records))


def save_overhead(output: Path, provider: str, runner: str, overhead_ms: int | None) -> None:
    """Keep this run's measure for the next runs of this provider and test runner (nothing when None)."""
    if overhead_ms is None:
        return
    try:
        document = json.loads((output / FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        document = {}
    document = document if isinstance(document, dict) else {}
    document[f"{provider}/{runner}"] = overhead_ms
    output.mkdir(parents=True, exist_ok=True)
    (output / FILE_NAME).write_text(json.dumps(document, sort_keys=True), encoding="utf-8")
