"""Workflow-command annotations on the failing test lines, within GitHub's per-step limits."""

from __future__ import annotations

from typing import TypedDict

from hypertest.core.safe_text import plain_text
from hypertest.github.context import GitHubContext
from hypertest.github.escape import command_data, command_property
from hypertest.github.markdown import error_text, unexpected
from hypertest.github.triage_sections import attempts_story, evidence, label_of, quarantined_class, rate
from runner.model import RunResult, TestRecord

MAX_PER_LEVEL = 10  # GitHub shows at most 10 errors and 10 warnings of one step
TITLE_LIMIT = 255  # a check run's annotation title may have 255 characters
MESSAGE_LIMIT = 16_000  # and its message 64 KB: 16,000 characters of up to 4 bytes
PATH_LIMIT = 1_000


class Annotation(TypedDict):
    """A failure or flaky test on its line, for any channel (a workflow command, a check run)."""

    path: str
    line: int
    column: int
    level: str  # failure | warning
    title: str
    message: str


def annotation_records(result: RunResult, context: GitHubContext) -> list[Annotation]:
    """Every failure and flaky test as an annotation (path, line, level, title, message), for any channel:
    plain text with invisible characters shown (`<U+202E>`), control characters out, within the check
    run's limits."""
    found: list[Annotation] = []
    for record, level in [(r, "warning" if r.get("quarantined") else "failure") for r in unexpected(result)] + \
            [(r, "warning") for r in result["tests"] if r["outcome"] == "flaky"]:
        path = context.repo_path(str(result.get("rootDir", "")), record["file"]) or record["file"]
        name = " › ".join(record["titlePath"])
        project = f"[{record['project']}] " if record["project"] else ""
        status = f" ({record['status']})"  # kept whole when a long title is cut
        label = label_of(record)  # failure triage's class, when the record has one
        prefix = f"{label}: " if label else ""
        message = error_text(record, 30, 4000) or record["status"]
        if label:
            message = _triaged_message(record, label, message)
        elif level == "warning":
            message = f"flaky: passed on attempt {len(record['attempts'])}\n{message}"
        found.append({"path": plain_text(path, PATH_LIMIT), "line": max(1, int(record["line"])),
                      "column": int(record["column"]), "level": level,
                      "title": prefix + plain_text(f"{project}{name}", TITLE_LIMIT - len(prefix) - len(status))
                      + status, "message": plain_text(message, MESSAGE_LIMIT)})
    return found


def _triaged_message(record: TestRecord, label: str, message: str) -> str:
    """The message of a triaged test: its class and evidence, how its attempts went when it is flaky, then
    its error (raw text)."""
    said = evidence(record)
    first = label + (f" ({quarantined_class(record)}), not failing the run" if record.get("quarantined") else "")
    lines = [first + (f": {said}" if said else "")]
    if record["outcome"] == "flaky" or label == "flaky":
        lines.append(attempts_story(record) + (f"; {rate(record)}" if rate(record) else ""))
    return "\n".join([*lines, message])


def workflow_commands(result: RunResult, context: GitHubContext) -> list[str]:
    """`::error file=…::…` lines: the first 10 failures and 10 flaky tests, then a notice of the rest."""
    annotations = annotation_records(result, context)
    lines = []
    for level, command in (("failure", "error"), ("warning", "warning")):
        chosen = [a for a in annotations if a["level"] == level]
        for annotation in chosen[:MAX_PER_LEVEL]:
            lines.append(f"::{command} file={command_property(annotation['path'])},line={annotation['line']},"
                         f"col={annotation['column']},title={command_property(annotation['title'])}::"
                         f"{command_data(annotation['message'])}")
        if len(chosen) > MAX_PER_LEVEL:
            rest = f"{len(chosen) - MAX_PER_LEVEL} more {command}s are in the job summary"
            lines.append(f"::notice::{command_data(rest)}")
    return lines
