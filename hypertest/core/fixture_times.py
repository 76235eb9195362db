"""What the tests of one file share in a unit, measured from past runs whose test runner reports setup and teardown
times (pytest): the fixtures their setup and teardown run once per unit (a module-scoped app server, the
session's browser) and each test's own time (its call). A unit of one test pays the shared part for that one
test; tests of the same file in one unit pay it once, as in a plain pytest run. A file whose tests come after
another file's in a unit pays only its own part (its module's fixtures: the session's are up): measured there,
the difference is the session's part. `granularity: auto` packs against these (core/packing.py)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from runner.model import Attempt, TestRecord, UnitSummary

SEPARATOR = "\n"  # between project and file in a place's key (a name holding one muddles only packing estimates)


@dataclass(frozen=True)
class FixtureTimes:
    """Own times by test id, and by place_key(project, file) what its tests' fixtures cost in a unit where they
    come first (shared) and where another file's come first (later), in milliseconds."""

    own: Mapping[str, int] = field(default_factory=dict)
    shared: Mapping[str, int] = field(default_factory=dict)
    later: Mapping[str, int] = field(default_factory=dict)

    def joining_ms(self, project: str, file: str) -> int | None:
        """What the fixtures of a file's tests cost in a unit that another file of its project started: measured
        so, else its shared time less its project's session part (the median, over the files measured both
        ways, of the difference); None when unknown."""
        key = place_key(project, file)
        if key in self.later:
            return self.later[key]
        prefix = f"{project}{SEPARATOR}"
        parts = [self.shared[name] - later for name, later in self.later.items()
                 if name.startswith(prefix) and name in self.shared]
        if key not in self.shared or not parts:
            return None
        return max(0, self.shared[key] - max(0, int(statistics.median(parts))))


def place_key(project: str, file: str) -> str:
    """The key of a file's tests (in one project) in FixtureTimes.shared."""
    return f"{project}{SEPARATOR}{file}"


def measure_fixture_times(units: Sequence[UnitSummary], records: Iterable[TestRecord]) -> FixtureTimes:
    """Each finished test's own time (its first attempt minus setup and teardown), and for each file the median of
    its tests' setup and teardown times summed in one unit: over the units that ran its tests first (shared: the
    session's fixtures too), and over those where another file's came first (later: its own fixtures only)."""
    by_id = {record["id"]: record for record in records}
    own: dict[str, int] = {}
    sums: dict[str, list[int]] = defaultdict(list)
    later_sums: dict[str, list[int]] = defaultdict(list)
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
        for key, spent in in_unit.items():
            if complete[key]:
                (sums if key == first else later_sums)[key].append(spent)
    return FixtureTimes(own=own, shared=_medians(sums), later=_medians(later_sums))


def _medians(found: Mapping[str, list[int]]) -> dict[str, int]:
    return {key: int(statistics.median(values)) for key, values in found.items()}


def _phases(record: TestRecord | None) -> tuple[int, int, int] | None:
    """(setup, teardown, total) of a finished test's first attempt, when the runner reported both phases."""
    if record is None or record["status"] in ("error", "interrupted", "skipped") or not record["attempts"]:
        return None
    first: Attempt = record["attempts"][0]
    setup_ms, teardown_ms = first.get("setupMs"), first.get("teardownMs")
    if setup_ms is None or teardown_ms is None:
        return None
    return setup_ms, teardown_ms, first["durationMs"]
