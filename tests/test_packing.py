"""granularity auto: short tests of one project and file share a unit by their past durations; long,
unknown and cross-file units stay alone; packs never outgrow the makespan's lower bound; and a heavy-tailed
suite keeps its makespan while paying far fewer start-ups (list scheduling as the dispatcher does it)."""

from __future__ import annotations

import heapq
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from hypertest.core.history import History, RunEntry, decode_entry, encode_entry
from hypertest.core.packing import PACK_FACTOR, UNIT_OVERHEAD_MS, pack_plan
from hypertest.core.plan import Phase, RunPlan
from hypertest.core.suite import TestCase, Unit, make_unit_id
from hypertest.core.unit_overhead import measured_overhead_ms
from hypertest.plugins.playwright.units import selectors_of
from tests.conftest import DEMO, copy_suite
from tests.history_files import remembered

OVERHEAD = UNIT_OVERHEAD_MS


def case(name: str, file: str = "a.spec.ts", project: str = "chromium") -> TestCase:
    return TestCase(id=f"{project}-{file}-{name}", project=project, file=file, line=1, column=1,
                    title_path=(name,), tags=(), expected_status="passed", serial_group=None)


def unit(number: int, *tests: TestCase) -> Unit:
    return Unit(id=make_unit_id(number, tests), tests=tests)


def one_phase(*units: Unit) -> RunPlan:
    return RunPlan(phases=(Phase(units=units),))


def titles(plan: RunPlan) -> list[list[str]]:
    return [[test.title_path[0] for test in u.tests] for u in plan.units]


def test_short_tests_of_one_file_share_units_and_the_rest_stay_alone() -> None:
    short = [case(f"s{i}") for i in range(8)]
    other_file = [case(f"o{i}", file="b.spec.ts") for i in range(2)]
    long, unknown = case("long"), case("unknown")
    plan = one_phase(*(unit(i, t) for i, t in enumerate([*short, long, unknown, *other_file])))
    durations = {t.id: 1000 for t in short + other_file} | {long.id: 30_000}
    packing = pack_plan(plan, durations, concurrency=2)
    assert titles(packing.plan) == [["s0", "s1", "s2", "s3", "s4", "s5"], ["s6", "s7"], ["long"], ["unknown"],
                                    ["o0", "o1"]]
    assert (packing.packs, packing.packed_tests) == (3, 10)
    assert "10 short tests packed into 3 units" in packing.describe()
    [first] = [u for u in packing.plan.units if len(u.tests) == 6]
    # each test still selected by its own --test-list line
    assert [s.title_path for s in selectors_of(first.tests)] == [(f"s{i}",) for i in range(6)]


def test_a_serial_group_joins_a_pack_whole_and_projects_are_never_mixed() -> None:
    serial = (case("g1"), case("g2"))
    firefox = case("f", project="firefox")
    plan = one_phase(unit(0, case("s")), unit(1, *serial), unit(2, firefox))
    packing = pack_plan(plan, {t.id: 500 for t in [case("s"), *serial, firefox]}, concurrency=1)
    assert titles(packing.plan) == [["s", "g1", "g2"], ["f"]]


def test_without_history_nothing_is_packed() -> None:
    plan = one_phase(*(unit(i, case(f"s{i}")) for i in range(4)))
    packing = pack_plan(plan, {}, concurrency=2)
    assert titles(packing.plan) == [["s0"], ["s1"], ["s2"], ["s3"]] and packing.packs == 0
    assert "no short tests" in packing.describe()


def test_a_pack_never_outgrows_the_makespans_lower_bound() -> None:
    tests = [case(f"s{i}") for i in range(40)]
    plan = one_phase(*(unit(i, t) for i, t in enumerate(tests)))
    durations = {t.id: 500 for t in tests}  # 20 s in all
    wide = pack_plan(plan, durations, concurrency=20)  # lower bound 1 s: packs of two
    assert {len(u.tests) for u in wide.plan.units} == {2}
    narrow = pack_plan(plan, durations, concurrency=1)  # lower bound 20 s: packs of PACK_FACTOR start-ups
    assert max(len(u.tests) for u in narrow.plan.units) == PACK_FACTOR * OVERHEAD // 500


def makespan(plan: RunPlan, durations: dict[str, int], concurrency: int) -> tuple[int, int]:
    """(makespan, sum of unit times) when each unit costs a start-up plus its tests, longest first."""
    costs = sorted((OVERHEAD + sum(durations[t.id] for t in u.tests) for u in plan.units), reverse=True)
    slots = [0] * concurrency
    for cost in costs:
        heapq.heappush(slots, heapq.heappop(slots) + cost)
    return max(slots), sum(costs)


