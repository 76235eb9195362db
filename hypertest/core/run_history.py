"""One run's use of the history (core/history.py): read in a thread of its own while the tests are discovered
(a bucket's history takes a moment), what it gives the run (durations, peaks, overhead, fixture times), the
quarantine and triage of the run's final records against it, and the run's own entry at the end."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TextIO

from hypertest.core.config import Settings
from hypertest.core.contracts import Provider
from hypertest.core.history import History, Warn
from hypertest.core.quarantine import quarantine_records
from hypertest.core.run_identity import RunIdentity, run_identity
from hypertest.core.run_memory import PastRuns, past_runs, read_history, remember_run, run_entry
from hypertest.core.suite import TestCase
from hypertest.core.triage import triage_records
from runner.model import HistoryUse, RunResult, TestRecord, TriageInfo


class RunHistory:
    """The history as one run reads, judges by and adds to it."""

    def __init__(self, settings: Settings, provider: Provider, environ: Mapping[str, str], warn: Warn) -> None:
        self.settings = settings
        self.provider = provider
        self.warn = warn
        self.identity = RunIdentity(branch="", commit="", base="")
        self.history = History()
        self.use: HistoryUse | None = None  # what the run took from it (results.json's `history`)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hypertest-history")

        def read() -> tuple[RunIdentity, History]:
            identity = run_identity(settings.base_dir, environ, base_flag=settings.base_override,
                                    base_setting=settings.base_branch)
            return identity, read_history(settings, provider, identity, warn)

        self._reading = pool.submit(read)
        pool.shutdown(wait=False)

    def past(self, runner: str, tests: Sequence[TestCase], out: TextIO) -> PastRuns:
        """What past runs of this provider and test runner measured (waits for the reading); says on out what the
        run takes from them."""
        self.identity, self.history = self._reading.result()
        past = past_runs(self.history, self.provider.name, runner)
        if self.settings.history.enabled:
            self.use = history_use(self.history, past.durations, [test.id for test in tests])
            out.write(f"{describe_use(self.use)}\n")
        return past

    def judge(self, records: Sequence[TestRecord]) -> TriageInfo | None:
        """Mark the quarantined records and give each failing, flaky or fixed one its triage (None: history off)."""
        window = self.settings.history.window
        quarantine_records(records, self.settings.quarantine, self.history, self.identity, window)
        return triage_records(records, self.history, self.identity, window) if self.settings.history.enabled \
            else None

    def describe(self, result: RunResult, triage: TriageInfo | None) -> None:
        """Put the triage and what the run took from the history into its results.json document."""
        if triage is not None:
            result["triage"] = triage
        if self.use is not None:
            result["history"] = self.use

    def remember(self, result: RunResult, runner: str) -> None:
        """Add the finished run to the history."""
        entry = run_entry(result, self.identity, provider=self.provider.name, runner=runner)
        remember_run(self.settings, self.provider, entry, self.warn)


def history_use(history: History, durations: Mapping[str, int], test_ids: Sequence[str]) -> HistoryUse:
    """What a run took from the history: past runs, its tests with a past duration, and the order that gave."""
    timed = sum(1 for test_id in test_ids if test_id in durations)
    return {"where": history.where, "runs": len(history.runs), "timedTests": timed,
            "order": "longest first" if timed else "discovery order"}


def describe_use(use: HistoryUse) -> str:
    """One console line: what the run took from the history."""
    if not use["runs"]:
        return f"history: no past runs yet in {use['where']}: units start in discovery order"
    return (f"history: {use['runs']} past run{'s' if use['runs'] != 1 else ''} in {use['where']}: "
            f"{use['timedTests']} tests with a past duration, {use['order']}")
