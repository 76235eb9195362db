"""The pull-request comment: a short verdict, the failures, and a link to the full summary."""

from __future__ import annotations

from hypertest.github.context import GitHubContext
from hypertest.github.markdown import facts_table, failure_block, headline, location, title, unexpected
from runner.model import RunResult

MARKER = "<!-- hypertest:pr-comment -->"
COMMENT_BUDGET_CHARS = 60_000  # GitHub refuses comments over 65,536 characters
MAX_FAILURES = 20


def render_comment(result: RunResult, context: GitHubContext) -> str:
    """The comment body, found again later by its hidden marker."""
    parts = [MARKER, f"### {headline(result)}", facts_table(result)]
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
    if context.run_url:
        parts.append(f"[Full results in the workflow run's summary]({context.run_url})")
    return "\n\n".join(parts) + "\n"
