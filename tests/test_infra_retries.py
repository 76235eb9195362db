"""Infrastructure apart from tests: a unit its sandbox lost (a crash, OOM, a deadline, throttling, a malformed
result) runs its unfinished tests again in a new sandbox, up to infraRetries; a test that never got a result is
`error` with its cause (`infra`), counted apart from failures (exit code 3 when nothing else failed).

The unit tests drive core/infra_cause.py and core/retries.py with results made by hand; the e2e tests run
tests/fixtures/retry_suite, whose test SIGKILLs its runner process on its first attempt, on the local provider.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hypertest.core.infra_cause import infra_cause
from hypertest.core.retries import Retries
from hypertest.core.suite import Unit
from runner.model import ran_unit_result
from tests.retry_runs import case, invoke_retry_suite, lost_result, ok_result, record

UNIT = Unit(id="u1", tests=(case("a"),))


@pytest.mark.parametrize(("message", "extra", "cause"), [
    ("the runner process exited with code -9 without a result: (no output)", {}, "crash"),
    ("whatever", {"infra": "OOM"}, "OOM"),  # named at the source
    ("the function failed (Unhandled): Runtime.OutOfMemory: Runtime exited with error", {}, "OOM"),
    ("Invoke was still refused after 4 attempts: TooManyRequestsException: Rate exceeded", {}, "throttled"),
    ("the function returned malformed JSON (12 bytes): '{not'", {}, "malformed result"),
    ("the runner process did not finish in time: (no output)", {}, "timeout"),
    ("something nobody said before", {}, "lost"),
])
def test_the_cause_is_the_one_named_else_read_from_the_error(message: str, extra: dict, cause: str) -> None:
    assert infra_cause(lost_result(UNIT, message, **extra)) == cause


def test_a_deadline_is_a_timeout_and_a_suites_own_error_or_a_finished_unit_is_no_infrastructures() -> None:
    deadline = ran_unit_result(run_id="r", unit_id="u1", status="deadline", error="stopped", exit_code=None,
                               tests=[], blob=None, unrequested=0, output_tail="")
    assert infra_cause(deadline) == "timeout"
    config_error = {**deadline, "status": "error", "error": "Playwright exited with code 1 before reporting",
                    "exitCode": 1}
    assert infra_cause(config_error) is None  # type: ignore[arg-type]
    killed = {**config_error, "exitCode": 137}
    assert infra_cause(killed) == "crash"  # type: ignore[arg-type]
    assert infra_cause(ok_result(UNIT, [])) is None


def test_a_lost_test_runs_again_and_passes_with_the_lost_attempt_kept() -> None:
    retries = Retries(fresh=0, parallel=1, infra=1)
    test = UNIT.tests[0]
    lost = lost_result(UNIT, "the runner process exited with code -9 without a result", infra="crash",
                       sandbox="local pid 1")
    settled = retries.settle(UNIT, lost, lost["tests"])
    assert settled.final == []
    [retry] = settled.retries
    assert (retry.retry_of, retry.attempt, retry.cause) == ("u1", 1, "infra")
    passed = record(test, "passed", sandbox="local pid 2")
    [final] = retries.settle(retry, ok_result(retry, [passed]), [passed]).final
    assert (final["status"], final["outcome"], final.get("infra")) == ("passed", "expected", None)
    first, second = final["attempts"]
    assert first["status"] == "error" and first["error"] is not None
    assert first["error"]["message"].startswith("infra: crash — ")
    assert (second["retry"], second["sandbox"]) == (1, "local pid 2")


def test_without_infra_retries_a_lost_test_is_an_error_with_its_cause() -> None:
    retries = Retries(fresh=2, parallel=1, infra=0)
    lost = lost_result(UNIT, "the function failed (Unhandled): Runtime.OutOfMemory: out of memory")
    settled = retries.settle(UNIT, lost, lost["tests"])
    assert settled.retries == []
    [final] = settled.final
    assert (final["status"], final["outcome"], final["infra"]) == ("error", "unexpected", "OOM")
    assert final["attempts"][-1]["error"]["message"].startswith("infra: OOM — ")  # type: ignore[index]


def test_only_the_tests_a_lost_unit_did_not_finish_run_again_and_a_stopped_unit_is_not_lost() -> None:
    a, b = case("a"), case("b")
    unit = Unit(id="u2", tests=(a, b))
    result = lost_result(unit, "the runner process exited with code -9 without a result")
    records = [record(a, "passed"), {**record(b, "error"), "artifacts": []}]
    settled = Retries(fresh=0, parallel=1, infra=1).settle(unit, result, records)
    assert [r["id"] for r in settled.final] == [a.id]
    assert [u.tests for u in settled.retries] == [(b,)]
    stopped = Retries(fresh=0, parallel=1, infra=1).settle(unit, result, records, cut_short=True)
    assert stopped.retries == [] and "infra" not in stopped.final[1]


def test_a_results_sandbox_and_cause_are_bounded_to_what_core_knows() -> None:
    from hypertest.core.unit_parse import MAX_SANDBOX_CHARS, parse_unit_result

    hostile = {"status": "error", "error": "the runner process was killed", "tests": [],
               "infra": "<script>pwned</script>", "sandbox": "x" * 10_000}
    parsed = parse_unit_result(UNIT, hostile)
    assert "infra" not in parsed and parsed["sandbox"] == "x" * MAX_SANDBOX_CHARS
    assert parsed["tests"][0]["attempts"][0]["sandbox"] == "x" * MAX_SANDBOX_CHARS
    assert infra_cause(parsed) == "crash"  # read from the error instead
    named = parse_unit_result(UNIT, {**hostile, "infra": "OOM"})
    assert named["infra"] == "OOM" and infra_cause(named) == "OOM"


@pytest.mark.e2e
def test_a_unit_whose_sandbox_is_killed_runs_again_in_a_new_one(tmp_path: Path) -> None:
    run = invoke_retry_suite(tmp_path, "infraRetries: 1\n", "sandbox dies")
    assert run.code == 0, run.output
    test = run.test("its sandbox dies on the first attempt")
    assert test["status"] == "passed" and "infra" not in test
    lost, passed = test["attempts"]
    assert lost["status"] == "error" and lost["error"]["message"].startswith("infra: crash — ")
    assert passed["status"] == "passed" and passed["sandbox"] != lost["sandbox"]
    first, retry = run.results["units"]
    assert (first["status"], first["infra"]) == ("error", "crash")
    assert retry["retryOf"] == first["id"] and retry["status"] == "ok"


@pytest.mark.e2e
def test_without_infra_retries_the_killed_test_is_an_infrastructure_error(tmp_path: Path) -> None:
    run = invoke_retry_suite(tmp_path, "infraRetries: 0\n", "sandbox dies")
    assert run.code == 3, run.output
    test = run.test("its sandbox dies on the first attempt")
    assert (test["status"], test["infra"]) == ("error", "crash")
    assert test["attempts"][-1]["error"]["message"].startswith("infra: crash — ")
    assert run.results["stats"]["errors"] == 1 and run.results["stats"]["failed"] == 0
    assert [u.get("retryOf") for u in run.results["units"]] == [None]
