"""Fixture times (pytest's setup and teardown phases) measured per file and unit, kept across runs, and packing
against them: tests whose fixtures cost more than the tests share units across the files of their project."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from hypertest.core.fixture_times import FixtureTimes, measure_fixture_times, place_key
from hypertest.core.history import History, RunEntry, decode_entry, encode_entry
from hypertest.core.packing import pack_plan
from hypertest.core.plan import Phase, RunPlan
from hypertest.core.suite import TestCase, Unit, make_unit_id
from runner import model
from tests.history_files import remembered


def record(test_id: str, file: str, *, setup: int | None, teardown: int | None, total: int,
           status: str = "passed") -> model.TestRecord:
    attempt: dict[str, Any] = {"retry": 0, "status": status, "durationMs": total, "error": None}
    if setup is not None:
        attempt["setupMs"] = setup
    if teardown is not None:
        attempt["teardownMs"] = teardown
    return {"id": test_id, "project": "", "file": file, "line": 1, "column": 1, "titlePath": [test_id],
            "status": status, "expectedStatus": "passed", "outcome": "expected", "annotations": [],
            "attempts": [attempt], "artifacts": []}  # type: ignore[typeddict-item]


def summary(unit_id: str, *tests: str, status: str = "ok") -> model.UnitSummary:
    return {"id": unit_id, "tests": list(tests), "status": status, "error": None, "durationMs": 1}  # type: ignore[typeddict-item]


def test_a_files_shared_time_is_its_setup_and_teardown_in_one_unit() -> None:
    records = [record("a1", "a.py", setup=3000, teardown=500, total=4500),
               record("a2", "a.py", setup=2900, teardown=700, total=4000),
               record("b1", "b.py", setup=100, teardown=20, total=5120),
               record("b2", "b.py", setup=1500, teardown=400, total=2900),  # packed with b1 below
               record("c1", "c.py", setup=None, teardown=None, total=900),  # Playwright: no phases
               record("d1", "d.py", setup=700, teardown=50, total=1000)]  # second in u3: its module only
    units = [summary("u1", "a1"), summary("u2", "a2"), summary("u3", "b2", "b1", "d1"), summary("u4", "c1")]
    measured = measure_fixture_times(units, records)
    assert measured.own == {"a1": 1000, "a2": 400, "b1": 5000, "b2": 1000, "d1": 250}
    assert measured.shared == {place_key("", "a.py"): 3550,  # the median of 3500 and 3600
                               place_key("", "b.py"): 2020}  # once for the unit: 1900 + 120
    assert measured.later == {place_key("", "d.py"): 750}  # d.py came second: its own fixtures only


def test_a_files_part_after_another_file_gives_its_projects_session_part() -> None:
    """Measured after another file: 1 s of its module's fixtures; first: 3 s (the session's 2 s too). Files
    never measured after another one join a pack for their shared time less the project's session part."""
    times = FixtureTimes(shared={place_key("", "a.py"): 3000, place_key("", "b.py"): 3200,
                                 place_key("other", "c.py"): 3000},
                         later={place_key("", "a.py"): 1000})
    assert times.joining_ms("", "a.py") == 1000  # measured so
    assert times.joining_ms("", "b.py") == 1200  # 3200 less the session's 2000
    assert times.joining_ms("other", "c.py") is None  # its project has no such measure
    assert times.joining_ms("", "unknown.py") is None
    tests = [case(f"t{n}", f"test_{n}.py") for n in range(6)]
    learnt = FixtureTimes(own={t.id: 1000 for t in tests},
                          shared={place_key("", t.file): 3000 for t in tests},
                          later={place_key("", tests[0].file): 1000})
    packing = pack_plan(plan_of(*tests), {t.id: 4000 for t in tests}, concurrency=2, overhead_ms=400,
                        fixtures=learnt)
    # 4 s for the first, 2 s for each other file (1 s own, 1 s module): 4 + 2 + 2 + 2 = 10 <= 10.2 s
    assert [len(u.tests) for u in packing.plan.units] == [4, 2]


def test_unfinished_tests_and_units_measure_nothing() -> None:
    records = [record("a1", "a.py", setup=3000, teardown=500, total=4500, status="interrupted"),
               record("b1", "b.py", setup=3000, teardown=500, total=4500)]
    measured = measure_fixture_times([summary("u1", "a1"), summary("u2", "b1", status="error")], records)
    assert measured == FixtureTimes()


def entry(run_id: str, started_at: str, fixtures: FixtureTimes) -> RunEntry:
    return RunEntry(run_id=run_id, started_at=started_at, branch="main", commit="", provider="local",
                    runner="pytest", fixtures=fixtures)


