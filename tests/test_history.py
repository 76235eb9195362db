"""The runs' history in a folder (the local and docker providers', kept by actions/cache): entries round-trip,
each branch keeps its newest runs, runs writing at the same time never lose each other's entries, and a corrupt,
huge, linked or unreadable history costs a warning, never the run."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from hypertest.core import history as history_module
from hypertest.core.fixture_times import FixtureTimes
from hypertest.core.history import (
    History,
    RecordedOutcome,
    RunEntry,
    branch_key,
    decode_entry,
    encode_entry,
    load_history,
    record_run,
)
from hypertest.providers.history_folder import FolderHistory


def entry(run_id: str, minute: int, branch: str = "main", **tests: RecordedOutcome) -> RunEntry:
    return RunEntry(run_id=run_id, started_at=f"2026-12-07T10:{minute:02d}:00.250Z", branch=branch, commit="c0ffee",
                    provider="local", runner="playwright", tests=tests, peaks={"peakMemoryMb": 700},
                    overhead_ms=120, fixtures=FixtureTimes(own={"a": 5}))


PASSED = RecordedOutcome(status="passed", outcome="expected", duration_ms=1200, attempts=1)


def test_an_entry_round_trips_and_its_name_sorts_by_start() -> None:
    first = entry("r-1", 1, t1=PASSED, t2=RecordedOutcome("error", "unexpected", 0, 1, "OOM"))
    assert decode_entry(encode_entry(first)) == first
    assert entry("r-9", 1).name < entry("r-1", 2).name  # the start decides, not the run id
    assert entry("../../etc", 3).name == "20261207T100300-.._.._etc.json"  # no path in a name


def test_branch_keys_are_safe_and_distinct() -> None:
    keys = {branch_key(name) for name in ("main", "feature/x", "feature-x", "../up", "", "ü", "a" * 300)}
    assert len(keys) == 7
    assert all("/" not in key and not key.startswith(".") and len(key) <= 71 for key in keys)


def test_each_branch_keeps_its_newest_runs_and_a_run_reads_its_branch_and_its_base(tmp_path: Path) -> None:
    store = FolderHistory(tmp_path / "history")
    said: list[str] = []
    for minute in range(5):
        record_run(store, entry(f"main-{minute}", minute), keep=3, warn=said.append)
    record_run(store, entry("pr-1", 9, branch="feature/x"), keep=3, warn=said.append)
    record_run(store, entry("other", 8, branch="other"), keep=3, warn=said.append)
    assert said == []
    history = load_history(store, ["feature/x", "main"], keep=3, warn=said.append)
    assert [run.run_id for run in history.runs] == ["pr-1", "main-4", "main-3", "main-2"]  # newest first
    assert [run.run_id for run in history.of_branch("main", 2)] == ["main-4", "main-3"]
    assert len(list((tmp_path / "history" / branch_key("main")).iterdir())) == 3  # older runs removed


def _write_runs(folder: str, writer: int, count: int) -> None:
    store = FolderHistory(Path(folder))
    for number in range(count):
        record_run(store, entry(f"w{writer}-{number}", number), keep=100, warn=print)


def test_runs_writing_at_the_same_time_keep_every_entry(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_write_runs, args=(str(tmp_path), writer, 5)) for writer in range(4)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(60)
        assert process.exitcode == 0
    said: list[str] = []
    history = load_history(FolderHistory(tmp_path), ["main"], keep=100, warn=said.append)
    assert sorted(run.run_id for run in history.runs) == sorted(f"w{w}-{n}" for w in range(4) for n in range(5))
    assert said == []
    assert not list(tmp_path.rglob(".writing-*"))  # no torn temporary file left


def test_a_corrupt_huge_or_linked_history_is_ignored_with_a_warning(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    store = FolderHistory(tmp_path)
    good = entry("good", 1, t1=PASSED)
    record_run(store, good, keep=30, warn=print)
    folder = tmp_path / branch_key("main")
    (folder / "20261207T100200-garbage.json").write_bytes(b"\xff\x00 not json")
    (folder / "20261207T100300-shape.json").write_text(json.dumps({"version": 1, "runId": 7}))
    (folder / "20261207T100400-deep.json").write_text("[" * 2000)
    (folder / "20261207T100500-huge.json").write_bytes(b" " * 4096)
    (tmp_path / "elsewhere.json").write_bytes(encode_entry(entry("linked", 6)))
    (folder / "20261207T100600-link.json").symlink_to(tmp_path / "elsewhere.json")
    monkeypatch.setattr(history_module, "MAX_ENTRY_BYTES", 2048)
    said: list[str] = []
    history = load_history(store, ["main"], keep=30, warn=said.append)
    assert [run.run_id for run in history.runs] == ["good"]  # a link is not followed, nor even listed
    assert history.durations() == {"t1": 1200}
    text = "\n".join(said)
    for name in ("garbage", "shape", "deep", "huge"):
        assert f"{name}.json" in text, text
    assert "not JSON" in text and "runId" in text
    assert "4,096 bytes, more than the 2,048 an entry may have" in text
    assert len(said) == 4


def test_an_unreadable_or_unwritable_history_warns_and_the_run_goes_on(tmp_path: Path) -> None:
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("a file where the history folder should be")
    said: list[str] = []
    assert load_history(FolderHistory(blocked), ["main"], keep=30, warn=said.append) == History(where=str(blocked))
    record_run(FolderHistory(blocked), entry("r", 1), keep=30, warn=said.append)
    assert len(said) == 2 and all(str(blocked) in line for line in said), said
    assert "cannot list" in said[0] and "cannot write" in said[1]


def test_past_runs_give_durations_peaks_and_tests_outcomes(tmp_path: Path) -> None:
    older = entry("r1", 1, t1=RecordedOutcome("passed", "expected", 900, 1),
                  t2=RecordedOutcome("failed", "unexpected", 50, 2))
    newer = entry("r2", 2, t1=RecordedOutcome("interrupted", "unexpected", 10, 1), t3=PASSED)
    history = History(runs=(newer, older))
    assert history.durations() == {"t1": 900, "t2": 50, "t3": 1200}  # interrupted: the time of the run before
    assert history.peaks("local") == {"peakMemoryMb": 700} and history.peaks("aws") == {}
    assert [run.run_id for run, _ in history.outcomes("t1", history.runs)] == ["r2", "r1"]
    assert os.sep not in newer.name


def test_the_folder_store_reads_only_regular_files(tmp_path: Path) -> None:
    from hypertest.core.regular_file import NotAFile

    store = FolderHistory(tmp_path)
    (tmp_path / "main").mkdir()
    os.mkfifo(tmp_path / "main" / "pipe.json")  # read, it would block a reader that waits for a writer
    with pytest.raises(NotAFile):
        store.read("main", "pipe.json", 1024)
    assert store.read("main", "gone.json", 1024) is None
