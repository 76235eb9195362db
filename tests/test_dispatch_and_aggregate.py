"""The dispatcher's slots and the aggregation invariant: every test exactly once, red never green."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import pytest

from hypertest.core.aggregate import conclusion, ordered_records, stats, unit_summary
from hypertest.core.dispatcher import Dispatcher
from hypertest.core.suite import Unit
from hypertest.core.unit_parse import parse_unit_result
from hypertest.errors import ExitCode
from tests.test_units import case


def units_of(count: int) -> list[Unit]:
    from hypertest.plugins.playwright.units import build_units

    return build_units([case(f"t{n}") for n in range(count)], "test")


def passed(test_id: str, outcome: str = "expected", status: str = "passed") -> dict[str, Any]:
    return {"id": test_id, "status": status, "outcome": outcome, "expectedStatus": "passed",
            "attempts": [{"retry": 0, "status": status, "durationMs": 5, "error": None}], "artifacts": []}


def test_slots_bound_concurrency_and_keep_every_slot_busy() -> None:
    lock = threading.Lock()
    running = peak = 0
    # The first three units wait for each other: the run only gets past them if three run at once (no timing
    # is assumed: a loaded machine just takes longer to reach the barrier).
    all_three = threading.Barrier(3, timeout=20)

    def execute(unit: Unit) -> Mapping[str, Any]:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        if unit.tests[0].title in ("t0", "t1", "t2"):
            all_three.wait()
        with lock:
            running -= 1
        return {"tests": [passed(t.id) for t in unit.tests]}

    units = units_of(12)
    outcomes = Dispatcher(execute, 3).run(units)
    assert peak == 3  # never more than the slots, and all of them used at once
    assert [o.unit.id for o in outcomes] == [u.id for u in units]


def test_a_failing_unit_does_not_stop_the_others() -> None:
    def execute(unit: Unit) -> Mapping[str, Any]:
        if unit.tests[0].title == "t1":
            raise RuntimeError("boom")
        return {"tests": [passed(t.id) for t in unit.tests]}

    units = units_of(4)
    outcomes = Dispatcher(execute, 2).run(units)
    records = {o.unit.tests[0].title: o.result["tests"][0] for o in outcomes}  # parsed by the dispatcher
    assert records["t1"]["status"] == "error"
    assert "boom" in records["t1"]["attempts"][0]["error"]["message"]
    assert [records[f"t{n}"]["status"] for n in (0, 2, 3)] == ["passed"] * 3


def test_ordering_policy_decides_who_starts_first() -> None:
    started: list[str] = []
    units = units_of(3)
    Dispatcher(lambda u: {"tests": []}, 1, ordering=lambda us: list(reversed(us)),
               on_begin=lambda u: started.append(u.tests[0].title)).run(units)
    assert started == ["t2", "t1", "t0"]


@pytest.mark.parametrize("garbage", [None, "text", 42, [], {"tests": "no"}, {"tests": [{"id": 3}]},
                                     {"tests": [{"status": "passed"}]}])
def test_garbage_results_become_error_records(garbage: Any) -> None:
    unit = units_of(1)[0]
    [record] = parse_unit_result(unit, garbage)["tests"]
    assert record["status"] == "error" and record["outcome"] == "unexpected"
    assert record["id"] == unit.tests[0].id


def test_a_units_own_facts_are_parsed_once_into_their_types() -> None:
    """What results.json's units say comes from the one parse: values of another type become the defaults."""
    unit = units_of(1)[0]
    parsed = parse_unit_result(unit, {"status": "ok", "error": None, "startedAt": "2026-01-02T03:04:05Z",
                                      "durationMs": 1200, "blob": "blobs/u.zip", "state": "state/u.tar.gz",
                                      "resources": {"peakMemoryMb": 300, "peakTmpMb": None},
                                      "runPath": "warm host (options)", "tests": [passed(unit.tests[0].id)]})
    assert unit_summary(unit, parsed) == {
        "id": unit.id, "tests": [unit.tests[0].id], "status": "ok", "error": None,
        "startedAt": "2026-01-02T03:04:05Z", "durationMs": 1200, "blob": "blobs/u.zip",
        "resources": {"peakMemoryMb": 300, "peakTmpMb": None}, "runPath": "warm host (options)"}
    assert parsed["state"] == "state/u.tar.gz" and parsed["unitId"] == unit.id
    odd = parse_unit_result(unit, {"status": "green", "error": 7, "startedAt": 5, "durationMs": "1", "blob": 3,
                                   "state": 4, "resources": "lots", "runPath": 7})
    assert unit_summary(unit, odd) == {"id": unit.id, "tests": [unit.tests[0].id], "status": "error",
                                       "error": "7", "startedAt": None, "durationMs": 0, "blob": None}
    assert "state" not in odd
    # not an object: the unit is an error whose tests say why; the unit itself has no message of its own
    lost = parse_unit_result(unit, ["a", "list"])
    assert (lost["status"], lost["error"]) == ("error", None)
    assert "malformed output (list" in lost["tests"][0]["attempts"][0]["error"]["message"]


