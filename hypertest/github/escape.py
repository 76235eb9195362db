"""Escaping for every place a test title, message or path is rendered on GitHub."""

from __future__ import annotations

import html
import re

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()|~])")


def clean(text: str) -> str:
    """text without ANSI colour codes and control characters (newlines and tabs kept)."""
    return _CONTROL.sub("", _ANSI.sub("", text))


def command_data(text: str) -> str:
    """The message part of a workflow command (`::error ...::DATA`), as the Actions toolkit escapes it."""
    return clean(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def command_property(text: str) -> str:
    """A property value of a workflow command (file=, title=), as the Actions toolkit escapes it."""
    return command_data(text).replace(":", "%3A").replace(",", "%2C")


def inline(text: str) -> str:
    """Text safe inside Markdown prose or a table cell: no markup, HTML, mentions or line breaks."""
    escaped = html.escape(clean(text).replace("\r", " ").replace("\n", " "), quote=False)
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", escaped)
    return escaped.replace("@", "@\u200b")  # no @mention notifications


def code_block(text: str, language: str = "") -> str:
    """A fenced code block whose fence no backtick run in text can close."""
    body = clean(text).replace("\r\n", "\n").replace("\r", "\n")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{body}\n{fence}"


def attribute(text: str) -> str:
    """A value safe inside an HTML attribute: quoted, and on one line (a blank line would end the HTML block)."""
    return html.escape(clean(text), quote=True).replace("\r", "&#13;").replace("\n", "&#10;")


def html_text(text: str) -> str:
    """Text safe inside an HTML element of a Markdown HTML block: escaped, on one line, no @mentions."""
    one_line = clean(text).replace("\r", " ").replace("\n", " ")
    return html.escape(one_line, quote=True).replace("@", "@\u200b")
