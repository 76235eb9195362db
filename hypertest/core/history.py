"""The runs' history: one immutable entry per run (its tests' outcomes, durations, attempts and infrastructure
causes, and what it measured of its units), kept by the provider's HistoryStore in one folder per branch. A run
reads its own branch's entries and its base branch's, and writes one new entry; entries are never rewritten,
so runs at the same time never lose each other's records. A store that fails, or an entry that is corrupt or
too large, costs a warning, never the run."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from hypertest.core.contracts import HistoryStore
from hypertest.core.fixture_times import FixtureTimes

ENTRY_VERSION = 1
MAX_ENTRY_BYTES = 16 * 1024 * 1024  # a larger entry is ignored, with a warning
MAX_LISTED = 5000  # names listed in a branch's folder
READERS = 8  # entries read at once (a bucket answers slowly, one by one)
Warn = Callable[[str], None]


@dataclass(frozen=True)
class RecordedOutcome:
    """One test in one run: its final status and outcome, its time (all attempts), its attempts, and the
    infrastructure cause when no attempt gave a result (empty otherwise)."""

    status: str
    outcome: str
    duration_ms: int
    attempts: int
    infra: str = ""

    @property
    def failed(self) -> bool:
        """It failed (after its retries), and not for the infrastructure."""
        return self.outcome == "unexpected" and self.status not in ("error", "interrupted")

    @property
    def ran(self) -> bool:
        """It gave a result (not skipped, lost or interrupted)."""
        return self.status not in ("skipped", "error", "interrupted")


@dataclass(frozen=True)
class RunEntry:
    """What one run left in the history."""

    run_id: str
    started_at: str  # ISO 8601, UTC
    branch: str
    commit: str
    provider: str
    runner: str
    tests: Mapping[str, RecordedOutcome] = field(default_factory=dict)
    peaks: Mapping[str, int] = field(default_factory=dict)  # peakMemoryMb, peakTmpMb its units reached
    overhead_ms: int | None = None  # the median unit overhead it measured
    fixtures: FixtureTimes = field(default_factory=FixtureTimes)  # the fixture times it measured

    @property
    def name(self) -> str:
        """The entry's name in its branch's folder: sorting names sorts runs by start."""
        stamp = re.sub(r"[^0-9T]", "", self.started_at)[:15]
        return f"{stamp}-{re.sub(r'[^A-Za-z0-9._-]', '_', self.run_id)[:80]}.json"


@dataclass(frozen=True)
class History:
    """The entries read, newest first, and where they came from."""

    runs: tuple[RunEntry, ...] = ()
    where: str = ""

    def of_branch(self, branch: str, window: int | None = None) -> list[RunEntry]:
        """The branch's runs, newest first (at most window of them)."""
        found = [run for run in self.runs if run.branch == branch]
        return found if window is None else found[:window]

    def outcomes(self, test_id: str, runs: Iterable[RunEntry]) -> list[tuple[RunEntry, RecordedOutcome]]:
        """The test's outcome in each of runs that had it, in their order."""
        return [(run, run.tests[test_id]) for run in runs if test_id in run.tests]

    def durations(self) -> dict[str, int]:
        """test id -> its time in the newest run where it gave a result."""
        found: dict[str, int] = {}
        for run in self.runs:
            for test_id, outcome in run.tests.items():
                if outcome.ran and test_id not in found:
                    found[test_id] = outcome.duration_ms
        return found

    def peaks(self, provider: str) -> dict[str, int]:
        """The highest peakMemoryMb and peakTmpMb the units of past runs on this provider used."""
        found: dict[str, int] = {}
        for run in self.runs:
            if run.provider == provider:
                for key, value in run.peaks.items():
                    found[key] = max(found.get(key, 0), value)
        return found

    def overhead_ms(self, provider: str, runner: str) -> int | None:
        """The unit overhead the newest run of this provider and test runner measured."""
        return next((run.overhead_ms for run in self.runs if run.provider == provider and run.runner == runner
                     and run.overhead_ms is not None), None)

    def fixtures(self) -> FixtureTimes:
        """The fixture times measured, each test's and file's from the newest run that measured it."""
        own: dict[str, int] = {}
        shared: dict[str, int] = {}
        later: dict[str, int] = {}
        for run in reversed(self.runs):  # oldest first: newer measures overwrite
            own.update(run.fixtures.own)
            shared.update(run.fixtures.shared)
            later.update(run.fixtures.later)
        return FixtureTimes(own=own, shared=shared, later=later)


def branch_key(branch: str) -> str:
    """A branch's folder name: readable, safe in a path and an S3 key, and distinct for distinct branches."""
    readable = re.sub(r"[^A-Za-z0-9._-]", "-", branch)[:60].strip(".") or "none"
    return f"{readable}-{hashlib.sha256(branch.encode('utf-8', 'surrogatepass')).hexdigest()[:10]}"


