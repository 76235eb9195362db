"""Text a hostile pull request can put in test titles, messages, file names and output: bidi controls,
zero-width and other invisible format characters, ANSI sequences, control characters, lone surrogates,
workflow commands, markup and mentions; a results.json made of it; and the check that none of the
invisible characters survives a rendering."""

from __future__ import annotations

import unicodedata
from typing import Any

from tests.github.fixtures import record

# Every kind of character a rendering must neutralise, each with a visible word next to it.
INVISIBLE = ("rlo\u202eexe.txt\u202c pdf\u202c lri\u2066isolated\u2069 fsi\u2068x\u2069 rli\u2067y\u2069 "
             "lre\u202ax\u202c rle\u202bx\u202c zwsp\u200bzw zwnj\u200cx zwj\u200dx lrm\u200ex rlm\u200fx "
             "alm\u061cx wj\u2060x bom\ufeffx shy\u00adx mvs\u180ex tag\U000e0041x lsep\u2028x psep\u2029x "
             "filler\u3164x")
CONTROLS = ("ansi \x1b[31mred\x1b[0m osc \x1b]8;;https://evil.example\x07link\x1b]8;;\x07 bell\x07 nul\x00 "
            "bs\x08 vt\x0b ff\x0c esc\x1b del\x7f csi\x9b nel\x85 lone\ud800surrogate")
MARKUP = ("::error::injected ##[error]legacy %0A %25 <script>alert(1)</script> <b>b</b> **bold** _em_ "
          "[x](https://evil.example) ![i](https://evil.example/i.png) | pipe `tick` ``` fence & @octocat")
HOSTILE_TEXT = f"{INVISIBLE} {CONTROLS} {MARKUP}"
HOSTILE_FILE = "tests/\u202eevil\u2066.spec.ts"
# 200 KB on one line, a bidi override every 11 characters
HUGE_LINE = "0123456789\u202e" * 20_000
HUGE_MESSAGE = f"Error: {HOSTILE_TEXT}\nline two\u2067 ::warning::x\n{HUGE_LINE}\nlast line"
# an expansion bomb: each character is shown as an eight-character marker
INVISIBLE_TITLE = "\u202e" * 50_000


def stray_characters(text: str) -> list[str]:
    """The characters of text that no rendering may carry: format characters (Cf: bidi, zero-width, BOM,
    soft hyphen, tags) other than the zero-width space hypertest puts after `@` on purpose, line and
    paragraph separators, lone surrogates, and control characters other than tab and line breaks."""
    found = []
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        if char == "\u200b" and index and text[index - 1] == "@":
            continue  # our own mention breaker
        if category in ("Cf", "Zl", "Zp", "Cs") or (category == "Cc" and char not in "\t\n\r") \
                or char == "\u3164":
            found.append(f"U+{ord(char):04X} at {index}")
    return found


def hostile_text_result() -> dict[str, Any]:
    """A failing run whose titles, project, file, messages, artifact, unit ids, run id and cost label are
    all hostile text, with a 200 KB error message and a title of 50,000 bidi overrides."""
    tests = [
        record(0, "passes", "passed", "expected"),
        record(1, HOSTILE_TEXT, "failed", "unexpected", message=HUGE_MESSAGE, attempts=2, file=HOSTILE_FILE,
               project="chromium\u202e", urls=True),
        record(2, INVISIBLE_TITLE, "failed", "unexpected", message=INVISIBLE_TITLE, file=HOSTILE_FILE),
        record(3, "T" * 200_000, "timedOut", "unexpected", message="T" * 200_000),
        record(4, HOSTILE_TEXT, "passed", "flaky", attempts=2, message=f"first attempt: {HOSTILE_TEXT}"),
        record(5, "unit crashed", "error", "unexpected", message=HOSTILE_TEXT),
    ]
    tests[1]["artifacts"][0]["name"] = f"trace {HOSTILE_TEXT}"
    tests[1]["artifacts"][1]["url"] += "&x=\u202e\u200b"
    units = [{"id": f"u{i}\u202e\u200b", "tests": [t["id"]], "status": "ok", "error": None,
              "startedAt": f"2026-11-25T10:00:0{i}.000Z", "durationMs": 1500, "blob": None}
             for i, t in enumerate(tests)]
    return {
        "schemaVersion": 1, "runId": "run\u202eid", "hypertestVersion": "0.1.0",
        "runner": {"name": "playwright", "version": "1.65.1"}, "rootDir": "/ws/e2e", "provider": "aws\u200f",
        "providerDetails": {"estimatedCost": {"label": "Est.\u202e cost", "usd": 0.0123}}, "concurrency": 4,
        "startedAt": "2026-11-25T10:00:00Z", "durationMs": 9_000, "conclusion": "failed", "exitCode": 1,
        "stats": {"total": 6, "passed": 1, "failed": 3, "flaky": 1, "skipped": 0, "errors": 1, "expected": 1,
                  "unexpected": 4, "expectedFailures": 0, "timedOut": 1, "interrupted": 0},
        "units": units, "tests": tests,
        "reports": {"junit": "out/\u202ejunit.xml", "htmlUrl": "https://bucket/report/index.html?\u202e=1"},
    }
