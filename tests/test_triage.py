"""Failure triage and quarantine against a history: each class, its evidence and runs, and the edge cases (no
history, a run against its own branch, interrupted tests, rates over too few runs)."""

from __future__ import annotations

from typing import Any

from hypertest.core.config import QuarantineSettings
from hypertest.core.history import History, RecordedOutcome, RunEntry
from hypertest.core.quarantine import counted, quarantine_records
from hypertest.core.run_identity import RunIdentity
from hypertest.core.triage import triage_records

PASS = RecordedOutcome("passed", "expected", 100, 1)
FAIL = RecordedOutcome("failed", "unexpected", 100, 1)
FLAKY = RecordedOutcome("passed", "flaky", 200, 2)
LOST = RecordedOutcome("error", "unexpected", 0, 1, "OOM")
PR = RunIdentity(branch="pr", commit="abc", base="main")


def run(run_id: str, minute: int, branch: str = "main", **tests: RecordedOutcome) -> RunEntry:
    return RunEntry(run_id=run_id, started_at=f"2026-12-07T10:{minute:02d}:00Z", branch=branch, commit="",
                    provider="local", runner="playwright", tests=tests)


def record(test_id: str, status: str = "failed", outcome: str = "unexpected", **extra: Any) -> Any:
    attempts = [{"retry": 0, "status": status, "durationMs": 10, "error": None}]
    if outcome == "flaky":
        attempts = [{"retry": 0, "status": "failed", "durationMs": 10, "error": None},
                    {"retry": 1, "status": "passed", "durationMs": 10, "error": None}]
    return {"id": test_id, "project": "", "file": "a.spec.ts", "line": 1, "column": 1, "titlePath": [test_id],
            "status": status, "expectedStatus": "passed", "outcome": outcome, "annotations": [],
            "attempts": attempts, "artifacts": [], "tags": [], **extra}


def classes(records: list[Any]) -> dict[str, str | None]:
    return {r["id"]: r.get("triage", {}).get("class") for r in records}


def test_each_class_with_its_evidence() -> None:
    history = History(runs=(
        run("m3", 3, t_old=FAIL, t_new=PASS, t_fixed=FAIL, t_hist=FAIL, t_green=PASS),
        run("m2", 2, t_old=FAIL, t_new=PASS, t_fixed=PASS, t_hist=FLAKY),
        run("m1", 1, t_old=PASS, t_new=PASS),
        run("p1", 0, branch="pr", t_hist=FLAKY)))
    records = [record("t_old"), record("t_new"), record("t_fixed", "passed", "expected"), record("t_hist"),
               record("t_green", "passed", "expected"), record("t_flaky_here", "passed", "flaky"),
               record("t_lost", "error", infra="OOM"), record("t_cut", "interrupted"), record("t_unknown"),
               record("t_skip", "skipped", "skipped")]
    info = triage_records(records, history, PR, window=10)
    assert classes(records) == {"t_old": "pre-existing", "t_new": "new", "t_fixed": "fixed", "t_hist": "pre-existing",
                                "t_green": None, "t_flaky_here": "flaky", "t_lost": "infra", "t_cut": None,
                                "t_unknown": "new", "t_skip": None}
    by_id = {r["id"]: r["triage"] for r in records if "triage" in r}
    assert by_id["t_old"] == {"class": "pre-existing", "runs": ["m3", "m2"],
                              "evidence": "failing on main too: failed in its last 2 runs (since run m2)"}
    assert by_id["t_new"]["evidence"] == "passed in main's latest run (m3) and 2 before it"
    assert by_id["t_fixed"]["runs"] == ["m3"]
    # main's latest run failed it: pre-existing comes before its flaky past; the streak ends at the flaky run
    assert by_id["t_hist"] == {"class": "pre-existing", "runs": ["m3"],
                               "evidence": "failing on main too: failed in its last 1 run"}
    assert by_id["t_flaky_here"]["evidence"] == "passed on attempt 2 of 2 here"
    assert by_id["t_lost"]["evidence"].startswith("infra: OOM")
    assert by_id["t_unknown"]["evidence"] == "no run of main in the history has it"
    assert info["counts"] == {"new": 2, "preExisting": 2, "flaky": 1, "infra": 1, "fixed": 1, "quarantined": 0}
    assert info["baseRuns"] == ["m3", "m2", "m1"]


def test_a_failure_that_flaked_before_is_flaky_with_its_rate() -> None:
    history = History(runs=(run("m3", 3, t=PASS), run("m2", 2, t=FLAKY), run("m1", 1, t=PASS),
                            run("p1", 0, branch="pr", t=FLAKY)))
    records = [record("t")]
    triage_records(records, history, PR, window=10)
    assert records[0]["triage"] == {"class": "flaky", "evidence": "failed here; flaked in 2 of the last 4 runs",
                                    "runs": ["m2", "p1"], "rate": 0.5}


def test_a_run_against_its_own_branch_compares_with_its_previous_runs() -> None:
    history = History(runs=(run("m2", 2, t=FAIL, u=PASS),))
    records = [record("t"), record("u")]
    info = triage_records(records, history, RunIdentity(branch="main", commit="", base="main"), window=10)
    assert classes(records) == {"t": "pre-existing", "u": "new"}
    assert info["base"] == info["branch"] == "main"


def test_without_history_every_failure_is_new_and_nothing_is_fixed() -> None:
    records = [record("t"), record("u", "passed", "expected")]
    info = triage_records(records, History(), PR, window=10)
    assert classes(records) == {"t": "new", "u": None}
    assert info["baseRuns"] == []


def test_quarantine_by_id_title_tag_and_flaky_rate() -> None:
    # "rate" flaked in 2 of its 4 runs (0.5 > 0.3); "steady" in 1 of 4 (0.25); "few" in both its 2 runs (too few)
    history = History(runs=(run("m3", 3, rate=FLAKY, steady=PASS), run("m2", 2, rate=PASS, steady=FLAKY, few=FLAKY),
                            run("m1", 1, rate=FLAKY, steady=PASS, few=FLAKY), run("m0", 0, rate=PASS, steady=PASS)))
    records = [record("by_id"), record("by_title"), record("by_tag", tags=["@wip"]), record("rate"),
               record("steady"), record("few")]
    settings = QuarantineSettings(tests=("by_id", "a.spec.ts › by_title"), tags=("@wip",), flaky_rate=0.3)
    quarantine_records(records, settings, history, PR, window=10)
    assert [r["id"] for r in records if r.get("quarantined")] == ["by_id", "by_title", "by_tag", "rate"]
    assert [r["id"] for r in counted(records)] == ["steady", "few"]
    unset = [record("rate")]
    quarantine_records(unset, QuarantineSettings(), history, PR, window=10)
    assert "quarantined" not in unset[0]  # off by default
