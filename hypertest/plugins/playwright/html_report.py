"""One Playwright HTML report for the whole run, merged from the units' blob reports."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from hypertest.plugins.playwright.prepared_merge import PreparedMerge, merge_argv, merge_environment, merge_log
from hypertest.plugins.playwright.retry_blobs import blobs_to_merge
from hypertest.plugins.playwright.run_blob import RUN_BLOB_NAME, read_blob_facts, write_run_blob
from runner.model import TestRecord, UnitSummary
from runner.process import Completed, read_tail, run_with_deadline

MERGE_TIMEOUT_S = 600.0
BLOB_PREFIX = "report-"


class MergeError(RuntimeError):
    """merge-reports failed; the message carries its last output lines."""


def merge_html_report(blob_dir: Path, report_dir: Path, project_dir: Path,
                      environ: Mapping[str, str] | None = None,
                      extra_records: Sequence[TestRecord] = (), *,
                      started_at: datetime | None = None, ended_at: datetime | None = None,
                      prepared: PreparedMerge | None = None, units: Sequence[UnitSummary] = ()) -> Path:
    """Run `playwright merge-reports --reporter html` over blob_dir; returns the report's index.html.

    One more blob (hypertest/plugins/playwright/run_blob.py) gives the report the run's wall time (from
    started_at, else the first unit's start, to ended_at, else now or the last unit's end) and carries
    extra_records: results.json records that no unit's blob has (an `error` record appears as a failed
    test with its message, a record of a test that never ran as skipped). The blobs of units' retry units
    (`retryOf`) are folded into their plan unit's (retry_blobs.py), so a retried test is one test with its
    attempts. Should merge-reports refuse what this gives it, the report is merged from the units' blobs as
    they are. A prepared merge for the same report and project does the first try (it has loaded Playwright
    already); it is used up either way.
    """
    if prepared is not None and not prepared.fits(report_dir, project_dir):
        prepared.close()
        prepared = None
    with tempfile.TemporaryDirectory(prefix="ht-merge-") as scratch:
        # merge-reports unpacks next to the blobs: give it a folder of links, not the run folder. Playwright 1.40
        # reads only the zips whose names start with "report".
        inbox = Path(scratch, "inbox") if prepared is None else prepared.blob_dir
        inbox.mkdir(exist_ok=True)
        blobs = sorted(blob_dir.glob("*.zip"))
        merged = blobs_to_merge(blob_dir, units, Path(scratch, "folded")) if units else blobs
        _fill(inbox, merged)
        try:
            run_blob = write_run_blob(inbox / f"{BLOB_PREFIX}{RUN_BLOB_NAME}", read_blob_facts(blobs),
                                      list(extra_records),
                                      started_at=started_at, ended_at=ended_at)
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
            run_blob = None  # a blob this cannot read: merge-reports will say what is wrong with it
        if prepared is not None:
            try:
                return _checked(prepared.finish(time.monotonic() + MERGE_TIMEOUT_S), report_dir)
            except MergeError:
                pass  # as below, without what was prepared (its folder is gone: merge from links again)
            return merge_html_report(blob_dir, report_dir, project_dir, environ, extra_records,
                                     started_at=started_at, ended_at=ended_at, units=units)
        if run_blob is None and merged == blobs:
            return _merge(inbox, report_dir, project_dir, environ)
        try:
            return _merge(inbox, report_dir, project_dir, environ)
        except MergeError:
            _fill(inbox, blobs)  # the units' blobs as they are, without the run's blob
            return _merge(inbox, report_dir, project_dir, environ)


def _fill(inbox: Path, blobs: Sequence[Path]) -> None:
    """inbox holding (under report- names) these blobs and no other zip."""
    for old in inbox.glob("*.zip"):
        old.unlink()
    for blob in blobs:
        _link_or_copy(blob, inbox / f"{BLOB_PREFIX}{blob.name}")


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link when both are on one file system (an action's workspace mount is not), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _merge(blob_dir: Path, report_dir: Path, project_dir: Path, environ: Mapping[str, str] | None) -> Path:
    env = merge_environment(report_dir, environ)
    try:
        completed = run_with_deadline(merge_argv(env, project_dir, blob_dir), cwd=project_dir, env=env,
                                      log_path=merge_log(report_dir), deadline=time.monotonic() + MERGE_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as exc:
        raise MergeError(f"cannot run merge-reports: {exc}") from None
    return _checked(completed, report_dir)


def _checked(completed: Completed, report_dir: Path) -> Path:
    """The report's index.html after merge-reports ended as completed (its log removed); MergeError otherwise."""
    index = report_dir / "index.html"
    log = merge_log(report_dir)
    if completed.exit_code != 0 or not index.is_file():
        raise MergeError(f"merge-reports exited with code {completed.exit_code}:\n{read_tail(log, 2000)}")
    log.unlink(missing_ok=True)
    return index
