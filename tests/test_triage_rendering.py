"""Golden files for failure triage as rendered: the job summary, the PR comment, the console summary and the
annotations of a run compared with its base branch's history, every class present and the titles, evidence,
branch and history place hostile; and the step outputs.

Set HT_UPDATE_GOLDEN=1 to rewrite the golden files after an intended change, then review the diff.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hypertest.github.annotations import annotation_records, workflow_commands
from hypertest.github.comment import COMMENT_BUDGET_CHARS, MARKER, render_comment
from hypertest.github.publication import outputs_of
from hypertest.github.summary import SUMMARY_BUDGET_BYTES, render_summary
from hypertest.reporters.console import render_summary as console_summary
from tests.github.fixtures import CONTEXT, hostile_result, record
from tests.github.test_rendering_github import outside_code, well_formed
from tests.hostile_text import HOSTILE_TEXT, stray_characters
from tests.test_rendering import check_golden

pytestmark = pytest.mark.unit

BASE = "main\u202e`**x**`<b>@octocat"
HOSTILE_EVIDENCE = f"flaked in 2 of the last 10 runs {HOSTILE_TEXT}"


def triaged(test: dict[str, Any], klass: str, evidence: str, runs: list[str], **more: Any) -> dict[str, Any]:
    """test with its triage."""
    test["triage"] = {"class": klass, "evidence": evidence, "runs": runs, **more}
    return test


def triaged_result() -> dict[str, Any]:
    """A failing run triaged against main: a new failure with a hostile title, a pre-existing one, an
    infrastructure error (OOM), a flaky test whose two attempts ran in different sandboxes, a known-flaky
    test that failed every attempt, a quarantined failure, a fixed test, and a passing and a skipped one."""
    runs = ["r-14", "r-13", "r-12"]
    tests = [
        record(0, "pays by card", "passed", "expected"),
        triaged(record(1, HOSTILE_TEXT, "failed", "unexpected", message=f"Error: expected {HOSTILE_TEXT}",
                       attempts=2, urls=True), "new", "passed in main's last 3 runs", runs),
        triaged(record(2, "refunds", "failed", "unexpected", message="Error: 402 != 200"), "pre-existing",
                "failing on main since run r-12 (3 of the last 3 runs)", runs),
        triaged(record(3, "loads the cart", "error", "unexpected",
                       message="the unit's sandbox ran out of memory"), "infra",
                "infra: OOM — the unit's sandbox ran out of memory", []),
        triaged(record(4, f"retries {HOSTILE_TEXT}", "passed", "flaky", attempts=2,
                       message="first attempt failed"), "flaky", HOSTILE_EVIDENCE, runs[:2], rate=0.2),
        triaged(record(5, "shows the receipt", "failed", "unexpected", attempts=2, message="timeout 5000ms"),
                "flaky", "flaked in 4 of the last 10 runs", runs, rate=0.4),
        triaged(record(6, "legacy coupon", "failed", "unexpected", message="Error: coupon gone"), "pre-existing",
                "failing on main since run r-3 (10 of the last 10 runs)", runs),
        triaged(record(7, "applies the discount", "passed", "expected"), "fixed",
                "failed on main in run r-12, passes here", ["r-12"]),
        record(8, "skipped", "skipped", "skipped"),
    ]
    tests[3]["infra"] = "OOM"
    flaky = tests[4]["attempts"]
    flaky[0].update(status="failed", sandbox="local pid 1234")
    flaky[1].update(status="passed", sandbox="local pid 1240", error=None)
    tests[6]["quarantined"] = True
    units = [{"id": t["unitId"], "tests": [t["id"]], "status": "error" if t["status"] == "error" else "ok",
              "error": None, "startedAt": f"2026-11-25T10:00:0{i}.000Z", "durationMs": 1500 + i, "blob": None}
             for i, t in enumerate(tests)]
    return {
        "schemaVersion": 1, "runId": "20261125T100000Z-abc123", "hypertestVersion": "0.1.0",
        "runner": {"name": "playwright", "version": "1.65.1"}, "rootDir": "/ws/e2e/tests", "provider": "local",
        "concurrency": 4, "startedAt": "2026-11-25T10:00:00Z", "durationMs": 12_400, "conclusion": "failed",
        "exitCode": 1,
        "stats": {"total": 9, "passed": 2, "failed": 4, "flaky": 1, "skipped": 1, "errors": 1, "expected": 2,
                  "unexpected": 5, "expectedFailures": 0, "timedOut": 0, "interrupted": 0, "quarantined": 1},
        "units": units, "tests": tests,
        "reports": {"results": "/ws/out/results.json"},
        "triage": {"branch": f"feature/{HOSTILE_TEXT[:40]}", "commit": "0123abcd", "base": BASE,
                   "baseRuns": runs, "history": "folder .hypertest/history <script>",
                   "counts": {"new": 1, "preExisting": 1, "flaky": 2, "infra": 1, "fixed": 1, "quarantined": 1}},
        "history": {"where": "folder .hypertest/history <script>", "runs": 3, "timedTests": 8,
                    "order": "longest first"},
    }


def test_triaged_summary_golden() -> None:
    text = render_summary(triaged_result(), CONTEXT)
    check_golden("triage/summary.md", text)
    well_formed(text)
    assert stray_characters(text) == []
    headings = [line for line in text.splitlines() if line.startswith("### ")]
    assert headings[:6] == ["### New failures (1)", "### Pre-existing failures (1)", "### Infrastructure errors (1)",
                            "### Flaky (2)", "### Quarantined (1)", "### Fixed (1)"]
    assert "Compared with **main&lt;U+202E&gt;\\`\\*\\*x\\*\\*\\`&lt;b&gt;@\u200boctocat** (3 runs of history " \
           "from folder .hypertest/history &lt;script&gt;)" in text
    prose = outside_code(text)
    assert "<script>" not in prose and "<b>" not in prose and "@octocat" not in prose
    assert "History: passed in main's last 3 runs" in text
    assert "cause: OOM" in text
    assert "attempt 1 failed in local pid 1234, attempt 2 passed in local pid 1240" in text
    assert "flaky in 20% of the recent runs" in text
    assert "flaked in 2 of the last 10 runs rlo&lt;U+202E&gt;exe.txt" in text  # hostile evidence, escaped
    assert "Their failures are reported here and do not fail the run." in text
    assert "### Failures (" not in text  # the untriaged section is not there


def test_triaged_comment_golden() -> None:
    text = render_comment(triaged_result(), CONTEXT)
    check_golden("triage/comment.md", text)
    well_formed(text)
    assert text.startswith(MARKER) and stray_characters(text) == []
    new_at, lists_at = text.index("#### New failures (1)"), text.index("**Pre-existing failures (1)**")
    assert new_at < lists_at < text.index("**Infrastructure errors (1)**") < text.index("**Flaky (2)**") \
        < text.index("**Quarantined (1)**") < text.index("**Fixed (1)**")
    assert "Error: 402 != 200" not in text  # pre-existing failures are one line, without their blocks
    assert "<script>" not in outside_code(text)


def test_triaged_console_golden() -> None:
    text = console_summary(triaged_result())
    check_golden("triage/console.txt", text)
    assert stray_characters(text) == [] and "\x1b" not in text
    lines = text.splitlines()
    assert "  new           chromium › checkout/pay.spec.ts:11 › checkout › rlo<U+202E>exe.txt" \
        in "\n".join(lines)
    assert any(line.startswith("  pre-existing  chromium › checkout/pay.spec.ts:12 › checkout › refunds — failing "
                               "on main since run r-12") for line in lines)
    assert "  infra         chromium › checkout/pay.spec.ts:13 › checkout › loads the cart — infra: OOM" in text
    assert "  quarantined   chromium › checkout/pay.spec.ts:16 › checkout › legacy coupon — pre-existing failure: " \
           in text
    assert "  fixed         chromium › checkout/pay.spec.ts:17 › checkout › applies the discount — failed on main" \
           in text
    assert "compared with main<U+202E>`**x**`<b>@octocat (3 runs of history from" in text
    assert lines[-2].endswith("of 9 tests in 12.4s (1 quarantined: not failing the run)")


def test_triaged_annotations_golden() -> None:
    result = triaged_result()
    lines = workflow_commands(result, CONTEXT)
    check_golden("triage/annotations.txt", "\n".join(lines) + "\n")
    for line in lines:
        assert "\n" not in line and "\r" not in line and stray_characters(line) == []
    records = annotation_records(result, CONTEXT)
    titles = [r["title"] for r in records]
    # failures in the order of the untriaged annotations (errors last), the warnings after them
    assert [(t.split(":")[0], r["level"]) for t, r in zip(titles, records, strict=True)] == [
        ("new failure", "failure"), ("pre-existing failure", "failure"), ("flaky", "failure"),
        ("quarantined", "warning"), ("infra error", "failure"), ("flaky", "warning")]
    assert all(len(t) <= 255 for t in titles)
    quarantined = next(r for r in records if r["title"].startswith("quarantined"))
    assert quarantined["level"] == "warning"
    assert quarantined["message"].startswith("quarantined (pre-existing failure), not failing the run: failing on")
    flaky = records[-1]
    assert "attempt 1 failed in local pid 1234, attempt 2 passed in local pid 1240; flaky in 20%" in flaky["message"]


def test_outputs_count_the_triage_classes() -> None:
    outputs = outputs_of(triaged_result())  # type: ignore[arg-type]
    assert (outputs["new_failures"], outputs["pre_existing"], outputs["quarantined"], outputs["fixed"],
            outputs["errors"]) == ("1", "1", "1", "1", "1")
    # without history: every failure but an error is new, nothing is pre-existing or fixed
    plain = outputs_of(hostile_result())  # type: ignore[arg-type]
    assert (plain["new_failures"], plain["pre_existing"], plain["quarantined"], plain["fixed"]) == ("4", "0", "0", "0")


def test_a_base_without_history_says_every_failure_is_new() -> None:
    result = triaged_result()
    result["triage"]["baseRuns"] = []
    for test in result["tests"]:
        if test.get("triage", {}).get("class") in ("pre-existing", "fixed"):
            test["triage"] = {"class": "new", "evidence": "no history of main yet", "runs": []}
    summary = render_summary(result, CONTEXT)
    assert "No history of **main" in summary and "every failure counts as new" in summary
    assert "### Pre-existing failures" not in summary and "### Fixed" not in summary
    assert "no history of main<U+202E>`**x**`<b>@octocat yet: every failure counts as new" in console_summary(result)


def test_a_green_run_says_what_it_was_compared_with_and_lists_nothing() -> None:
    result = copy.deepcopy(triaged_result())
    result["tests"] = [test for test in result["tests"] if not test.get("triage") and not test.get("quarantined")]
    summary, comment, console = render_summary(result, CONTEXT), render_comment(result, CONTEXT), \
        console_summary(result)
    assert "(3 runs of history from folder .hypertest/history &lt;script&gt;): nothing failed, flaked or was fixed." \
        in summary and "nothing failed, flaked or was fixed" in comment
    assert "compared with" not in console and "no history" not in console  # the console says only what it lists
    result["triage"]["baseRuns"] = []
    assert "yet (history from folder .hypertest/history &lt;script&gt;): this run starts it." in \
        render_summary(result, CONTEXT)
    assert "every failure counts as new" not in render_summary(result, CONTEXT)


def test_without_triage_nothing_of_it_is_rendered() -> None:
    """A results.json without triage (an older file, or history off) renders as before: the goldens of
    tests/test_rendering.py and tests/github/test_rendering_github.py hold the exact text."""
    result = copy.deepcopy(triaged_result())
    del result["triage"]
    for test in result["tests"]:
        test.pop("triage", None)
        test.pop("quarantined", None)
        test.pop("infra", None)
        for attempt in test["attempts"]:
            attempt.pop("sandbox", None)
    del result["stats"]["quarantined"]
    for text in (render_summary(result, CONTEXT), render_comment(result, CONTEXT), console_summary(result),
                 "\n".join(workflow_commands(result, CONTEXT))):
        for word in ("Compared with", "compared with", "New failures", "Pre-existing", "Quarantined",
                     "quarantined", "new failure", "History:"):
            assert word not in text
    assert "### Failures (5)" in render_summary(result, CONTEXT)


def test_many_triaged_failures_stay_within_the_budgets() -> None:
    """Thousands of new, pre-existing, flaky and fixed tests with long errors: the summary within its 1 MiB,
    the comment within its characters, each section cut with a note, the Markdown well formed."""
    result = triaged_result()
    classes = ["new", "pre-existing", "flaky", "fixed", "infra"]
    for n in range(4000):
        klass = classes[n % len(classes)]
        status, outcome = {"flaky": ("passed", "flaky"), "fixed": ("passed", "expected"),
                           "infra": ("error", "unexpected")}.get(klass, ("failed", "unexpected"))
        test = triaged(record(20 + n, f"generated {n} {HOSTILE_TEXT[:80]}", status, outcome, message="E" * 3000,
                              file=f"gen/file{n % 50}.spec.ts"), klass, f"evidence {n} " + "w" * 300, ["r-1"])
        result["tests"].append(test)
    summary = render_summary(result, CONTEXT)
    assert len(summary.encode()) <= SUMMARY_BUDGET_BYTES
    well_formed(summary)
    assert "more: the summary is at GitHub's size limit" in summary
    comment = render_comment(result, CONTEXT)
    assert len(comment) <= COMMENT_BUDGET_CHARS
    well_formed(comment)
    assert "more new failures in the job summary" in comment
