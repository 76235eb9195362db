"""`granularity: auto`: short tests packed into small units by their past durations.

Every unit pays a start-up (a runner, the test framework, a browser: about two seconds cold, see
docs/benchmarks.md's unit phases; far less in a warm slot) before its first test. The start-up is the one
past runs of this provider and test runner measured (core/unit_overhead.py), UNIT_OVERHEAD_MS until one
has. A test that takes less than that start-up costs more in overhead than in testing, so under `auto`
such tests of the same project and file share a unit. Where the test runner reports fixture times (pytest,
core/fixture_times.py), what a file's tests share in a unit (a module's app server, the session's browser)
counts as start-up too, and a test whose own time is shorter than both may share a unit with tests of other
files of its project (as in a plain pytest session). A pack grows until its tests take a few start-ups
(PACK_FACTOR), never beyond the run's lower bound on the makespan, max(longest test, total / concurrency),
so packing does not lengthen the run. Long tests, tests with no past duration, and units the test runner
already groups (serial groups) are kept as they are; a short serial group may join a pack whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hypertest.core.config import Settings
from hypertest.core.contracts import Discovery, TestRunnerPlugin
from hypertest.core.fixture_times import FixtureTimes, place_key
from hypertest.core.plan import Phase, RunPlan
from hypertest.core.run_memory import PastRuns
from hypertest.core.suite import Unit, make_unit_id

UNIT_OVERHEAD_MS = 2200  # a cold unit's start-up (docs/benchmarks.md, "One unit's phases"), until one is measured
PACK_FACTOR = 3  # a pack's tests take about this many start-ups


@dataclass(frozen=True)
class Packing:
    """A plan with short tests packed, and how many units and tests the packing made."""

    plan: RunPlan
    packs: int  # units made of several units' tests
    packed_tests: int  # tests in those units
    measured_overhead_ms: int | None = None  # the unit overhead past runs measured (None: UNIT_OVERHEAD_MS)
    with_fixtures: bool = False  # some tests were packed by the fixture times they share (core/fixture_times.py)

    def describe(self) -> str:
        """One line for the console and the summary."""
        against = ("" if self.measured_overhead_ms is None
                   else f"shorter than a unit's measured overhead ({self.measured_overhead_ms} ms) ")
        if self.with_fixtures:
            against += "or the fixtures they share in one unit "
        if not self.packs:
            return f"granularity auto: no short tests {against}with past durations to pack"
        return (f"granularity auto: {self.packed_tests} short tests {against}packed into {self.packs} units "
                "(by their past durations)")


def plan_run(plugin: TestRunnerPlugin, discovery: Discovery, settings: Settings,
             past: PastRuns) -> tuple[RunPlan, Packing | None]:
    """The run's units as the settings' granularity asks; under `auto`, one unit per test, then packed by the
    durations, unit overhead (UNIT_OVERHEAD_MS until one was measured) and fixture times past runs of this
    provider and test runner measured (from the history)."""
    granularity = settings.test_runner.granularity
    if granularity != "auto":
        return plugin.plan(discovery, granularity), None
    measured = past.overhead_ms
    packing = pack_plan(plugin.plan(discovery, "test"), past.durations, settings.concurrency,
                        UNIT_OVERHEAD_MS if measured is None else measured, past.fixtures)
    return packing.plan, dataclasses.replace(packing, measured_overhead_ms=measured)


def pack_plan(plan: RunPlan, durations: Mapping[str, int], concurrency: int,
              overhead_ms: int = UNIT_OVERHEAD_MS, fixtures: FixtureTimes | None = None) -> Packing:
    """plan with the short tests of each phase packed; see the module's docstring."""
    phases: list[Phase] = []
    packs = packed_tests = 0
    number = 0
    fixtures = fixtures or FixtureTimes()
    with_fixtures = False
    for phase in plan.phases:
        groups = _pack_phase(phase.units, durations, concurrency, overhead_ms, fixtures)
        units = []
        for group in groups:
            tests = tuple(test for unit in group for test in unit.tests)
            units.append(Unit(id=make_unit_id(number, tests), tests=tests))
            if len(group) > 1:
                packs += 1
                packed_tests += len(tests)
                with_fixtures = with_fixtures or any(test.id in fixtures.own for test in tests)
            number += 1
        phases.append(Phase(units=tuple(units)))
    return Packing(plan=RunPlan(phases=tuple(phases), requires=plan.requires), packs=packs,
                   packed_tests=packed_tests, with_fixtures=with_fixtures)