def test_measures_are_kept_and_merged_newest_first_and_bad_ones_are_left_out() -> None:
    first = entry("r1", "2026-12-01T10:00:00Z", measure_fixture_times(
        [summary("u1", "a1")], [record("a1", "a.py", setup=10, teardown=5, total=20)]))
    second = entry("r2", "2026-12-02T10:00:00Z", measure_fixture_times(
        [summary("u1", "b1", "c1")], [record("b1", "b.py", setup=30, teardown=5, total=40),
                                      record("c1", "c.py", setup=8, teardown=2, total=12)]))
    kept = History(runs=(second, first)).fixtures()
    assert kept.own == {"a1": 5, "b1": 5, "c1": 2}
    assert kept.shared == {place_key("", "a.py"): 15, place_key("", "b.py"): 35}
    assert kept.later == {place_key("", "c.py"): 10}
    newer = entry("r3", "2026-12-03T10:00:00Z", FixtureTimes(own={"a1": 9}))
    assert History(runs=(newer, second, first)).fixtures().own["a1"] == 9  # the newest measure wins
    raw = json.loads(encode_entry(first))
    raw["fixtures"] = {"own": {"x": -1, "y": True, "z": "3", "w": 7}, "shared": []}
    assert decode_entry(json.dumps(raw).encode()).fixtures == FixtureTimes(own={"w": 7})


def case(name: str, file: str, project: str = "") -> TestCase:
    return TestCase(id=name, project=project, file=file, line=1, column=1, title_path=(name,), tags=(),
                    expected_status="passed", serial_group=None)


def plan_of(*tests: TestCase) -> RunPlan:
    return RunPlan(phases=(Phase(units=tuple(Unit(id=make_unit_id(n, (t,)), tests=(t,))
                                             for n, t in enumerate(tests))),))


def test_fixture_heavy_tests_share_units_across_the_files_of_their_project() -> None:
    """Each test alone: 0.4 s of unit overhead, 3 s of fixtures (an app, a browser), 1 s of its own."""
    tests = [case(f"t{n}", f"test_{n}.py") for n in range(6)]
    other = case("o", "test_o.py", project="other")
    slow = case("slow", "test_slow.py")
    durations = {t.id: 4000 for t in [*tests, other]} | {slow.id: 9000}
    fixtures = FixtureTimes(own={t.id: 1000 for t in [*tests, other]} | {slow.id: 6000},
                            shared={place_key(t.project, t.file): 3000 for t in [*tests, other, slow]})
    packing = pack_plan(plan_of(*tests, other, slow), durations, concurrency=2, overhead_ms=400, fixtures=fixtures)
    names = [[t.id for t in u.tests] for u in packing.plan.units]
    # a pack holds at most PACK_FACTOR x (overhead + fixtures) = 10.2 s, counting each test's fixtures in full
    assert names == [["t0", "t1"], ["t2", "t3"], ["t4", "t5"], ["o"], ["slow"]]
    # tests of one file: their module's fixtures once in a pack
    same_file = [case(f"s{n}", "test_same.py") for n in range(6)]
    once = FixtureTimes(own={t.id: 1000 for t in same_file}, shared={place_key("", "test_same.py"): 3000})
    packed = pack_plan(plan_of(*same_file), {t.id: 4000 for t in same_file}, concurrency=2, overhead_ms=400,
                       fixtures=once)
    assert [len(u.tests) for u in packed.plan.units] == [6]  # 3 s + 6 x 1 s <= 10.2 s
    # without fixture times, the same 4 s tests are long against a 0.4 s overhead: one unit each
    plain = pack_plan(plan_of(*tests, other, slow), durations, concurrency=2, overhead_ms=400)
    assert plain.packs == 0


@pytest.mark.integration
def test_a_second_run_packs_tests_whose_module_fixture_costs_more_than_they_do(cli: Any, tmp_path: Path) -> None:
    """Six files of one short test each, every module starting an 'app' (a module-scoped fixture, 0.8 s): the
    first run, one unit per test, measures the fixture times; the second packs tests of several files into one
    unit, with the same verdicts."""
    project = tmp_path / "suite"
    (project / "tests").mkdir(parents=True)
    (project / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")
    (project / "tests" / "conftest.py").write_text(
        "import time\n\nimport pytest\n\n\n@pytest.fixture(scope='module')\ndef app():\n"
        "    time.sleep(0.8)\n    yield 'ready'\n")
    for n in range(6):
        (project / "tests" / f"test_m{n}.py").write_text(f"def test_{n}(app):\n    assert app == 'ready'\n")
    (project / "hypertest.yml").write_text("testRunner:\n  type: pytest\n  granularity: auto\nconcurrency: 2\n")
    first = cli("invoke", cwd=project)
    assert first.code == 0, first.out + first.err
    assert "6 tests in 6 units" in first.out
    kept = remembered(project / "hypertest-results", runner="pytest").fixtures
    assert all(kept.shared[place_key("", f"tests/test_m{n}.py")] >= 800 for n in range(6)), kept
    second = cli("invoke", cwd=project)
    assert second.code == 0, second.out + second.err
    assert "PASSED: 6 passed" in second.out
    found = re.search(r"6 tests in (\d+) units", second.out)
    assert found and int(found.group(1)) < 6, second.out
    assert "or the fixtures they share in one unit packed into" in second.out
    latest = max((project / "hypertest-results").glob("2*"), key=lambda p: p.name)
    units = json.loads((latest / "results.json").read_text())["units"]
    assert any(len({test.split("::")[0] for test in unit["tests"]}) > 1 for unit in units), units