def load_history(store: HistoryStore, branches: Sequence[str], keep: int, warn: Warn) -> History:
    """The newest `keep` entries of each branch (duplicates dropped), newest first; what cannot be read is
    left out with a warning."""
    wanted: list[tuple[str, str]] = []
    for branch in dict.fromkeys(branches):
        key = branch_key(branch)
        try:
            names = store.names(key, MAX_LISTED)
        except Exception as exc:  # a provider's store may raise its own errors: no history, never a crash
            warn(f"history: cannot list {store.where}/{key} ({_reason(exc)}); this run goes without it")
            return History(where=store.where)
        wanted.extend((key, name) for name in sorted(names, reverse=True)[:keep])

    def read(item: tuple[str, str]) -> RunEntry | None:
        key, name = item
        place = f"{store.where}/{key}/{name}"
        try:
            data = store.read(key, name, MAX_ENTRY_BYTES)
        except Exception as exc:  # ValueError: too large; a provider's error: unreadable
            warn(f"history: cannot read {place} ({_reason(exc)}); ignored")
            return None
        if data is None:
            return None
        try:
            return decode_entry(data)
        except ValueError as exc:
            warn(f"history: {place} is not a history entry ({exc}); ignored")
            return None

    with ThreadPoolExecutor(max_workers=READERS) as pool:
        entries = [entry for entry in pool.map(read, wanted) if entry is not None]
    unique = {entry.run_id: entry for entry in sorted(entries, key=lambda e: e.started_at)}
    return History(runs=tuple(sorted(unique.values(), key=lambda e: e.started_at, reverse=True)), where=store.where)


def record_run(store: HistoryStore, entry: RunEntry, keep: int, warn: Warn) -> None:
    """Write the run's entry into its branch's folder, then remove that folder's entries beyond the newest keep."""
    key = branch_key(entry.branch)
    try:
        store.write(key, entry.name, encode_entry(entry))
        names = sorted(store.names(key, MAX_LISTED), reverse=True)
        if len(names) > keep:
            store.remove(key, names[keep:])
    except Exception as exc:
        warn(f"history: cannot write to {store.where}/{key} ({_reason(exc)}); the next runs will not know this one")


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text[:300]


def encode_entry(entry: RunEntry) -> bytes:
    """An entry as compact JSON."""
    return json.dumps({
        "version": ENTRY_VERSION, "runId": entry.run_id, "startedAt": entry.started_at, "branch": entry.branch,
        "commit": entry.commit, "provider": entry.provider, "runner": entry.runner,
        "tests": {test_id: [o.status, o.outcome, o.duration_ms, o.attempts, o.infra]
                  for test_id, o in entry.tests.items()},
        "peaks": dict(entry.peaks), "overheadMs": entry.overhead_ms,
        "fixtures": {"own": dict(entry.fixtures.own), "shared": dict(entry.fixtures.shared),
                     "later": dict(entry.fixtures.later)},
    }, separators=(",", ":"), sort_keys=True).encode()


def decode_entry(data: bytes) -> RunEntry:
    """An entry from its bytes; ValueError saying what is wrong when they are not one."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"not JSON: {str(exc)[:120]}") from None
    if not isinstance(document, dict) or document.get("version") != ENTRY_VERSION:
        raise ValueError(f"not a version {ENTRY_VERSION} entry")
    texts = {key: document.get(key) for key in ("runId", "startedAt", "branch", "commit", "provider", "runner")}
    wrong = [key for key, value in texts.items() if not isinstance(value, str)]
    if wrong or not _is_time(str(texts["startedAt"])):
        raise ValueError(f"{', '.join(wrong) or 'startedAt'}: missing or not valid")
    tests = document.get("tests")
    if not isinstance(tests, dict):
        raise ValueError("tests: not an object")
    found = document.get("fixtures")
    fixtures: dict[str, object] = found if isinstance(found, dict) else {}
    overhead = document.get("overheadMs")
    return RunEntry(
        run_id=str(texts["runId"]), started_at=str(texts["startedAt"]), branch=str(texts["branch"]),
        commit=str(texts["commit"]), provider=str(texts["provider"]), runner=str(texts["runner"]),
        tests={str(test_id): outcome for test_id, raw in tests.items() if (outcome := _outcome(raw)) is not None},
        peaks=_counts(document.get("peaks")),
        overhead_ms=overhead if _is_count(overhead) else None,
        fixtures=FixtureTimes(own=_counts(fixtures.get("own")), shared=_counts(fixtures.get("shared")),
                              later=_counts(fixtures.get("later"))))


def _outcome(raw: object) -> RecordedOutcome | None:
    """A test's outcome from its list; None when it is malformed (that test is left out)."""
    if not isinstance(raw, list) or len(raw) != 5:
        return None
    status, outcome, duration, attempts, infra = raw
    if not (isinstance(status, str) and isinstance(outcome, str) and _is_count(duration) and _is_count(attempts)
            and isinstance(infra, str)):
        return None
    return RecordedOutcome(status=status[:20], outcome=outcome[:20], duration_ms=duration, attempts=attempts,
                           infra=infra[:80])


def _counts(found: object) -> dict[str, int]:
    return {str(key): value for key, value in found.items() if _is_count(value)} if isinstance(found, dict) else {}


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2 ** 53


def _is_time(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
