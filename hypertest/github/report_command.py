"""`hypertest report`: re-render what a run shows from an existing results.json (e.g. in another job).

The results file may come from anywhere (an artifact of another job, a fork's pull request), and the
flags from a workflow file: every problem with either ends in a one-screen error naming the file and
the JSON path, or the flag (exit 2), before anything is written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from hypertest.core.redaction import Redactor
from hypertest.errors import UsageError
from hypertest.github.annotations import workflow_commands
from hypertest.github.comment import render_comment
from hypertest.github.context import GitHubContext
from hypertest.github.files import NotAFile, replace_text, writable_target
from hypertest.github.results_file import load_result, shown
from hypertest.github.summary import render_summary
from hypertest.reporters.junit import render_junit


def run_report(path: Path, *, summary: str | None, comment: str | None, junit: str | None, annotations: bool,
               out: TextIO) -> int:
    """Write each requested rendering; the exit code follows the run's conclusion."""
    targets = check_targets(path, {"--summary": summary, "--comment": comment, "--junit": junit})
    result = Redactor.from_environ(os.environ).value(load_result(path))  # this job's secrets stay out too
    context = GitHubContext.from_environ()
    renderers = {"--summary": lambda: render_summary(result, context),
                 "--comment": lambda: render_comment(result, context), "--junit": lambda: render_junit(result)}
    texts = {flag: renderers[flag]() for flag in targets}  # all rendered before any is written
    for flag, target in targets.items():
        _write(flag, target, texts[flag], out)
    if annotations:
        for line in workflow_commands(result, context):
            out.write(line + "\n")
    return int(result["exitCode"])  # 0 passed, 1 tests failed, 3 infrastructure, 130 interrupted


def check_targets(results: Path, targets: Mapping[str, str | None]) -> dict[str, str]:
    """The requested output targets by flag ('-': stdout), each checked to be a writable regular file (a FIFO,
    device or socket is refused: it would block the write or swallow it)."""
    chosen = {flag: target for flag, target in targets.items() if target}
    seen: dict[Path, str] = {}
    for flag, target in chosen.items():
        if target == "-":
            continue
        where = f"{flag} {shown(target)}"
        try:
            resolved = _check_target(Path(target), where)
            if resolved == results.resolve():
                raise UsageError(f"{where}: that is the results file being read; name another file")
        except OSError as exc:
            raise UsageError(f"{where}: cannot write it ({shown(exc.strerror or str(exc))})") from None
        if resolved in seen:
            raise UsageError(f"{where}: the same file as {seen[resolved]}; name another file")
        seen[resolved] = flag
    return chosen


def _check_target(path: Path, where: str) -> Path:
    if path.is_dir():
        raise UsageError(f"{where}: is a folder; name a file (in it, for example)")
    if path.is_symlink() and not path.exists():
        raise UsageError(f"{where}: a symbolic link to nothing (dangling, or a loop)")
    folder = path.absolute().parent
    if not folder.is_dir():
        if folder.exists():
            raise UsageError(f"{where}: {shown(str(folder))} is not a folder")
        raise UsageError(f"{where}: the folder {shown(str(folder))} does not exist", hint="create it first")
    try:
        writable_target(path)  # a FIFO would block the write, a device swallow it
    except NotAFile as exc:
        raise UsageError(f"{where}: {exc}; name a regular file") from None
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{where}: the file is not writable")
    if not path.exists() and not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{where}: cannot create files in {shown(str(folder))} (not writable)")
    return path.resolve()


def _write(flag: str, target: str, text: str, out: TextIO) -> None:
    if target == "-":
        out.write(text)
        return
    try:
        replace_text(Path(target), text)  # non-blocking, and only into a regular file (checked again, opened)
    except NotAFile as exc:
        raise UsageError(f"{flag} {shown(target)}: {exc}; name a regular file") from None
    except OSError as exc:
        raise UsageError(f"{flag} {shown(target)}: cannot write it ({shown(exc.strerror or str(exc))})") from None


