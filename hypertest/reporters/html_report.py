"""One Playwright HTML report for the whole run, merged from the units' blob reports."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from runner.node import find_node, find_playwright_cli
from runner.process import read_tail, run_with_deadline

MERGE_TIMEOUT_S = 600.0


class MergeError(RuntimeError):
    """merge-reports failed; the message carries its last output lines."""


def merge_html_report(blob_dir: Path, report_dir: Path, project_dir: Path,
                      environ: Mapping[str, str] | None = None) -> Path:
    """Run `playwright merge-reports --reporter html` over blob_dir; returns the report's index.html."""
    with tempfile.TemporaryDirectory(prefix="ht-merge-") as scratch:
        # merge-reports unpacks next to the blobs: give it a folder of links, not the run folder.
        for blob in sorted(blob_dir.glob("*.zip")):
            _link_or_copy(blob, Path(scratch) / blob.name)
        return _merge(Path(scratch), report_dir, project_dir, environ)


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link when both are on one file system (an action's workspace mount is not), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _merge(blob_dir: Path, report_dir: Path, project_dir: Path, environ: Mapping[str, str] | None) -> Path:
    env = dict(os.environ if environ is None else environ)
    env.update({"PLAYWRIGHT_HTML_OUTPUT_DIR": str(report_dir), "PLAYWRIGHT_HTML_OPEN": "never",
                "FORCE_COLOR": "0"})
    argv = [find_node(env), str(find_playwright_cli(project_dir)), "merge-reports", "--reporter", "html",
            str(blob_dir)]
    log = report_dir.parent / "merge-reports.log"
    try:
        completed = run_with_deadline(argv, cwd=project_dir, env=env, log_path=log,
                                      deadline=time.monotonic() + MERGE_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as exc:
        raise MergeError(f"cannot run merge-reports: {exc}") from None
    index = report_dir / "index.html"
    if completed.exit_code != 0 or not index.is_file():
        raise MergeError(f"merge-reports exited with code {completed.exit_code}:\n{read_tail(log, 2000)}")
    log.unlink(missing_ok=True)
    return index
