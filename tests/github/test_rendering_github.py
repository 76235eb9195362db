"""Golden files for the job summary, the PR comment and the annotations, rendered from hostile content.

Set HT_UPDATE_GOLDEN=1 to rewrite them after an intended change, then review the diff.
"""

from __future__ import annotations

import re

from hypertest.github.annotations import workflow_commands
from hypertest.github.comment import MARKER, render_comment
from hypertest.github.escape import code_block, command_data, command_property, inline
from hypertest.github.summary import SUMMARY_BUDGET_BYTES, render_summary
from tests.github.fixtures import CONTEXT, hostile_result
from tests.test_rendering import check_golden


def test_summary_golden() -> None:
    check_golden("summary.md", render_summary(hostile_result(), CONTEXT))


def test_the_summary_says_how_many_units_granularity_auto_packed() -> None:
    result = hostile_result()
    assert "| Units |" not in render_summary(result, CONTEXT)  # nothing packed: no cell
    result["packing"] = {"packs": 3, "packedTests": 11}
    facts = render_summary(result, CONTEXT).split("\n\n")[1]
    assert "| Units |" in facts and f"| {len(result['units'])} (3 packed: 11 short tests) |" in facts


def test_comment_golden() -> None:
    text = render_comment(hostile_result(), CONTEXT)
    check_golden("comment.md", text)
    assert text.startswith(MARKER)
    assert len(text) < 65_536


def test_annotations_golden() -> None:
    lines = workflow_commands(hostile_result(), CONTEXT)
    check_golden("annotations.txt", "\n".join(lines) + "\n")
    for line in lines:
        assert "\n" not in line and "\r" not in line
        properties = line[2:line.index("::", 2)]
        assert ":" not in properties.replace("::", "")  # colons in properties are escaped (%3A)
    assert "title=[chromium] checkout › pipe | tick ` fence ``` <script>alert(1)</script> @octocat %3A%3Aerror%3A%3A" \
        in lines[0]


def test_workflow_command_escaping_matches_the_toolkit() -> None:
    assert command_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert command_property("a:b,c%") == "a%3Ab%2Cc%25"
    assert command_data("\x1b[31mred\x1b[0m") == "red"


def test_markdown_escaping() -> None:
    text = inline("a | b `c` <b>bold</b> @octocat [x](y) \n*y*")
    assert "\\|" in text and "\\`" in text and "&lt;b&gt;" in text and "@\u200boctocat" in text
    assert "\\[x\\]\\(y\\)" in text and "\n" not in text and "\\*y\\*" in text
    block = code_block("has ``` and ```` inside")
    assert block.startswith("`````\n") and block.endswith("\n`````")


def outside_code(markdown: str) -> str:
    """The Markdown without its fenced code blocks."""
    kept, fence = [], None
    for line in markdown.splitlines():
        match = re.match(r"^(`{3,})", line)
        if match and (fence is None or match.group(1) == fence):
            fence = None if fence else match.group(1)
        elif fence is None:
            kept.append(line)
    return "\n".join(kept)


def well_formed(markdown: str) -> None:
    """Fences closed, tables rectangular, details balanced."""
    fence: str | None = None
    table_width: int | None = None
    for line in markdown.splitlines():
        match = re.match(r"^(`{3,})", line)
        if match and (fence is None or match.group(1) == fence):
            fence = None if fence else match.group(1)
            continue
        if fence:
            continue
        cells = len(re.findall(r"(?<!\\)\|", line))
        if line.startswith("|"):
            table_width = table_width or cells
            assert cells == table_width, line
        else:
            table_width = None
    assert fence is None, "a code fence is left open"
    assert markdown.count("<details") == markdown.count("</details>")


def test_summary_is_well_formed_with_links() -> None:
    text = render_summary(hostile_result(), CONTEXT)
    well_formed(text)
    assert "<script>" not in outside_code(text)  # inside a code block it is shown, not run
    assert "https://github.com/octo/shop/blob/0123abcd/e2e/tests/checkout/pay.spec.ts#L11" in text
    assert "https://trace.playwright.dev/?trace=https%3A%2F%2Fbucket" in text
    assert "Est. Lambda cost" in text and "```mermaid" in text