def test_invalid_status_or_missing_attempts_become_errors() -> None:
    unit = units_of(1)[0]
    test_id = unit.tests[0].id
    bad_status = {**passed(test_id), "status": "green"}
    assert parse_unit_result(unit, {"tests": [bad_status]})["tests"][0]["status"] == "error"
    no_attempts = {**passed(test_id), "attempts": []}
    assert parse_unit_result(unit, {"tests": [no_attempts]})["tests"][0]["status"] == "error"


def test_attempts_errors_and_artifacts_are_typed_by_the_one_parse() -> None:
    """A record's attempts, their errors and its artifacts come out with the model's types: a value of another
    type becomes its default, an artifact without a name, path or content type is left out, further keys stay."""
    unit = units_of(1)[0]
    record = {**passed(unit.tests[0].id),
              "attempts": [{"retry": "1", "status": "green", "durationMs": -5, "startTime": 3, "steps": 2,
                            "error": {"message": 7, "stack": None, "location": "here"},
                            "errors": [{"message": "a"}, "b", None]}],
              "artifacts": [{"name": "trace", "path": "t.zip", "contentType": "application/zip", "attempt": "0",
                             "url": 5},
                            {"name": "no path", "contentType": "text/plain"}, "garbage"]}
    [parsed] = parse_unit_result(unit, {"tests": [record]})["tests"]
    assert parsed["attempts"] == [{"retry": 0, "status": "error", "durationMs": 0, "startTime": None, "steps": 2,
                                   "error": {"message": "7", "stack": "", "location": None},
                                   "errors": [{"message": "a"}]}]
    assert parsed["artifacts"] == [{"name": "trace", "path": "t.zip", "contentType": "application/zip",
                                    "attempt": None}]
    well_formed = {**passed(unit.tests[0].id)}
    assert parse_unit_result(unit, {"tests": [well_formed]})["tests"][0]["attempts"] == well_formed["attempts"]


def test_unit_error_message_reaches_its_tests() -> None:
    unit = units_of(1)[0]
    [record] = parse_unit_result(unit, {"status": "error", "error": "Chromium crashed", "tests": []})["tests"]
    assert record["attempts"][0]["error"]["message"] == "Chromium crashed"


def test_interrupted_is_never_green() -> None:
    unit = units_of(1)[0]
    record = {**passed(unit.tests[0].id), "status": "interrupted", "outcome": "skipped"}
    [merged] = parse_unit_result(unit, {"tests": [record]})["tests"]
    assert merged["outcome"] == "unexpected"


def test_every_discovered_test_exactly_once() -> None:
    units = units_of(3)
    tests = [t for u in units for t in u.tests]
    twice = {"tests": [passed(units[0].tests[0].id), passed(units[0].tests[0].id)]}
    by_unit = {units[0].id: parse_unit_result(units[0], twice)["tests"]}  # units 1 and 2 never reported
    records = ordered_records(units, by_unit, tests)
    assert [r["id"] for r in records] == [t.id for t in tests]
    assert [r["status"] for r in records] == ["passed", "error", "error"]