def test_a_heavy_tailed_suite_keeps_its_makespan_and_pays_far_fewer_start_ups() -> None:
    draw = random.Random(7)
    tests = [case(f"t{i}", file=f"f{i // 25}.spec.ts") for i in range(1500)]
    durations = {t.id: int(min(120_000, 200 + draw.paretovariate(1.3) * 300)) for t in tests}
    plan = one_phase(*(unit(i, t) for i, t in enumerate(tests)))
    packing = pack_plan(plan, durations, concurrency=100)
    before, before_cost = makespan(plan, durations, 100)
    after, after_cost = makespan(packing.plan, durations, 100)
    lower = max(*durations.values(), sum(durations.values()) / 100)
    assert sorted(t.id for t in packing.plan.units for t in t.tests) == sorted(t.id for t in tests)  # none lost
    assert after <= before  # packing never lengthens the run
    assert after <= 1.05 * (lower + OVERHEAD)
    assert after_cost < 0.75 * before_cost  # far fewer start-ups paid


@pytest.mark.e2e
def test_auto_packs_the_demos_short_tests_against_the_overhead_its_first_run_measured(cli: Any,
                                                                                   tmp_path: Path) -> None:
    """The first run has no history: one unit per test; it records the tests' durations and the unit overhead
    of a warm local slot (far below a cold unit's UNIT_OVERHEAD_MS). The second packs only the tests shorter
    than that overhead, with the same verdicts; `list` plans as the next run would."""
    project = copy_suite(DEMO, tmp_path / "demo")
    (project / "hypertest.yml").write_text("testRunner:\n  granularity: auto\nconcurrency: 2\n")
    first = cli("invoke", cwd=project)
    assert first.code == 0, first.out + first.err
    assert "no short tests with past durations to pack" in first.out
    assert "8 tests in 8 units" in first.out
    measured = remembered(project / "hypertest-results").overhead_ms
    assert measured is not None and 0 <= measured < UNIT_OVERHEAD_MS
    second = cli("invoke", cwd=project)
    assert second.code == 0, second.out + second.err
    assert f"shorter than a unit's measured overhead ({measured} ms)" in second.out, second.out
    assert "PASSED: 8 passed" in second.out  # the same verdicts as one test per unit
    listed = cli("list", cwd=project)  # the units the next run would have (history now holds both runs)
    found = re.search(r"granularity auto: (\d+) short tests .*packed into (\d+) units", listed.out)
    units = 8 - int(found.group(1)) + int(found.group(2)) if found else 8
    assert "measured overhead" in listed.out and f"8 tests in {units} units" in listed.out, listed.out


def test_the_unit_overhead_is_the_median_of_finished_units_and_kept_per_provider_and_runner() -> None:
    def unit(tests: list[str], status: str, duration: int) -> Any:
        return {"id": "u", "tests": tests, "status": status, "error": None, "durationMs": duration}

    def record(test_id: str, *durations: int) -> Any:
        return {"id": test_id, "attempts": [{"durationMs": d} for d in durations]}

    records = [record("a", 100), record("b", 200, 300), record("c", 50), record("d", 10)]
    units = [unit(["a"], "ok", 400), unit(["b"], "ok", 900), unit(["c", "d"], "ok", 160), unit(["a"], "error", 9000)]
    assert measured_overhead_ms(units, records) == 300  # 300, 400 and 100: the error unit measures nothing
    assert measured_overhead_ms(units[:2], records) is None  # too few to measure

    def run(run_id: str, day: int, provider: str, runner: str, overhead: int | None) -> RunEntry:
        return RunEntry(run_id=run_id, started_at=f"2026-12-0{day}T10:00:00Z", branch="main", commit="",
                        provider=provider, runner=runner, overhead_ms=overhead)

    history = History(runs=(run("r4", 4, "local", "pytest", None), run("r3", 3, "aws", "playwright", 900),
                            run("r2", 2, "local", "playwright", 300), run("r1", 1, "local", "playwright", 700)))
    assert (history.overhead_ms("local", "playwright"), history.overhead_ms("aws", "playwright"),
            history.overhead_ms("local", "pytest")) == (300, 900, None)  # the newest measure; none: nothing
    raw = json.loads(encode_entry(run("r5", 5, "local", "playwright", 1)))
    raw["overheadMs"] = "fast"
    assert decode_entry(json.dumps(raw).encode()).overhead_ms is None
