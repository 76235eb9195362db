"""Past test durations, so the dispatcher can start the longest units first."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from hypertest.core.dispatcher import Ordering
from hypertest.core.suite import Unit
from runner.model import TestRecord

FILE_NAME = ".durations.json"


def load_durations(output: Path) -> dict[str, int]:
    """test id -> milliseconds of its last run; empty when there is no (readable) history."""
    try:
        document = json.loads((output / FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    if not isinstance(document, dict):
        return {}
    return {str(k): int(v) for k, v in document.get("tests", {}).items() if isinstance(v, int | float)}


def save_durations(output: Path, previous: Mapping[str, int], records: Iterable[TestRecord]) -> None:
    """Record each finished test's time (all attempts); tests that did not run keep their old time."""
    merged = dict(previous)
    for record in records:
        if record["status"] in ("error", "interrupted", "skipped"):
            continue
        merged[record["id"]] = sum(attempt["durationMs"] for attempt in record["attempts"])
    output.mkdir(parents=True, exist_ok=True)
    (output / FILE_NAME).write_text(json.dumps({"version": 1, "tests": merged}, sort_keys=True), encoding="utf-8")


def longest_first(durations: Mapping[str, int]) -> Ordering:
    """An ordering policy: units by their expected time, longest first (unknown tests count as the median)."""
    typical = int(statistics.median(durations.values())) if durations else 0

    def order(units: Sequence[Unit]) -> list[Unit]:
        def expected(unit: Unit) -> int:
            return sum(durations.get(test.id, typical) for test in unit.tests)

        return sorted(units, key=expected, reverse=True)  # stable: discovery order among equals

    return order
