"""Markdown pieces shared by the job summary and the pull-request comment."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from urllib.parse import quote

from hypertest.core.safe_text import cut
from hypertest.github.context import GitHubContext
from hypertest.github.escape import attribute, code_block, inline
from runner.model import RunResult, TestRecord

ICONS = {"passed": "✅", "failed": "❌", "error": "💥", "flaky": "⚠️", "skipped": "⏭️", "timedOut": "⏱️",
         "interrupted": "⛔"}
TRACE_VIEWER = "https://trace.playwright.dev/?trace="


def title(record: TestRecord) -> str:
    """`[project] describe › test`, escaped for Markdown."""
    project = f"[{record['project']}] " if record["project"] else ""
    return inline(project + " › ".join(record["titlePath"]))


def duration(ms: float) -> str:
    """A short human duration."""
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def verdict_icon(record: TestRecord) -> str:
    """The icon of a test's result."""
    if record["outcome"] == "flaky":
        return ICONS["flaky"]
    if record["outcome"] == "skipped":
        return ICONS["skipped"]
    if record["outcome"] == "expected":
        return ICONS["passed"]
    return ICONS.get(record["status"], ICONS["failed"])


def headline(result: RunResult) -> str:
    """The one-line verdict."""
    counts = result["stats"]
    icon = "✅" if result["conclusion"] == "passed" else ("💥" if result["conclusion"] == "error" else "❌")
    parts = [f"{counts['failed']} failed"] if counts["failed"] else []
    parts += [f"{counts['interrupted']} interrupted"] if counts.get("interrupted") else []
    parts += [f"{counts['errors']} error{'s' if counts['errors'] != 1 else ''}"] if counts["errors"] else []
    parts += [f"{counts['flaky']} flaky"] if counts["flaky"] else []
    parts.append(f"{counts['passed']} passed")
    parts += [f"{counts['skipped']} skipped"] if counts["skipped"] else []
    return (f"{icon} hypertest {result['conclusion']}: {', '.join(parts)} of {counts['total']} tests "
            f"in {duration(result['durationMs'])}")


def estimated_cost(result: RunResult) -> tuple[str, str] | None:
    """(column name, amount) of the cost estimate the provider recorded in providerDetails, if it made one."""
    details = result.get("providerDetails") or {}
    cost = details.get("estimatedCost") if isinstance(details, Mapping) else None
    if not isinstance(cost, Mapping):
        return None
    label, usd = cost.get("label"), cost.get("usd")
    if not isinstance(label, str) or not label or not isinstance(usd, int | float) or isinstance(usd, bool) \
            or not math.isfinite(usd) or usd < 0:
        return None
    return inline(label), f"${usd:.4f}"


def facts_table(result: RunResult) -> str:
    """The at-a-glance table under the headline."""
    counts = result["stats"]
    cells = [("Tests", str(counts["total"])), ("Passed", str(counts["passed"])), ("Failed", str(counts["failed"]))]
    if counts.get("interrupted"):
        cells.append(("Interrupted", str(counts["interrupted"])))
    cells += [("Flaky", str(counts["flaky"])), ("Skipped", str(counts["skipped"])), ("Errors", str(counts["errors"])),
              ("Wall time", duration(result["durationMs"])), ("Concurrency", str(result["concurrency"]))]
    packing = result.get("packing")
    if packing:
        cells.append(("Units", f"{len(result['units'])} ({packing['packs']} packed: {packing['packedTests']} short "
                               "tests)"))
    history = result.get("history")
    if history and history["runs"]:
        cells.append(("History", f"{history['runs']} past run{'s' if history['runs'] != 1 else ''}: "
                                 f"{inline(str(history['order']), 40)}"))
    cells.append(("Provider", inline(str(result["provider"]))))
    cost = estimated_cost(result)
    if cost:
        cells.append(cost)
    return ("| " + " | ".join(name for name, _ in cells) + " |\n|" + "---|" * len(cells) + "\n| "
            + " | ".join(value for _, value in cells) + " |")


def location(record: TestRecord, result: RunResult, context: GitHubContext) -> str:
    """`file:line`, linked to the line at the commit when possible."""
    text = inline(f"{record['file']}:{record['line']}")
    url = context.file_url(str(result.get("rootDir", "")), record["file"], int(record["line"]))
    return f"[{text}]({url})" if url else text


def artifact_links(record: TestRecord) -> str:
    """Links to a test's stored artifacts that have URLs (traces also through the trace viewer)."""
    links = []
    for artifact in record.get("artifacts", []):
        url = artifact.get("url")
        if not url:
            continue
        name = inline(str(artifact["name"]))
        links.append(f'<a href="{attribute(url)}">{name}</a>')
        if str(artifact["name"]).startswith("trace"):
            links.append(f'<a href="{attribute(TRACE_VIEWER + quote(url, safe=""))}">open trace</a>')
    return " · ".join(links)


def error_text(record: TestRecord, max_lines: int, max_chars: int) -> str:
    """The last attempt's error message, cut to max_lines and max_chars with a note of how many characters
    more it has (`… (1,234 more characters)`); not yet escaped for any destination."""
    for attempt in reversed(record["attempts"]):
        error = attempt.get("error")
        if error and (error.get("message") or error.get("stack")):
            return cut(str(error.get("message") or error.get("stack")), max_chars, max_lines)
    return ""


def failure_block(record: TestRecord, result: RunResult, context: GitHubContext, *,
                  max_lines: int = 20, max_chars: int = 3000, note: str = "") -> str:
    """One failing test: title, location, status, links, a note in Markdown when given (failure triage's
    evidence), and its error in a code block."""
    attempts = len(record["attempts"])
    meta = [location(record, result, context), inline(record["status"])]
    if attempts > 1:
        meta.append(f"{attempts} attempts")
    links = artifact_links(record)
    if links:
        meta.append(links)
    block = f"{verdict_icon(record)} **{title(record)}**  \n{' · '.join(meta)}" + (f"  \n{note}" if note else "")
    text = error_text(record, max_lines, max_chars)
    return block + ("\n\n" + code_block(text) if text else "")


def unexpected(result: RunResult) -> Sequence[TestRecord]:
    """The tests that turn the run red: failures, then interrupted tests, then errors."""
    records = [r for r in result["tests"] if r["outcome"] == "unexpected"]
    return sorted(records, key=lambda r: (r["status"] == "error", r["status"] == "interrupted", r["file"], r["line"]))
