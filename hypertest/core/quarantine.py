"""Quarantine: tests whose failures are reported, apart and with their history, but do not fail the run. A test is
quarantined by its id or title (`quarantine.tests`), by a tag (`quarantine.tags`), or, when `quarantine.flakyRate`
is set, because it flaked in more than that share of the recent runs that had it."""

from __future__ import annotations

from collections.abc import Sequence

from hypertest.core.config import QuarantineSettings
from hypertest.core.history import History
from hypertest.core.run_identity import RunIdentity
from hypertest.core.triage import past_outcomes
from runner.model import TestRecord

MIN_RUNS_FOR_RATE = 3  # a rate over fewer runs quarantines nothing


def title_key(record: TestRecord) -> str:
    """A test's title as quarantine.tests may name it: `file › title › ...`."""
    return " › ".join([record["file"], *record["titlePath"]])


def quarantine_records(records: Sequence[TestRecord], settings: QuarantineSettings, history: History,
                       identity: RunIdentity, window: int) -> None:
    """Mark the quarantined records (`quarantined: true`); the others are left as they are."""
    named, tags = set(settings.tests), set(settings.tags)
    base_runs = history.of_branch(identity.base)
    for record in records:
        if record["id"] in named or title_key(record) in named or tags.intersection(record.get("tags", ())):
            record["quarantined"] = True
        elif settings.flaky_rate is not None:
            past = past_outcomes(history, record["id"], base_runs, window)
            if len(past.recent) >= MIN_RUNS_FOR_RATE and past.rate > settings.flaky_rate:
                record["quarantined"] = True


def counted(records: Sequence[TestRecord]) -> list[TestRecord]:
    """The records whose outcome decides the run's conclusion: all but the quarantined."""
    return [record for record in records if not record.get("quarantined")]
