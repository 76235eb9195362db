"""`playwright merge-reports` started before the blobs are all there: Node and the project's Playwright load while
the run's last units still run (merge_preload.cjs holds the process there), and the merge itself starts the
moment hypertest says go. About 0.8 s of a merge's 1 to 1.5 s is that loading."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from runner.node import find_node, find_playwright_cli
from runner.process import Completed, finish_with_deadline

PRELOAD = Path(__file__).with_name("merge_preload.cjs")


def merge_environment(report_dir: Path, environ: Mapping[str, str] | None) -> dict[str, str]:
    """The environment merge-reports runs in: the HTML report written to report_dir, never opened."""
    env = dict(os.environ if environ is None else environ)
    env.update({"PLAYWRIGHT_HTML_OUTPUT_DIR": str(report_dir), "PLAYWRIGHT_HTML_OPEN": "never",
                "FORCE_COLOR": "0",
                # the same, as the html reporter of Playwright 1.40 reads them
                "PLAYWRIGHT_HTML_REPORT": str(report_dir), "PW_TEST_HTML_REPORT_OPEN": "never"})
    return env


def merge_argv(env: Mapping[str, str], project_dir: Path, blob_dir: Path, *, preload: bool = False) -> list[str]:
    """The command line of the project's `playwright merge-reports --reporter html` over blob_dir."""
    node = [find_node(env, project_dir), *(["--require", str(PRELOAD)] if preload else [])]
    return [*node, str(find_playwright_cli(project_dir)), "merge-reports", "--reporter", "html", str(blob_dir)]


def merge_log(report_dir: Path) -> Path:
    """Where merge-reports' output goes (removed when the merge succeeds)."""
    return report_dir.parent / "merge-reports.log"


class PreparedMerge:
    """A merge-reports process waiting for its blobs in blob_dir (a folder of its own) to merge them into
    report_dir; `finish` lets it go, `close` ends it unused. Either removes blob_dir."""

    def __init__(self, report_dir: Path, project_dir: Path, environ: Mapping[str, str] | None = None) -> None:
        self.report_dir = report_dir
        self.project_dir = project_dir
        self.blob_dir = Path(tempfile.mkdtemp(prefix="ht-merge-"))
        self.log_path = merge_log(report_dir)
        env = merge_environment(report_dir, environ)
        try:
            argv = merge_argv(env, project_dir, self.blob_dir, preload=True)
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("wb") as log:
                self.child: subprocess.Popen[bytes] | None = subprocess.Popen(
                    argv, cwd=project_dir, env=env, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)
        except BaseException:
            shutil.rmtree(self.blob_dir, ignore_errors=True)
            raise

    def fits(self, report_dir: Path, project_dir: Path) -> bool:
        """Whether this process merges into report_dir for project_dir, and still waits for its go."""
        return (self.child is not None and self.child.poll() is None and self.report_dir == report_dir
                and self.project_dir == project_dir)

    def finish(self, deadline: float) -> Completed:
        """Let the merge go over what blob_dir holds now, and wait for it until the monotonic deadline."""
        child, self.child = self.child, None
        if child is None:
            raise RuntimeError("this prepared merge was already used")
        try:
            with contextlib.suppress(OSError):  # it ended early: its exit code and log tell why
                assert child.stdin is not None
                child.stdin.write(b"go\n")
                child.stdin.close()
            return finish_with_deadline(child, deadline=deadline, log_path=self.log_path)
        finally:
            shutil.rmtree(self.blob_dir, ignore_errors=True)

    def close(self) -> None:
        """End the waiting process unused (its stdin closed, it exits) and remove its blob folder."""
        child, self.child = self.child, None
        if child is not None:
            with contextlib.suppress(OSError):
                assert child.stdin is not None
                child.stdin.close()
            finish_with_deadline(child, deadline=time.monotonic() + 5.0, log_path=self.log_path, grace_s=1.0)
            self.log_path.unlink(missing_ok=True)
        shutil.rmtree(self.blob_dir, ignore_errors=True)
