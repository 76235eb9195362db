"""retryStrategy fresh: a failed test runs again in a new sandbox, cold, up to its retries (parallelRetries at
once); its record merges every attempt with where it ran and its artifacts; reporters and maxFailures see it once.

The unit tests drive core/retries.py and the dispatcher's submit with records made by hand; the e2e tests run
tests/fixtures/retry_suite with the local provider, real Playwright and Chromium.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from hypertest.core.dispatcher import Dispatcher, UnitOutcome
from hypertest.core.retries import Retries, merged_outcome
from hypertest.core.retry_unit import RetryUnit, retry_payload
from hypertest.core.suite import Unit
from runner.artifacts import AttemptStore, LocalDirectoryStore
from runner.model import make_attempt
from runner.sandbox_id import sandbox_id
from tests.retry_runs import case, invoke_retry_suite, ok_result, record
from tests.test_html_report import report_data, report_tests


def test_a_test_that_fails_then_passes_is_flaky_with_both_attempts_and_their_artifacts() -> None:
    retries = Retries(fresh=2, parallel=1, infra=1)
    test = case("flaky")
    unit = Unit(id="u1", tests=(test,))
    first = retries.settle(unit, ok_result(unit, [record(test, "failed", sandbox="local pid 10")]),
                           [record(test, "failed", sandbox="local pid 10")])
    assert first.final == []  # held back: it runs again
    [retry] = first.retries
    assert (retry.retry_of, retry.attempt, retry.tests) == ("u1", 1, (test,))
    assert retry_payload(retry, {"unit": {}}) == {"unit": {}, "fresh": True, "attempt": 1}
    passed = record(test, "passed", sandbox="local pid 20")
    second = retries.settle(retry, ok_result(retry, [passed]), [passed])
    assert second.retries == [] and second.root == "u1"
    [merged] = second.final
    assert (merged["status"], merged["outcome"]) == ("passed", "flaky")
    assert [(a["retry"], a["status"], a.get("sandbox")) for a in merged["attempts"]] == [
        (0, "failed", "local pid 10"), (1, "passed", "local pid 20")]
    assert [a.get("attempt") for a in merged["artifacts"]] == [0, 1]
    assert second.records == [merged]  # what the plan's unit holds for the report


def test_a_test_that_always_fails_gets_one_attempt_and_its_retries_then_is_final_once() -> None:
    retries = Retries(fresh=2, parallel=1, infra=1)
    test = case("broken")
    unit: Unit = Unit(id="u1", tests=(test,))
    reported = []
    for _ in range(5):  # bounded: 1 + 2 attempts
        settled = retries.settle(unit, ok_result(unit, [record(test, "failed")]), [record(test, "failed")])
        reported += settled.final
        if not settled.retries:
            break
        [unit] = settled.retries
    [final] = reported
    assert (final["status"], final["outcome"]) == ("failed", "unexpected")
    assert [a["retry"] for a in final["attempts"]] == [0, 1, 2]


def test_parallel_retries_start_together_and_a_pass_stops_further_ones() -> None:
    retries = Retries(fresh=4, parallel=2, infra=1)
    test = case("flaky")
    unit = Unit(id="u1", tests=(test,))
    settled = retries.settle(unit, ok_result(unit, [record(test, "failed")]), [record(test, "failed")])
    assert [(u.retry_of, u.attempt) for u in settled.retries] == [("u1", 1), ("u1", 2)]
    assert len({u.id for u in settled.retries}) == 2
    one, two = settled.retries
    passed = retries.settle(two, ok_result(two, [record(test, "passed")]), [record(test, "passed")])
    assert passed.retries == [] and passed.final == []  # attempt 1 still runs
    failed = retries.settle(one, ok_result(one, [record(test, "failed")]), [record(test, "failed")])
    assert failed.retries == []  # one passed: no more
    [final] = failed.final
    assert final["outcome"] == "flaky" and final["status"] == "passed"
    assert [(a["retry"], a["status"]) for a in final["attempts"]] == [(0, "failed"), (1, "failed"), (2, "passed")]


def test_a_serial_group_runs_again_whole() -> None:
    retries = Retries(fresh=1, parallel=1, infra=1)
    first, second, alone = case("first", "group"), case("second", "group"), case("alone")
    unit = Unit(id="u1", tests=(first, second, alone))
    records = [record(first, "passed"), record(second, "failed"), record(alone, "passed")]
    settled = retries.settle(unit, ok_result(unit, records), records)
    [retry] = settled.retries
    assert retry.tests == (first, second)
    assert [r["id"] for r in settled.final] == [alone.id]


def test_expected_failures_and_skips_do_not_retry_and_in_process_runs_have_no_fresh_retries() -> None:
    fresh = Retries(fresh=2, parallel=1, infra=1)
    test, skipped = case("expected-fail"), case("skipped")
    unit = Unit(id="u1", tests=(test, skipped))
    records = [record(test, "failed", outcome="expected"), record(skipped, "skipped", outcome="skipped")]
    assert fresh.settle(unit, ok_result(unit, records), records).retries == []
    in_process = Retries(fresh=0, parallel=1, infra=1)
    failed = [record(test, "failed"), record(skipped, "skipped", outcome="skipped")]
    assert in_process.settle(unit, ok_result(unit, failed), failed).retries == []


def test_playwrights_outcome_over_attempts() -> None:
    def attempts(*statuses: str) -> list:
        return [{**make_attempt(status=status), "retry": index} for index, status in enumerate(statuses)]

    assert merged_outcome(attempts("failed", "passed"), "passed", set()) == "flaky"
    assert merged_outcome(attempts("failed", "timedOut"), "passed", set()) == "unexpected"
    assert merged_outcome(attempts("error", "passed"), "passed", {0}) == "expected"  # a lost attempt: not the test's
    assert merged_outcome(attempts("skipped", "skipped"), "passed", set()) == "skipped"


def test_a_fresh_attempts_files_go_beside_the_earlier_ones(tmp_path: Path) -> None:
    store = AttemptStore(LocalDirectoryStore(tmp_path), 2)
    assert store.key("t1/attempt-0/00-trace.zip") == "t1/attempt-2/00-trace.zip"
    assert store.key("t1/custom/data.txt") == "t1/attempt-2/custom/data.txt"
    assert store.key("units/u1-fresh2/custom/x") == "units/u1-fresh2/custom/x"
    assert store.key("blobs/u1-fresh2.zip") == "blobs/u1-fresh2.zip"
    source = tmp_path / "file.txt"
    source.write_text("x")
    assert store.put(source, "t1/attempt-0/file.txt", "text/plain") == "t1/attempt-2/file.txt"
    assert (tmp_path / "t1" / "attempt-2" / "file.txt").is_file()


def test_the_sandbox_id() -> None:
    assert sandbox_id({}, pid=42) == "local pid 42"
    lambda_id = sandbox_id({"AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/07/[$LATEST]abc"})
    assert lambda_id.startswith("lambda 2026/12/07/[$LATEST]abc on ")


def test_units_submitted_while_running_run_in_the_same_run_and_come_back_after_its_own() -> None:
    ran: list[str] = []
    lock = threading.Lock()
    dispatcher: Dispatcher

    def execute(unit: Unit) -> object:
        with lock:
            ran.append(unit.id)
        return {"status": "ok", "tests": []}

    def on_end(outcome: UnitOutcome) -> None:
        if outcome.unit.id == "a":
            assert dispatcher.submit([RetryUnit(id="a-fresh1", tests=(case("x"),), retry_of="a", attempt=1)])

    dispatcher = Dispatcher(execute, 1, on_end=on_end)
    outcomes = dispatcher.run([Unit(id="a", tests=(case("x"),)), Unit(id="b", tests=(case("y"),))])
    assert [o.unit.id for o in outcomes] == ["a", "b", "a-fresh1"]
    assert ran == ["a", "a-fresh1", "b"]  # a retry goes ahead of the units waiting
    assert not dispatcher.submit([Unit(id="late", tests=(case("z"),))])  # no run goes on


def test_a_stopped_run_takes_no_retry_and_says_which_were_left() -> None:
    dispatcher: Dispatcher

    def on_end(outcome: UnitOutcome) -> None:
        if outcome.unit.id == "a":
            dispatcher.stop()
            assert not dispatcher.submit([Unit(id="a-fresh1", tests=(case("x"),))])

    dispatcher = Dispatcher(lambda unit: {"status": "ok", "tests": []}, 1, on_end=on_end)
    outcomes = dispatcher.run([Unit(id="a", tests=(case("x"),)), Unit(id="b", tests=(case("y"),))])
    assert [o.unit.id for o in outcomes] == ["a"] and dispatcher.left_over() == []


@pytest.mark.e2e
def test_fresh_retries_in_new_sandboxes(tmp_path: Path) -> None:
    run = invoke_retry_suite(tmp_path, "  retryStrategy: fresh\n  retries: 2\n", "fails|passes")
    assert run.code == 1, run.output
    flaky = run.test("fails on its first attempt only")
    assert (flaky["status"], flaky["outcome"]) == ("passed", "flaky")
    assert [a["retry"] for a in flaky["attempts"]] == [0, 1]
    sandboxes = [a["sandbox"] for a in flaky["attempts"]]
    assert all(s.startswith("local pid ") for s in sandboxes) and sandboxes[0] != sandboxes[1]
    by_attempt = {a["attempt"] for a in flaky["artifacts"] if a["name"] == "trace"}
    assert by_attempt == {0, 1}
    for artifact in flaky["artifacts"]:
        assert (run.run_dir / artifact["path"]).is_file(), artifact
    broken = run.test("fails every time")
    assert (broken["status"], broken["outcome"]) == ("failed", "unexpected")
    assert [a["retry"] for a in broken["attempts"]] == [0, 1, 2]
    assert len({a["sandbox"] for a in broken["attempts"]}) == 3
    passing = run.test("passes")
    assert (passing["outcome"], len(passing["attempts"])) == ("expected", 1)
    retry_units = [u for u in run.results["units"] if "retryOf" in u]
    assert sorted(u["retryOf"] for u in retry_units) == sorted([flaky["unitId"], broken["unitId"], broken["unitId"]])
    assert run.results["stats"]["flaky"] == 1 and run.results["stats"]["failed"] == 1
    # the merged HTML report agrees: each test once, a retried one with all its attempts (retry_blobs.py folds them)
    data = report_data(run.run_dir / "report" / "index.html")
    names = [(t["projectName"], t["title"]) for name, f in data.items() if name != "report.json" for t in f["tests"]]
    assert len(names) == len(set(names)) == 3
    tests = report_tests(data)
    shown_broken = tests[("retry", "fails every time")]
    shown_flaky = tests[("retry", "fails on its first attempt only")]
    assert [(r["retry"], r["status"]) for r in shown_broken["results"]] == [(0, "failed"), (1, "failed"), (2, "failed")]
    assert shown_flaky["outcome"] == "flaky" and [r["status"] for r in shown_flaky["results"]] == ["failed", "passed"]
    stats = data["report.json"]["stats"]
    assert (stats["expected"], stats["unexpected"], stats["flaky"]) == (1, 1, 1)
    assert len(list((run.run_dir / "blobs").glob("*.zip"))) == len(run.results["units"])  # left as they were


@pytest.mark.e2e
def test_parallel_retries_start_two_at_once(tmp_path: Path) -> None:
    run = invoke_retry_suite(tmp_path, "  retryStrategy: fresh\n  retries: 2\n  parallelRetries: 2\n",
                             "fails every time")
    assert run.code == 1, run.output
    broken = run.test("fails every time")
    assert [a["retry"] for a in broken["attempts"]] == [0, 1, 2]
    retry_units = [u for u in run.results["units"] if "retryOf" in u]
    assert len(retry_units) == 2 and {u["retryOf"] for u in retry_units} == {broken["unitId"]}


def test_the_console_counts_retry_units_among_the_units_to_run() -> None:
    import io

    from hypertest.core.contracts import RunInfo
    from hypertest.reporters.console import ConsoleReporter

    out = io.StringIO()
    console = ConsoleReporter(out, interactive=False, interval_s=3600)
    first, second = Unit(id="a", tests=(case("x"),)), Unit(id="b", tests=(case("y"),))
    console.on_begin(RunInfo(run_id="r", total_tests=2, units=[first, second], concurrency=2, provider="local",
                             output_dir="/tmp"))
    console.on_unit_begin(first)
    console.on_unit_begin(second)
    console.on_unit_end(first, [])  # x failed: held back for its retry
    retry = RetryUnit(id="a-fresh1", tests=(case("x"),), retry_of="a", attempt=1)
    console.on_unit_begin(retry)
    console.on_unit_end(second, [record(case("y"), "passed")])
    assert "[1/2]" not in out.getvalue()  # the retry still runs: no final line yet
    console.on_unit_end(retry, [record(case("x"), "passed")])
    assert out.getvalue().splitlines()[-1].startswith("[2/2] 0 failed, 0 running")
