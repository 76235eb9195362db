"""Failure triage: did this change break it? Each failing, flaky or fixed test is put in one class against the
history of the base branch (core/history.py):

- infra: no attempt gave a result because the infrastructure lost its unit (OOM, timeout, crash ...);
- flaky: it passed on a retry here; or it failed here and flaked in recent runs (with its rate);
- pre-existing: it fails here and failed in the base branch's latest run of it;
- new: it fails here and passed in the base branch's latest run of it, or the base never ran it;
- fixed: it passes here and failed in the base branch's latest run of it.

The class, the evidence in one sentence and the runs it rests on go into the record (`triage`); quarantine
(core/quarantine.py) marks the tests whose failures do not fail the run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from hypertest.core.history import History, RecordedOutcome, RunEntry
from hypertest.core.run_identity import RunIdentity
from runner.model import TestRecord, Triage, TriageCounts, TriageInfo


@dataclass(frozen=True)
class PastOutcomes:
    """One test's past: its latest outcomes on the base branch, and how often it flaked in recent runs."""

    base: list[tuple[RunEntry, RecordedOutcome]]  # newest first, runs where it gave a result
    recent: list[tuple[RunEntry, RecordedOutcome]]  # newest first, the window's runs (either branch) that had it

    @property
    def flaked(self) -> list[RunEntry]:
        """The recent runs where it was flaky."""
        return [run for run, outcome in self.recent if outcome.outcome == "flaky"]

    @property
    def rate(self) -> float:
        """The share of recent runs where it was flaky (0 with none)."""
        return round(len(self.flaked) / len(self.recent), 3) if self.recent else 0.0


def past_outcomes(history: History, test_id: str, base_runs: Sequence[RunEntry], window: int) -> PastOutcomes:
    """The past of a test in the history, base_runs being the base branch's (History.of_branch, newest first)."""
    base = [(run, outcome) for run, outcome in history.outcomes(test_id, base_runs) if outcome.ran][:window]
    recent = history.outcomes(test_id, history.runs)[:window]
    return PastOutcomes(base=base, recent=recent)


def classify(record: TestRecord, past: PastOutcomes, base: str) -> Triage | None:
    """The triage of a final record, or None when it needs none (passed as before, skipped, interrupted)."""
    status, outcome = record["status"], record["outcome"]
    latest = past.base[0] if past.base else None
    if outcome == "unexpected" and status == "error":
        cause = record.get("infra") or "lost"
        return {"class": "infra", "evidence": f"infra: {cause}: the infrastructure lost its unit before a result",
                "runs": []}
    if outcome == "flaky":
        passed_on = next((n for n, a in enumerate(record["attempts"], start=1) if a["status"] == "passed"),
                         len(record["attempts"]))
        return _flaky(f"passed on attempt {passed_on} of {len(record['attempts'])} here", past)
    if outcome == "unexpected" and status != "interrupted":
        return _failing(past, base)
    if outcome == "expected" and latest is not None and latest[1].failed:
        return {"class": "fixed", "runs": [latest[0].run_id],
                "evidence": f"failed in {base}'s latest run ({latest[0].run_id}); passes here"}
    return None


def _failing(past: PastOutcomes, base: str) -> Triage:
    """The triage of a test that failed here: pre-existing, flaky, or new."""
    latest = past.base[0] if past.base else None
    if latest is not None and latest[1].failed:
        failing = _failing_streak(past.base)
        since = f" (since run {failing[-1].run_id})" if len(failing) > 1 else ""
        return {"class": "pre-existing", "runs": [run.run_id for run in failing],
                "evidence": f"failing on {base} too: failed in its last {_runs(len(failing))}{since}"}
    if past.flaked:
        return _flaky("failed here", past)
    if latest is None:
        return {"class": "new", "runs": [], "evidence": f"no run of {base} in the history has it"}
    passing = [run for run, found in past.base if found.outcome in ("expected", "flaky")]
    return {"class": "new", "runs": [run.run_id for run in passing[:3]],
            "evidence": f"passed in {base}'s latest run ({latest[0].run_id})"
                        + (f" and {len(passing) - 1} before it" if len(passing) > 1 else "")}


def _flaky(here: str, past: PastOutcomes) -> Triage:
    flaked = past.flaked
    evidence = here + (f"; flaked in {len(flaked)} of the last {_runs(len(past.recent))}" if flaked else "")
    found: Triage = {"class": "flaky", "evidence": evidence, "runs": [run.run_id for run in flaked]}
    if past.recent:
        found["rate"] = past.rate
    return found


def _failing_streak(base: Sequence[tuple[RunEntry, RecordedOutcome]]) -> list[RunEntry]:
    """The base's runs, newest first, in which the test failed without a pass between."""
    streak = []
    for run, outcome in base:
        if not outcome.failed:
            break
        streak.append(run)
    return streak


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"


def triage_records(records: Sequence[TestRecord], history: History, identity: RunIdentity,
                   window: int) -> TriageInfo:
    """Put each record's triage into it; what the run was compared with, and the counts by class."""
    classes: Counter[str] = Counter()
    base_runs = history.of_branch(identity.base)  # once: every test's past reads them
    for record in records:
        found = classify(record, past_outcomes(history, record["id"], base_runs, window), identity.base or "the base")
        if found is not None:
            record["triage"] = found
            classes[found["class"]] += 1
    counts: TriageCounts = {"new": classes["new"], "preExisting": classes["pre-existing"], "flaky": classes["flaky"],
                            "infra": classes["infra"], "fixed": classes["fixed"],
                            "quarantined": sum(1 for r in records if r.get("quarantined")
                                               and r["outcome"] == "unexpected")}
    return {"branch": identity.branch, "commit": identity.commit, "base": identity.base,
            "baseRuns": [run.run_id for run in base_runs[:window]], "history": history.where, "counts": counts}
