"""Reading what runs left in a history folder, whatever their branch: what tests check a run remembered."""

from __future__ import annotations

from pathlib import Path

import pytest

from hypertest.core.history import History, decode_entry
from hypertest.core.run_memory import PastRuns, past_runs


def folder_history(folder: Path) -> History:
    """Every entry of every branch in a history folder, newest first."""
    entries = [decode_entry(path.read_bytes()) for path in folder.glob("*/*.json")]
    return History(runs=tuple(sorted(entries, key=lambda e: e.started_at, reverse=True)), where=str(folder))


def remembered(output: Path, provider: str = "local", runner: str = "playwright") -> PastRuns:
    """What the next run in output (history in <output>/.history) will read of the past runs."""
    return past_runs(folder_history(output / ".history"), provider, runner)


# What failure triage says of each test of tests/fixtures/triage_suite in a pull request's run after two base runs.
TRIAGE_SUITE_CLASSES = {"stays green": None, "breaks in the change": "new",
                        "broken before the change": "pre-existing", "fixed by the change": "fixed", "flaky": "flaky"}


def as_ci_job(monkeypatch: pytest.MonkeyPatch, branch: str, base: str | None = None) -> None:
    """The workflow variables a CI job of branch has: a push's (GITHUB_REF_NAME), or a pull request's against base
    (GITHUB_HEAD_REF and GITHUB_BASE_REF)."""
    if base is None:
        monkeypatch.setenv("GITHUB_REF_NAME", branch)
        monkeypatch.delenv("GITHUB_HEAD_REF", raising=False)
        monkeypatch.delenv("GITHUB_BASE_REF", raising=False)
    else:
        monkeypatch.setenv("GITHUB_HEAD_REF", branch)
        monkeypatch.setenv("GITHUB_BASE_REF", base)
