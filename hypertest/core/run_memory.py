"""What runs remember of each other, through the history (core/history.py): a finished run becomes one entry (its
tests' outcomes and times, its units' peak resources, the unit overhead and fixture times it measured), and the
history read at the start of a run gives the dispatch order, packing and memory warnings what past runs saw."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hypertest.core.config import Settings
from hypertest.core.contracts import Provider
from hypertest.core.fixture_times import FixtureTimes, measure_fixture_times
from hypertest.core.history import History, RecordedOutcome, RunEntry, Warn, load_history, record_run
from hypertest.core.peaks import unit_peaks
from hypertest.core.run_identity import RunIdentity
from hypertest.core.unit_overhead import measured_overhead_ms
from runner.model import RunResult, TestRecord


@dataclass(frozen=True)
class PastRuns:
    """What past runs of this provider and test runner measured, as a run uses it."""

    durations: Mapping[str, int] = field(default_factory=dict)  # test id -> its time in its newest run
    peaks: Mapping[str, int] = field(default_factory=dict)  # peakMemoryMb, peakTmpMb: the highest seen
    overhead_ms: int | None = None  # the newest measured unit overhead
    fixtures: FixtureTimes = field(default_factory=FixtureTimes)


def read_history(settings: Settings, provider: Provider, identity: RunIdentity, warn: Warn) -> History:
    """The history of the run's branch and its base branch in the provider's store (none when history is off)."""
    if not settings.history.enabled:
        return History()
    store = provider.history_store(settings)
    return load_history(store, [identity.branch, identity.base], settings.history.runs, warn)


def remember_run(settings: Settings, provider: Provider, entry: RunEntry, warn: Warn) -> None:
    """Add a finished run's entry to the history (nothing when history is off)."""
    if settings.history.enabled:
        record_run(provider.history_store(settings), entry, settings.history.runs, warn)


def past_runs(history: History, provider: str, runner: str) -> PastRuns:
    """What the history says of past runs, for a run of this provider and test runner."""
    return PastRuns(durations=history.durations(), peaks=history.peaks(provider),
                    overhead_ms=history.overhead_ms(provider, runner), fixtures=history.fixtures())


def run_entry(result: RunResult, identity: RunIdentity, *, provider: str, runner: str) -> RunEntry:
    """The history entry of a finished run (results.json's document)."""
    records, units = result["tests"], result["units"]
    return RunEntry(run_id=result["runId"], started_at=result["startedAt"], branch=identity.branch,
                    commit=identity.commit, provider=provider, runner=runner,
                    tests={record["id"]: outcome_of(record) for record in records},
                    peaks=unit_peaks(units), overhead_ms=measured_overhead_ms(units, records),
                    fixtures=measure_fixture_times(units, records))


def outcome_of(record: TestRecord) -> RecordedOutcome:
    """A test's record as the history keeps it."""
    return RecordedOutcome(status=record["status"], outcome=record["outcome"],
                           duration_ms=sum(attempt["durationMs"] for attempt in record["attempts"]),
                           attempts=len(record["attempts"]), infra=record.get("infra", ""))