@dataclass(frozen=True)
class _Cost:
    """What a unit of these tests costs beyond the unit's own start-up: the tests' own time, and the fixture time
    they share with other tests in one unit (0 when the runner does not say)."""

    own_ms: int
    shared_ms: int
    pack_key: tuple[str, ...]  # units with the same key may share a pack
    place: tuple[str, str] = ("", "")  # (project, file) of its tests
    joining_ms: int | None = None  # its fixtures in a pack another file started (None: as much as shared_ms)


def _expected_ms(unit: Unit, durations: Mapping[str, int]) -> int | None:
    known = [durations.get(test.id) for test in unit.tests]
    return None if any(value is None for value in known) else sum(value or 0 for value in known)


def _place(unit: Unit) -> tuple[str, str] | None:
    places = {(test.project, test.file) for test in unit.tests}
    return next(iter(places)) if len(places) == 1 else None


def _cost(unit: Unit, expected: int | None, fixtures: FixtureTimes) -> _Cost | None:
    """The unit's cost, from its fixture times when every test has them (the tests of one project may share a
    pack: their session's fixtures, such as the browser, run once in it), else from its tests' durations (the tests
    of one file may); None when unknown or spanning files."""
    place = _place(unit)
    if place is None:
        return None
    own = [fixtures.own.get(test.id) for test in unit.tests]
    shared = fixtures.shared.get(place_key(*place))
    if shared is not None and all(value is not None for value in own):
        return _Cost(own_ms=sum(value or 0 for value in own), shared_ms=shared, pack_key=(place[0],), place=place,
                     joining_ms=fixtures.joining_ms(*place))
    return None if expected is None else _Cost(own_ms=expected, shared_ms=0, pack_key=place, place=place)


def _pack_phase(units: Sequence[Unit], durations: Mapping[str, int], concurrency: int,
                overhead_ms: int, fixtures: FixtureTimes) -> list[list[Unit]]:
    expected = {unit.id: _expected_ms(unit, durations) for unit in units}
    known = [value for value in expected.values() if value is not None]
    if not known:
        return [[unit] for unit in units]
    bound = max(*known, sum(known) / max(1, concurrency))  # the makespan cannot be shorter
    groups: list[list[Unit]] = []
    open_packs: dict[tuple[str, ...], int] = {}  # pack key -> index of its pack still filling
    filled: dict[int, int] = {}  # pack index -> expected ms of its tests
    places: dict[int, set[tuple[str, str]]] = {}  # pack index -> the files whose fixtures it sets up
    for unit in units:
        cost = _cost(unit, expected[unit.id], fixtures)
        fixed = overhead_ms + (cost.shared_ms if cost else 0)  # what one more unit of it costs
        if cost is None or cost.own_ms >= fixed:
            groups.append([unit])  # long, unknown, or spanning files: alone
            continue
        index = open_packs.get(cost.pack_key)
        if index is not None:
            # in a pack: a file's fixtures once; another file's as measured after others (else in full)
            joining = 0 if cost.place in places[index] else (
                cost.shared_ms if cost.joining_ms is None else cost.joining_ms)
            if filled[index] + cost.own_ms + joining <= min(PACK_FACTOR * fixed, bound):
                groups[index].append(unit)
                filled[index] += cost.own_ms + joining
                places[index].add(cost.place)
                continue
        groups.append([unit])
        open_packs[cost.pack_key] = len(groups) - 1
        filled[len(groups) - 1] = cost.own_ms + cost.shared_ms
        places[len(groups) - 1] = {cost.place}
    return groups
