"""Failure triage as rendered: which section each test goes in (new, pre-existing, infra, flaky, quarantined,
fixed), what its evidence and its attempts say, and the Markdown pieces the job summary and the pull-request
comment share. Every test's text is hostile: the Markdown helpers escape it, the plain ones leave it for the
caller's destination (a terminal, a workflow command) to escape.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hypertest.github.context import GitHubContext
from hypertest.github.escape import inline
from hypertest.github.markdown import location, title, unexpected, verdict_icon
from runner.model import RunResult, TestRecord

SECTIONS = ("new", "pre-existing", "infra", "flaky", "quarantined", "fixed")
HEADINGS = {"new": "New failures", "pre-existing": "Pre-existing failures", "infra": "Infrastructure errors",
            "flaky": "Flaky", "quarantined": "Quarantined", "fixed": "Fixed"}
LABELS = {"new": "new failure", "pre-existing": "pre-existing failure", "infra": "infra error", "flaky": "flaky",
          "quarantined": "quarantined", "fixed": "fixed"}
MAX_ATTEMPTS_TOLD = 5
EVIDENCE_LIMIT = 500


def section_of(record: TestRecord) -> str | None:
    """The section a test is shown in, None for a test that needs none (it passed, was skipped, or failed as
    expected). A quarantined failure is shown apart whatever its class; a failure without a class is new (an
    error without one is infrastructure's), as when the base branch has no history."""
    triage = record.get("triage")
    klass = triage["class"] if triage else None
    outcome = record["outcome"]
    if record.get("quarantined") and outcome in ("unexpected", "flaky"):
        return "quarantined"
    if outcome == "unexpected":
        if klass in ("pre-existing", "infra", "flaky"):
            return klass
        return "infra" if klass is None and record["status"] == "error" else "new"
    if outcome == "flaky":
        return "flaky"
    return "fixed" if klass == "fixed" else None


def grouped(result: RunResult) -> dict[str, list[TestRecord]]:
    """Every section's tests: failures in the order of `unexpected` (failures, interrupted, errors), then
    the others in the results' order."""
    groups: dict[str, list[TestRecord]] = {name: [] for name in SECTIONS}
    failing = list(unexpected(result))
    ids = {id(record) for record in failing}
    for record in failing + [r for r in result["tests"] if id(r) not in ids]:
        section = section_of(record)
        if section:
            groups[section].append(record)
    return groups


def new_failures(result: RunResult) -> int:
    """The failures of class new (or of no class: every failure is new without history), not quarantined."""
    return sum(1 for r in result["tests"] if r["outcome"] == "unexpected" and section_of(r) == "new")


def evidence(record: TestRecord) -> str:
    """The triage's sentence of why (raw text), with the infrastructure cause first when it does not name it."""
    triage = record.get("triage")
    said = str(triage["evidence"]).strip() if triage else ""
    cause = str(record.get("infra") or "").strip()
    if cause and cause not in said:
        said = f"{cause}: {said}" if said else cause
    return said


def rate(record: TestRecord) -> str:
    """`flaky in 20% of the recent runs`, or empty without a rate (or a rate of 0: it never flaked before)."""
    triage = record.get("triage")
    value = triage.get("rate") if triage else None
    return f"flaky in {value:.0%} of the recent runs" if isinstance(value, int | float) and value > 0 else ""


def attempts_story(record: TestRecord) -> str:
    """What each attempt did and where it ran: `attempt 1 failed in local pid 1234, attempt 2 passed in
    local pid 1240` (raw text)."""
    told = []
    for number, attempt in enumerate(record["attempts"][:MAX_ATTEMPTS_TOLD], start=1):
        sandbox = str(attempt.get("sandbox") or "")
        told.append(f"attempt {number} {attempt['status']}" + (f" in {sandbox}" if sandbox else ""))
    more = len(record["attempts"]) - MAX_ATTEMPTS_TOLD
    return ", ".join(told) + (f" and {more} more" if more > 0 else "")


def quarantined_class(record: TestRecord) -> str:
    """A quarantined test's own class (`pre-existing failure`), or its outcome when it has none."""
    triage = record.get("triage")
    return LABELS.get(str(triage["class"]), str(triage["class"])) if triage else record["outcome"]


def label_of(record: TestRecord) -> str | None:
    """What an annotation calls a test (`new failure`, `quarantined`, ...): only for one triage classed or
    quarantined."""
    if not (record.get("triage") or record.get("quarantined")):
        return None
    section = section_of(record)
    return LABELS[section] if section else None


def base_of(result: RunResult) -> str:
    """The base branch triage compared the run with (raw text), or `the base branch` when none is named."""
    info = result.get("triage")
    return str(info["base"]) if info and str(info["base"]).strip() else "the base branch"


def compared_line(result: RunResult, groups: dict[str, list[TestRecord]]) -> str:
    """`Compared with **main** (3 runs of history from …): 1 new failure, …` in Markdown, or the note that the
    base branch has no history yet."""
    info = result.get("triage")
    if not info:
        return ""
    base = f"**{inline(base_of(result), 200)}**"
    runs = len(info["baseRuns"])
    where = inline(str(info["history"]))
    counts = [f"{len(groups[name])} {_counted(name, len(groups[name]))}" for name in SECTIONS if groups[name]]
    if runs:
        line = f"Compared with {base} ({runs} run{'s' if runs != 1 else ''} of history from {where})"
        return line + (": " + ", ".join(counts) if counts else ": nothing failed, flaked or was fixed") + "."
    if not counts:
        return f"No history of {base} yet (history from {where}): this run starts it."
    return f"No history of {base} yet (history from {where}): every failure counts as new: {', '.join(counts)}."


def _counted(section: str, count: int) -> str:
    nouns = {"new": "new failure", "pre-existing": "pre-existing", "infra": "infra error", "flaky": "flaky",
             "quarantined": "quarantined", "fixed": "fixed"}
    noun = nouns[section]
    return noun + "s" if count != 1 and noun.endswith(("failure", "error")) else noun


def history_note(record: TestRecord) -> str:
    """`History: <evidence>` in Markdown for under a failure block, empty without evidence."""
    said = evidence(record)
    return f"History: {inline(said, EVIDENCE_LIMIT)}" if said else ""


def item_line(section: str, record: TestRecord, result: RunResult, context: GitHubContext) -> str:
    """One test of a list section as a Markdown list item: icon, title, location, and what the section needs
    (the cause, the attempts and rate, the class), then the evidence."""
    facts = [f"{verdict_icon(record)} **{title(record)}**", location(record, result, context)]
    if section == "infra":
        facts.append(f"cause: {inline(str(record.get('infra') or 'unknown'), 200)}")
    elif section == "flaky":
        facts.append(inline(attempts_story(record), 600))
        facts += [rate(record)] if rate(record) else []
    elif section == "quarantined":
        facts.append(f"{inline(record['status'])}, {inline(quarantined_class(record))}")
    triage = record.get("triage")
    said = str(triage["evidence"]).strip() if triage else ""
    if said:
        facts.append(inline(said, EVIDENCE_LIMIT))
    return "- " + " · ".join(facts)


def short_item(section: str, record: TestRecord, result: RunResult, context: GitHubContext) -> str:
    """One test for the comment's one-line lists: `title (location, detail)`."""
    detail = {"infra": inline(str(record.get("infra") or ""), 100), "flaky": rate(record),
              "quarantined": inline(quarantined_class(record))}.get(section, "")
    return f"{title(record)} ({location(record, result, context)}{', ' + detail if detail else ''})"


class Room:
    """What is left of a budget, measured by `size` (bytes for the summary, characters for the comment);
    None is no budget. Each check keeps `reserve` free for what comes after (headings, notes)."""

    def __init__(self, budget: int | None, used: int, size: Callable[[str], int], reserve: int) -> None:
        self.budget, self.used, self.size, self.reserve = budget, used, size, reserve

    def fits(self, text: str) -> bool:
        """Whether text fits and leaves the reserve."""
        return self.budget is None or self.used + self.size(text) + 2 + self.reserve <= self.budget

    def take(self, text: str) -> str:
        """Count text as used, and return it."""
        self.used += self.size(text) + 2
        return text


def fitted(records: Sequence[TestRecord], render: Callable[[TestRecord], str], room: Room, note: str) -> list[str]:
    """Each record rendered, as many as fit in room, then note (formatted with `more`: how many were left
    out)."""
    kept = []
    for index, record in enumerate(records):
        piece = render(record)
        if not room.fits(piece):
            kept.append(room.take(note.format(more=len(records) - index)))
            break
        kept.append(room.take(piece))
    return kept
