"""What the tests of one file share in a unit, measured from past runs whose test runner reports setup and teardown
times (pytest): the fixtures their setup and teardown run once per unit (a module-scoped app server, the
session's browser) and each test's own time (its call). A unit of one test pays the shared part for that one
test; tests of the same file in one unit pay it once, as in a plain pytest run. `granularity: auto` packs
against it (core/packing.py)."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from runner.model import Attempt, TestRecord, UnitSummary

FILE_NAME = ".fixtures.json"
SEPARATOR = "\n"  # between project and file in a place's key (neither holds a newline)


@dataclass(frozen=True)
class FixtureTimes:
    """Own times by test id, and shared times by place_key(project, file), in milliseconds."""

    own: Mapping[str, int] = field(default_factory=dict)
    shared: Mapping[str, int] = field(default_factory=dict)


def place_key(project: str, file: str) -> str:
    """The key of a file's tests (in one project) in FixtureTimes.shared."""
    return f"{project}{SEPARATOR}{file}"


def measure_fixture_times(units: Sequence[UnitSummary], records: Iterable[TestRecord]) -> FixtureTimes:
    """Each finished test's own time (its first attempt minus setup and teardown), and for each file the median,
    over the units that ran its tests first, of their setup and teardown times summed in that unit. (In a unit
    its first file's tests set up the session's fixtures too; a later file's only its own: measuring it there
    would make it look cheaper than it is alone, and the next run's packing would swing back and forth.)"""
    by_id = {record["id"]: record for record in records}
    own: dict[str, int] = {}
    sums: dict[str, list[int]] = defaultdict(list)
    for unit in units:
        if unit["status"] != "ok":
            continue
        in_unit: dict[str, int] = defaultdict(int)
        complete: dict[str, bool] = defaultdict(lambda: True)
        first: str | None = None
        for test_id in unit["tests"]:
            record = by_id.get(test_id)
            if record is None:
                continue
            key, phases = place_key(record["project"], record["file"]), _phases(record)
            first = key if first is None else first
            if phases is None:
                complete[key] = False
                continue
            setup_ms, teardown_ms, total_ms = phases
            own[test_id] = max(0, total_ms - setup_ms - teardown_ms)
            in_unit[key] += setup_ms + teardown_ms
        if first is not None and first in in_unit and complete[first]:
            sums[first].append(in_unit[first])
    return FixtureTimes(own=own, shared={key: int(statistics.median(found)) for key, found in sums.items()})


def _phases(record: TestRecord | None) -> tuple[int, int, int] | None:
    """(setup, teardown, total) of a finished test's first attempt, when the runner reported both phases."""
    if record is None or record["status"] in ("error", "interrupted", "skipped") or not record["attempts"]:
        return None
    first: Attempt = record["attempts"][0]
    setup_ms, teardown_ms = first.get("setupMs"), first.get("teardownMs")
    if setup_ms is None or teardown_ms is None:
        return None
    return setup_ms, teardown_ms, first["durationMs"]


def load_fixture_times(output: Path) -> FixtureTimes:
    """The times past runs measured (empty when there is no readable history)."""
    try:
        document = json.loads((output / FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return FixtureTimes()
    if not isinstance(document, dict):
        return FixtureTimes()
    return FixtureTimes(own=_times(document.get("own")), shared=_times(document.get("shared")))


def _times(found: object) -> dict[str, int]:
    if not isinstance(found, dict):
        return {}
    return {str(key): value for key, value in found.items()
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0}


def save_fixture_times(output: Path, units: Sequence[UnitSummary], records: Iterable[TestRecord]) -> None:
    """Keep this run's measures for the next runs; tests and files it did not measure keep their past ones."""
    measured = measure_fixture_times(units, records)
    if not measured.own and not measured.shared:
        return
    past = load_fixture_times(output)
    document = {"version": 1, "own": {**past.own, **measured.own}, "shared": {**past.shared, **measured.shared}}
    output.mkdir(parents=True, exist_ok=True)
    (output / FILE_NAME).write_text(json.dumps(document, sort_keys=True), encoding="utf-8")
