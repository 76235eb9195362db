"""The pull-request comment: a short verdict, the failures, and a link to the full summary."""

from __future__ import annotations

from hypertest.github.context import GitHubContext
from hypertest.github.escape import inline
from hypertest.github.markdown import facts_table, failure_block, headline, location, title, unexpected
from hypertest.github.triage_sections import (
    HEADINGS,
    SECTIONS,
    Room,
    base_of,
    compared_line,
    grouped,
    history_note,
    short_item,
)
from runner.model import RunResult

MARKER = "<!-- hypertest:pr-comment -->"
COMMENT_BUDGET_CHARS = 60_000  # GitHub refuses comments over 65,536 characters
MAX_FAILURES = 20
TRIAGE_RESERVE_CHARS = 2_000  # kept free for the one-line lists' headings and notes, and the link
MAX_LISTED = 10  # tests named in each one-line list
MAX_LISTS_CHARS = 15_000  # of the budget, what the new failures leave for the one-line lists at most
LIST_INTROS = {"pre-existing": ", failing on {base} too", "quarantined": ", not failing the run",
               "fixed": ", failing on {base}, passing here"}


def render_comment(result: RunResult, context: GitHubContext) -> str:
    """The comment body, found again later by its hidden marker."""
    parts = [MARKER, f"### {headline(result)}", facts_table(result)]
    if result.get("triage"):
        _triaged(parts, result, context)
    else:
        _untriaged(parts, result, context)
    if context.run_url:
        parts.append(f"[Full results in the workflow run's summary]({context.run_url})")
    return "\n\n".join(parts) + "\n"


def _untriaged(parts: list[str], result: RunResult, context: GitHubContext) -> None:
    """The failures, then the flaky tests in one line, of a run without failure triage."""
    failures = unexpected(result)
    shown = 0
    for record in failures[:MAX_FAILURES]:
        block = failure_block(record, result, context, max_lines=8, max_chars=1200)
        if sum(len(p) for p in parts) + len(block) > COMMENT_BUDGET_CHARS:
            break
        parts.append(block)
        shown += 1
    if len(failures) > shown:
        parts.append(f"_… and {len(failures) - shown} more failures in the job summary._")
    flaky = [r for r in result["tests"] if r["outcome"] == "flaky"]
    if flaky:
        names = [f"{title(r)} ({location(r, result, context)})" for r in flaky[:MAX_FAILURES]]
        parts.append("⚠️ Flaky: " + "; ".join(names) + (" …" if len(flaky) > MAX_FAILURES else ""))


def _triaged(parts: list[str], result: RunResult, context: GitHubContext) -> None:
    """The comparison with the base branch, the new failures' blocks, then one line for each other section
    (pre-existing, infra, flaky, quarantined, fixed): all within COMMENT_BUDGET_CHARS."""
    groups = grouped(result)
    parts.append(compared_line(result, groups))
    lists = sum(len(short_item(section, r, result, context)) + 2
                for section in SECTIONS[1:] for r in groups[section][:MAX_LISTED])
    room = Room(COMMENT_BUDGET_CHARS, sum(len(p) + 2 for p in parts), len,
                TRIAGE_RESERVE_CHARS + min(lists, MAX_LISTS_CHARS))
    new = groups["new"]
    if new:
        parts.append(room.take(f"#### {HEADINGS['new']} ({len(new)})"))
        shown = 0
        for record in new[:MAX_FAILURES]:
            block = failure_block(record, result, context, max_lines=8, max_chars=1200, note=history_note(record))
            if not room.fits(block):
                break
            parts.append(room.take(block))
            shown += 1
        if len(new) > shown:
            parts.append(room.take(f"_… and {len(new) - shown} more new failures in the job summary._"))
    base = f"**{inline(base_of(result), 200)}**"
    line_room = Room(COMMENT_BUDGET_CHARS, room.used, len, 200)  # the lists may use the reserve, not the link's
    for section in SECTIONS[1:]:
        records = groups[section]
        if not records:
            continue
        line = f"**{HEADINGS[section]} ({len(records)})**{LIST_INTROS.get(section, '').format(base=base)}: "
        items: list[str] = []
        for record in records[:MAX_LISTED]:
            item = short_item(section, record, result, context)
            if not line_room.fits(line + "; ".join([*items, item]) + " …"):
                break
            items.append(item)
        more = " …" if len(items) < len(records) else ""
        told = line + "; ".join(items) + more if items else line + "listed in the job summary"
        if line_room.fits(told):
            parts.append(line_room.take(told))