def test_five_thousand_tests_stay_within_budget() -> None:
    result = hostile_result(extra_tests=5000, message_size=400)
    text = render_summary(result, CONTEXT)
    assert len(text.encode()) <= SUMMARY_BUDGET_BYTES
    well_formed(text)
    assert "Passing tests are left out" in text or "Per-file tables are left out" in text


def test_a_huge_failure_list_is_truncated_with_a_note() -> None:
    result = hostile_result(extra_tests=5000, message_size=3000)
    text = render_summary(result, CONTEXT)
    assert len(text.encode()) <= SUMMARY_BUDGET_BYTES
    well_formed(text)
    assert "more failures: the summary is at GitHub's size limit" in text
    assert "### Results by file" not in text  # per-file tables went first


def test_no_untrusted_text_ends_a_markdown_line_early() -> None:
    """A file name, title, unit id or run id with line breaks cannot end the line it is on, so nothing after
    it renders as Markdown of its own (an image from another host, a heading, a fence)."""
    from tests.github.fixtures import record

    payload = "\n\n![x](https://evil.example/x.png)\n# heading\n```\n"
    result = hostile_result()
    result["tests"].append(record(90, "title" + payload, "failed", "unexpected", message="m",
                                  file="dir" + payload + "x.spec.ts"))
    result["units"].append({"id": "u9" + payload, "tests": ["test-90"], "status": "ok", "error": None,
                            "startedAt": "2026-11-25T10:00:09.000Z", "durationMs": 5, "blob": None})
    result["runId"] = "run" + payload
    for text in (render_summary(result, CONTEXT), render_comment(result, CONTEXT)):
        lines = text.splitlines()
        assert not [line for line in lines if line.startswith(("![", "# heading"))], text
        # each value keeps its parts on one line: the image link and the heading after it stay together
        assert [line for line in lines if ("evil.example" in line) != ("heading" in line)] == [], text
        summaries = [line for line in lines if "<summary>" in line]
        assert all("</summary>" in line for line in summaries)


def test_summary_of_hostile_text_golden() -> None:
    """Invisible characters in titles, tables, file names, links, the run id and the cost label are shown as
    `<U+202E>` (or dropped from a link's address), and every piece is capped with a note of what was cut."""
    from tests.hostile_text import hostile_text_result, stray_characters

    text = render_summary(hostile_text_result(), CONTEXT)
    check_golden("hostile/summary.md", text)
    assert stray_characters(text) == []
    well_formed(text)
    assert "rlo&lt;U+202E&gt;exe.txt" in text and "\\(199,0" in text  # the 200,000-character title, cut
    assert len(text.encode()) < 200_000


def test_comment_of_hostile_text_golden() -> None:
    from tests.hostile_text import hostile_text_result, stray_characters

    text = render_comment(hostile_text_result(), CONTEXT)
    check_golden("hostile/comment.md", text)
    assert stray_characters(text) == []
    well_formed(text)
    assert len(text) < 65_536


def test_annotations_of_hostile_text_golden() -> None:
    """The workflow commands and the check run's annotations: titles and messages with every invisible
    character shown, a title within the check run's 255 characters, a message within its 64 KB."""
    import json

    from hypertest.github.annotations import annotation_records
    from tests.hostile_text import hostile_text_result, stray_characters

    result = hostile_text_result()
    lines = workflow_commands(result, CONTEXT)
    records = annotation_records(result, CONTEXT)
    check_golden("hostile/annotations.txt", "\n".join(lines) + "\n")
    check_golden("hostile/check-run-annotations.json", json.dumps(records, indent=1, ensure_ascii=False) + "\n")
    for text in [*lines, *(value for r in records for value in r.values() if isinstance(value, str))]:
        assert stray_characters(text) == [], text[:200]
    assert all(len(r["title"]) <= 255 and len(r["message"].encode()) <= 64_000 for r in records)
    assert any("rlo<U+202E>exe.txt" in r["title"] for r in records)
    assert any("rlo<U+202E>exe.txt" in line for line in lines)