def test_conclusions_and_exit_codes() -> None:
    def verdict(*pairs: tuple[str, str], flaky_fails: bool = False) -> tuple[str, ExitCode]:
        records = [{"status": s, "outcome": o} for s, o in pairs]
        return conclusion(stats(records), flaky_fails)

    assert verdict(("passed", "expected"), ("skipped", "skipped")) == ("passed", ExitCode.OK)
    assert verdict(("failed", "expected")) == ("passed", ExitCode.OK)  # test.fail()
    assert verdict(("passed", "flaky")) == ("passed", ExitCode.OK)
    assert verdict(("passed", "flaky"), flaky_fails=True) == ("failed", ExitCode.TESTS_FAILED)
    assert verdict(("timedOut", "unexpected")) == ("failed", ExitCode.TESTS_FAILED)
    assert verdict(("passed", "unexpected")) == ("failed", ExitCode.TESTS_FAILED)  # test.fail() that passed
    assert verdict(("error", "unexpected")) == ("error", ExitCode.INFRASTRUCTURE)
    assert verdict(("error", "unexpected"), ("failed", "unexpected")) == ("failed", ExitCode.TESTS_FAILED)


def test_interrupted_tests_are_counted_apart_from_failures_and_still_fail_the_run() -> None:
    interrupted = {"status": "interrupted", "outcome": "unexpected"}
    counts = stats([interrupted, interrupted, {"status": "failed", "outcome": "unexpected"},
                    {"status": "error", "outcome": "unexpected"}, {"status": "passed", "outcome": "expected"}])
    assert (counts["failed"], counts["interrupted"], counts["errors"], counts["unexpected"]) == (1, 2, 1, 4)
    # a unit deadline's interrupted tests fail the run (exit 1), even beside infrastructure errors
    assert conclusion(stats([interrupted]), False) == ("failed", ExitCode.TESTS_FAILED)
    assert stats([interrupted])["failed"] == 0
    assert conclusion(stats([interrupted, {"status": "error", "outcome": "unexpected"}]), False) == (
        "failed", ExitCode.TESTS_FAILED)


def test_stats_count_each_kind() -> None:
    records = [{"status": "passed", "outcome": "expected"}, {"status": "failed", "outcome": "expected"},
               {"status": "failed", "outcome": "unexpected"}, {"status": "error", "outcome": "unexpected"},
               {"status": "passed", "outcome": "flaky"}, {"status": "skipped", "outcome": "skipped"}]
    counts = stats(records)
    assert (counts["passed"], counts["expectedFailures"], counts["failed"], counts["errors"], counts["flaky"],
            counts["skipped"], counts["total"]) == (1, 1, 1, 1, 1, 1, 6)


def test_stop_hands_out_no_more_units() -> None:
    started: list[str] = []
    dispatcher: Dispatcher

    def execute(unit: Unit) -> Mapping[str, Any]:
        started.append(unit.id)
        dispatcher.stop()
        return {"tests": []}

    dispatcher = Dispatcher(execute, 1)
    outcomes = dispatcher.run(units_of(5))
    assert len(started) == 1 and len(outcomes) == 1


def test_longest_units_start_first_from_past_durations() -> None:
    from hypertest.core.durations import longest_first
    from hypertest.core.history import History, RunEntry
    from hypertest.core.run_memory import outcome_of

    units = units_of(4)
    ids = [u.tests[0].id for u in units]
    older = {ids[0]: 100, ids[1]: 100, ids[2]: 100, ids[3]: 700}
    first = RunEntry(run_id="r1", started_at="2026-12-01T10:00:00Z", branch="main", commit="", provider="local",
                     runner="playwright", tests={test_id: outcome_of({**passed(test_id), "attempts": [
                         {"durationMs": ms}]}) for test_id, ms in older.items()})
    newest = [{**passed(ids[1]), "attempts": [{"durationMs": 9000}]},
              {**passed(ids[2]), "attempts": [{"durationMs": 500}, {"durationMs": 600}]},
              {**passed(ids[3], status="error")}]
    second = RunEntry(run_id="r2", started_at="2026-12-02T10:00:00Z", branch="main", commit="", provider="local",
                      runner="playwright", tests={record["id"]: outcome_of(record) for record in newest})
    durations = History(runs=(second, first)).durations()
    # the newest run that gave a result; an error leaves no (misleading) time: the run before it has one
    assert durations == {ids[0]: 100, ids[1]: 9000, ids[2]: 1100, ids[3]: 700}
    started: list[str] = []
    Dispatcher(lambda u: {"tests": []}, 1, ordering=longest_first(durations),
               on_begin=lambda u: started.append(u.tests[0].id)).run(units)
    assert started == [ids[1], ids[2], ids[3], ids[0]]
    assert History().durations() == {}
