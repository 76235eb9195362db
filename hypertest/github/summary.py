"""The job summary: verdict first, failures with errors and links, flaky tests, per-file tables,
a timeline — within GitHub's 1 MiB budget, dropping the least useful parts first."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from itertools import groupby

from hypertest.github.context import GitHubContext
from hypertest.github.escape import attribute, html_text, inline
from hypertest.github.markdown import (
    duration,
    facts_table,
    failure_block,
    headline,
    location,
    title,
    unexpected,
    verdict_icon,
)
from hypertest.github.triage_sections import (
    HEADINGS,
    SECTIONS,
    Room,
    base_of,
    compared_line,
    fitted,
    grouped,
    history_note,
    item_line,
)
from runner.model import RunResult, TestRecord, UnitSummary

SUMMARY_BUDGET_BYTES = 1024 * 1024 - 16 * 1024  # GitHub drops a summary over 1 MiB whole
TRIAGE_RESERVE_BYTES = 4096  # kept free for the later triage sections' headings and notes
INTROS = {"quarantined": "Their failures are reported here and do not fail the run.",
          "fixed": "Failing on {base}, passing here."}
MAX_TIMELINE_UNITS = 150


def render_summary(result: RunResult, context: GitHubContext,
                   budget: int = SUMMARY_BUDGET_BYTES) -> str:
    """The job summary Markdown, at most budget bytes."""
    variants: list[Callable[[], str]] = [
        lambda: _compose(result, context, files="all", timeline=True),
        lambda: _compose(result, context, files="problems", timeline=True),
        lambda: _compose(result, context, files="dropped", timeline=False),
    ]
    for variant in variants:
        text = variant()
        if len(text.encode()) <= budget:
            return text
    return _compose(result, context, files="dropped", timeline=False, failure_budget=budget)


def _compose(result: RunResult, context: GitHubContext, *, files: str, timeline: bool,
             failure_budget: int | None = None) -> str:
    parts = [f"## {headline(result)}", facts_table(result)]
    links = _report_links(result, context)
    if links:
        parts.append(links)
    if result.get("triage"):
        parts.extend(_triaged(result, context, failure_budget, len("\n\n".join(parts).encode())))
    else:
        _untriaged(parts, result, context, failure_budget)
    if files == "dropped":
        parts.append("_Per-file tables are left out: with them the summary would exceed GitHub's size limit; "
                     "results.json and the HTML report have every test._")
    elif files != "none":
        parts.append("### Results by file")
        parts.extend(_file_tables(result, context, problems_only=files == "problems"))
        if files == "problems":
            parts.append("_Passing tests are left out of these tables to keep the summary within "
                         "GitHub's size limit; results.json has them all._")
    if timeline and 1 < len(result["units"]) <= MAX_TIMELINE_UNITS:
        chart = _timeline(result["units"])
        if chart:
            parts.extend(["### Timeline", chart])
    return "\n\n".join(parts) + "\n"


def _untriaged(parts: list[str], result: RunResult, context: GitHubContext, failure_budget: int | None) -> None:
    """The failures, then the flaky tests, of a run without failure triage (as before triage existed)."""
    failures = unexpected(result)
    if failures:
        parts.append(f"### Failures ({len(failures)})")
        parts.extend(_failures(failures, result, context, failure_budget, len("\n\n".join(parts).encode())))
    flaky = [r for r in result["tests"] if r["outcome"] == "flaky"]
    if flaky:
        parts.append(f"### Flaky ({len(flaky)})")
        parts.append("\n".join(f"- {title(r)} · {location(r, result, context)} · passed on attempt "
                               f"{len(r['attempts'])}" for r in flaky))


def _triaged(result: RunResult, context: GitHubContext, budget: int | None, used: int) -> list[str]:
    """The sections of failure triage: the comparison, then new failures (their blocks), pre-existing ones
    (collapsed blocks), infrastructure errors, flaky tests, quarantined and fixed ones; every piece within
    the budget, each section's leftovers counted in a note."""
    groups = grouped(result)
    listed = 0  # the list sections' size: the failures' blocks leave room for them, up to a quarter of the budget
    if budget is not None:
        listed = sum(len(item_line(section, r, result, context).encode()) + 1
                     for section in ("infra", "flaky", "quarantined", "fixed") for r in groups[section])
    room = Room(budget, used, lambda text: len(text.encode()),
                TRIAGE_RESERVE_BYTES + min(listed, (budget or 0) // 4))
    note = "_… and {more} more: the summary is at GitHub's size limit; see results.json._"
    parts = [room.take(compared_line(result, groups))]

    def block(record: TestRecord) -> str:
        return failure_block(record, result, context, note=history_note(record))

    base = base_of(result)
    for section in SECTIONS:
        records = groups[section]
        if not records:
            continue
        if section not in ("new", "pre-existing"):
            room.reserve = TRIAGE_RESERVE_BYTES
        parts.append(room.take(f"### {HEADINGS[section]} ({len(records)})"))
        if section == "new":
            parts.extend(fitted(records, block, room, note))
        elif section == "pre-existing":
            parts.append(room.take(f"<details>\n<summary>Failing on {html_text(base, 200)} too: their errors"
                                   "</summary>"))
            parts.extend(fitted(records, block, room, note))
            parts.append(room.take("</details>"))
        elif section == "flaky":
            passed = [r for r in records if r["outcome"] == "flaky"]
            failed = [r for r in records if r["outcome"] != "flaky"]
            if passed:
                parts.append(_listed(passed, section, result, context, room=room, note=note))
            if failed:
                parts.append(room.take("Failed on every attempt here, and flaky in the history:"))
                parts.extend(fitted(failed, block, room, note))
        else:
            if section in INTROS:
                parts.append(room.take(INTROS[section].format(base=inline(base, 200))))
            parts.append(_listed(records, section, result, context, room=room, note=note))
    return parts


def _listed(records: Sequence[TestRecord], section: str, result: RunResult, context: GitHubContext, *,
            room: Room, note: str) -> str:
    """records as the list items of section, as many as fit (a note of the rest as a paragraph of its own)."""
    lines = fitted(records, lambda r: item_line(section, r, result, context), room, note)
    items = [line for line in lines if line.startswith("- ")]
    return "\n\n".join(filter(None, ["\n".join(items), *lines[len(items):]]))


def _failures(failures: Sequence[TestRecord], result: RunResult, context: GitHubContext,
              budget: int | None, used: int) -> list[str]:
    blocks = []
    for index, record in enumerate(failures):
        block = failure_block(record, result, context)
        if budget is not None and used + len(block.encode()) + 512 > budget:
            blocks.append(f"_… and {len(failures) - index} more failures: the summary is at GitHub's size "
                          "limit; see results.json._")
            break
        blocks.append(block)
        used += len(block.encode()) + 2
    return blocks


def _problem_counts(rows: Sequence[TestRecord]) -> list[str]:
    """`N failed`, `N interrupted`, `N errors`, `N flaky` (those not zero), counted as the headline counts."""
    unexpected = [r for r in rows if r["outcome"] == "unexpected"]
    interrupted = sum(1 for r in unexpected if r["status"] == "interrupted")
    errors = sum(1 for r in unexpected if r["status"] == "error")
    flaky = sum(1 for r in rows if r["outcome"] == "flaky")
    counts = [(len(unexpected) - interrupted - errors, "failed"), (interrupted, "interrupted"),
              (errors, "error" if errors == 1 else "errors"), (flaky, "flaky")]
    return [f"{count} {label}" for count, label in counts if count]


def _file_tables(result: RunResult, context: GitHubContext, *, problems_only: bool) -> list[str]:
    tables = []
    records = sorted(result["tests"], key=lambda r: (r["file"], r["project"], r["line"]))
    for file, group in groupby(records, key=lambda r: r["file"]):
        rows = list(group)
        bad = sum(1 for r in rows if r["outcome"] == "unexpected")
        flaky = sum(1 for r in rows if r["outcome"] == "flaky")
        shown = [r for r in rows if r["outcome"] in ("unexpected", "flaky")] if problems_only else rows
        counts = ", ".join([f"{len(rows)} tests", *_problem_counts(rows)])
        icon = "❌" if bad else ("⚠️" if flaky else "✅")
        summary = f"<summary>{icon} {html_text(file)} — {counts}</summary>"
        if not shown:
            tables.append(f"<details>{summary}</details>")
            continue
        lines = ["| | Test | Line | Duration | Attempts |", "|---|---|---|---|---|"]
        for record in shown:
            total = sum(int(a.get("durationMs", 0)) for a in record["attempts"])
            lines.append(f"| {verdict_icon(record)} | {title(record)} | {location(record, result, context)} | "
                         f"{duration(total)} | {len(record['attempts'])} |")
        tables.append(f"<details{' open' if bad else ''}>{summary}\n\n" + "\n".join(lines) + "\n\n</details>")
    return tables


def _timeline(units: Sequence[UnitSummary]) -> str:
    starts = []
    for unit in units:
        try:
            start = dt.datetime.fromisoformat(str(unit.get("startedAt")).replace("Z", "+00:00"))
            starts.append(start if start.tzinfo else start.replace(tzinfo=dt.UTC))  # a results.json may mix them
        except ValueError:
            return ""
    origin = min(starts)
    lines = ["```mermaid", "gantt", "  title Units over time (ms from the first start)", "  dateFormat x",
             "  axisFormat %M:%S", "  section units"]
    for unit, start in zip(units, starts, strict=True):
        begin = int((start - origin).total_seconds() * 1000)
        state = "crit, " if unit.get("status") != "ok" else ""
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", str(unit["id"]))  # no line break or fence from a results.json
        lines.append(f"  {name} :{state}{begin}, {begin + max(1, int(unit.get('durationMs', 0)))}")
    lines.append("```")
    return "\n".join(lines)


def _report_links(result: RunResult, context: GitHubContext) -> str:
    reports = result.get("reports", {})
    links = []
    for key, label in (("htmlUrl", "HTML report"), ("resultsUrl", "results.json"), ("junitUrl", "JUnit XML")):
        if reports.get(key):
            links.append(f'<a href="{attribute(reports[key])}">{label}</a>')
    if context.run_url:
        links.append(f"[workflow run]({context.run_url})")
    run_id = str(result["runId"])
    links.append(f"run id `{run_id}`" if re.fullmatch(r"[A-Za-z0-9._-]+", run_id) else f"run id {inline(run_id)}")
    return " · ".join(links)
