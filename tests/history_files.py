"""Reading what runs left in a history folder, whatever their branch: what tests check a run remembered."""

from __future__ import annotations

from pathlib import Path

from hypertest.core.history import History, decode_entry
from hypertest.core.run_memory import PastRuns, past_runs


def folder_history(folder: Path) -> History:
    """Every entry of every branch in a history folder, newest first."""
    entries = [decode_entry(path.read_bytes()) for path in folder.glob("*/*.json")]
    return History(runs=tuple(sorted(entries, key=lambda e: e.started_at, reverse=True)), where=str(folder))


def remembered(output: Path, provider: str = "local", runner: str = "playwright") -> PastRuns:
    """What the next run in output (history in <output>/.history) will read of the past runs."""
    return past_runs(folder_history(output / ".history"), provider, runner)
