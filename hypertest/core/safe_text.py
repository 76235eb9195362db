"""The character rules for untrusted text (test titles, error messages, file names, test output), which a
hostile pull request may fill: every destination's function (terminal, Markdown, HTML, XML, workflow
command) passes such text through `safe` before its own escaping.

- ANSI CSI sequences (colours, cursor moves) are removed, but for the terminal, which
  shows them (`\\x1b[31m`) so that a title's colour codes are seen, not obeyed.
- Control characters (C0 but tab and line breaks, DEL, C1) are removed, shown as `\\x07` (terminal) or
  replaced by U+FFFD (XML, which cannot carry them).
- Invisible characters: format characters (Unicode category Cf: bidi controls U+202A–U+202E and
  U+2066–U+2069, marks U+200E/U+200F/U+061C, zero-width U+200B–U+200D and U+2060, BOM U+FEFF, soft hyphen
  U+00AD, tags U+E0000–U+E007F, …), the line and paragraph separators U+2028/U+2029 and the blank Hangul
  fillers are shown as `<U+202E>`, so that a reader sees that something was there, or, where nobody reads
  the text (an HTML attribute: a link's address), removed. A zero-width space a renderer adds afterwards
  on purpose (Markdown's `@` mention breaker) is not affected: the rules run before it.
- Lone surrogates (JSON allows them, UTF-8 cannot carry them) become U+FFFD.
- Length: at most `limit` characters as the reader sees them (markers count; the destination's own
  escaping, such as `&lt;` or `%0A`, comes after and does not), the last of them a note of how much was
  cut: `… (1,234 more characters)`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Way = Literal["keep", "remove", "show", "space", "replace"]
# CSI sequences (colours, cursor moves): their parameters say nothing. Other escapes (OSC titles and
# hyperlinks) carry text a reader should see: only their ESC and BEL go, as control characters.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
# runs of characters no rule touches, and every single character that one may
_RUN = re.compile(r"[\t\x20-\x7e]+|[\s\S]", re.ASCII)
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")  # category Lo, yet rendered as nothing
_LINE_BREAK = re.compile(r"\r\n?|\n")
NOTE = "… ({count:,} more characters)"


@dataclass(frozen=True)
class Rules:
    """How one destination writes the characters that may not reach it as they are, and its length cap."""

    limit: int
    controls: Way = "remove"  # C0 but tab and line breaks, DEL, C1: remove, show (\x07) or replace (U+FFFD)
    line_breaks: Way = "keep"  # CR and LF: keep, show (\x0a) or space
    invisible: Way = "show"  # format characters and their like: show (<U+202E>) or remove
    ansi: Way = "remove"  # escape sequences: remove, or keep (their ESC then follows the controls' rule)


def safe(text: str, rules: Rules) -> str:
    """text with its ANSI sequences removed, every other character the rules name written their way, and
    cut to rules.limit characters with a note of how many more there were."""
    text = strip_ansi(text) if rules.ansi == "remove" else text
    pieces, shown, used = _fit(text, rules, rules.limit - len(more_note(len(text))))
    if shown == len(text):
        return "".join(pieces)
    more, rest, _ = _fit(text[shown:], rules, rules.limit - used)  # would the whole text fit after all?
    if rest == len(text) - shown:
        return "".join(pieces + more)
    return "".join(pieces) + more_note(len(text) - shown)


def cut(text: str, limit: int, max_lines: int | None = None) -> str:
    """text as it is, or its first max_lines lines (their line breaks written as LF) and at most limit
    characters, the last of them a note of how many more there were (for text that a destination's
    function writes later)."""
    end = len(text)
    if max_lines is not None:
        for number, match in enumerate(_LINE_BREAK.finditer(text), start=1):
            if number == max_lines:
                end = match.start() if text[match.start():].strip() else len(text)  # not just a last break
                break
    room = max(0, limit - len(more_note(len(text))) - 1)
    if end == len(text) and len(text) <= limit:
        kept, note = text, ""
    elif end > room:
        kept, note = text[:room], more_note(len(text) - room)  # cut within a line: the note ends it
    else:
        kept, note = text[:end], "\n" + more_note(len(text) - end)  # whole lines left out: the note is a line
    return ("\n".join(split_lines(kept)) if max_lines is not None else kept) + note


def split_lines(text: str) -> list[str]:
    """text's lines, split at CR, LF and CRLF only (str.splitlines also splits at U+2028, \\x0b, \\x85 and
    others, which the rules show instead)."""
    return _LINE_BREAK.split(text)


def more_note(count: int) -> str:
    """`… (1,234 more characters)`."""
    return NOTE.format(count=count)


def strip_ansi(text: str) -> str:
    """text without ANSI escape sequences."""
    return _ANSI.sub("", text)


def marker(char: str) -> str:
    """How an invisible character is shown: `<U+202E>`."""
    return f"<U+{ord(char):04X}>"


def is_invisible(char: str) -> bool:
    """Whether char is a format character (Cf), a line or paragraph separator, or a blank letter."""
    return unicodedata.category(char) in ("Cf", "Zl", "Zp") or char in _BLANK_LETTERS


def terminal_text(text: str, limit: int = 1_000) -> str:
    """One line for a terminal: control characters (an escape sequence's ESC too) and line breaks shown as
    `\\x07`, invisible characters as `<U+202E>`, so that a title cannot drive the terminal or hide what it
    says."""
    return safe(text, Rules(limit, controls="show", line_breaks="show", ansi="keep"))


def plain_text(text: str, limit: int) -> str:
    """Text shown as plain text (a check run's annotation): line breaks kept, controls removed, invisible
    characters shown."""
    return safe(text, Rules(limit))


def xml_text(text: str, limit: int = 20_000) -> str:
    """Text for an XML attribute or element (escaped afterwards by the XML writer): characters XML 1.0
    cannot carry become U+FFFD, invisible characters are shown."""
    return safe(text, Rules(limit, controls="replace"))


def _fit(text: str, rules: Rules, room: int) -> tuple[list[str], int, int]:
    """(pieces, characters of text written, characters of pieces) of as much of text as fits in room."""
    pieces: list[str] = []
    used = 0
    for match in _RUN.finditer(text):
        source = match.group(0)
        plain = len(source) > 1 or source == "\t" or " " <= source <= "~"
        piece = source if plain else _written(source, rules)
        if used + len(piece) > room:
            head = source[:max(0, room - used)] if plain else ""  # a plain run: take its head
            return [*pieces, head], match.start() + len(head), used + len(head)
        pieces.append(piece)
        used += len(piece)
    return pieces, len(text), used


def _written(char: str, rules: Rules) -> str:
    """How one character that is not plain ASCII (or a tab) is written under rules."""
    if char in "\r\n":
        return {"keep": char, "space": " "}.get(rules.line_breaks, f"\\x{ord(char):02x}")
    category = unicodedata.category(char)
    if category == "Cs" or char in "\ufffe\uffff":  # lone surrogates, and noncharacters XML refuses
        return "\ufffd"
    if category == "Cc":
        return {"remove": "", "replace": "\ufffd"}.get(rules.controls, f"\\x{ord(char):02x}")
    if is_invisible(char):
        return marker(char) if rules.invisible == "show" else ""
    return char
