"""`hypertest report`: re-render what a run shows from an existing results.json (e.g. in another job)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from hypertest.errors import ExitCode, UsageError
from hypertest.github.annotations import workflow_commands
from hypertest.github.comment import render_comment
from hypertest.github.context import GitHubContext
from hypertest.github.summary import render_summary
from hypertest.reporters.junit import render_junit


def load_result(path: Path) -> dict[str, Any]:
    """A results.json document, with a clear error when it is not one."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not JSON ({exc})") from None
    if not isinstance(document, dict) or not {"runId", "stats", "tests", "conclusion"} <= document.keys():
        raise UsageError(f"{path}: not a hypertest results.json (runId, stats, tests, conclusion expected)")
    return document


def run_report(path: Path, *, summary: str | None, comment: str | None, junit: str | None, annotations: bool,
               out: TextIO) -> int:
    """Write each requested rendering; the exit code follows the run's conclusion."""
    result = load_result(path)
    context = GitHubContext.from_environ()
    for target, render in ((summary, render_summary), (comment, render_comment)):
        if target:
            _write(target, render(result, context), out)
    if junit:
        _write(junit, render_junit(result), out)
    if annotations:
        for line in workflow_commands(result, context):
            out.write(line + "\n")
    return int(result.get("exitCode", ExitCode.OK if result["conclusion"] == "passed" else ExitCode.TESTS_FAILED))


def _write(target: str, text: str, out: TextIO) -> None:
    if target == "-":
        out.write(text)
    else:
        Path(target).write_text(text, encoding="utf-8")
