"""Escaping for every place a test title, message or path is rendered on GitHub: Markdown (prose or table
cell, code block), HTML (element text, attribute) and workflow commands (data, property).

Each function first applies the character rules of hypertest/core/safe_text.py (ANSI and control
characters out, invisible characters such as bidi controls shown as `<U+202E>`, or dropped from an
attribute, lone surrogates as U+FFFD) and caps the text at its limit with a note of what it cut; then
the destination's own escaping. `mask_value` alone leaves a secret as it is, so that the mask matches it.
"""

from __future__ import annotations

import html
import re

from hypertest.core.safe_text import Rules, safe

INLINE_LIMIT = 1_000  # a title, a file:line, a name: one table cell or line
HTML_TEXT_LIMIT = 1_000
ATTRIBUTE_LIMIT = 8_000  # a presigned URL with a session token is some 2,000 characters
CODE_BLOCK_LIMIT = 20_000  # callers cut errors shorter; the summary may have 1 MiB, a comment 65,536 characters
COMMAND_DATA_LIMIT = 65_536  # above a GitHub secret's 48 KB; annotations cut their messages shorter
COMMAND_PROPERTY_LIMIT = 1_000  # a file= path, a title= (a check run's annotation title has 255)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()|~])")


def command_data(text: str, limit: int = COMMAND_DATA_LIMIT) -> str:
    """The message part of a workflow command (`::error ...::DATA`): made safe, then escaped as the Actions
    toolkit escapes it."""
    return _toolkit_data(safe(text, Rules(limit)))


def command_property(text: str, limit: int = COMMAND_PROPERTY_LIMIT) -> str:
    """A property value of a workflow command (file=, title=): made safe, then escaped as the Actions
    toolkit escapes it."""
    return _toolkit_data(safe(text, Rules(limit))).replace(":", "%3A").replace(",", "%2C")


def mask_value(secret: str) -> str:
    """The value of `::add-mask::`, escaped as the toolkit escapes data and changed in nothing else (no
    character removed or shown, no cut), so that the runner masks the secret's very bytes."""
    return _toolkit_data(secret)


def inline(text: str, limit: int = INLINE_LIMIT) -> str:
    """Text safe inside Markdown prose or a table cell: no markup, HTML, mentions or line breaks."""
    escaped = html.escape(safe(text, Rules(limit, line_breaks="space")), quote=False)
    return _no_mentions(_MARKDOWN_SPECIAL.sub(r"\\\1", escaped))


def code_block(text: str, language: str = "", limit: int = CODE_BLOCK_LIMIT) -> str:
    """A fenced code block whose fence no backtick run in text can close."""
    body = safe(text, Rules(limit)).replace("\r\n", "\n").replace("\r", "\n")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{body}\n{fence}"


def attribute(text: str, limit: int = ATTRIBUTE_LIMIT) -> str:
    """A value safe inside an HTML attribute: quoted, on one line (a blank line would end the HTML block),
    invisible characters dropped (an attribute is mostly a link's address, which a marker would change)."""
    value = html.escape(safe(text, Rules(limit, invisible="remove")), quote=True)
    return value.replace("\r", "&#13;").replace("\n", "&#10;")


def html_text(text: str, limit: int = HTML_TEXT_LIMIT) -> str:
    """Text safe inside an HTML element of a Markdown HTML block: escaped, on one line, no @mentions."""
    return _no_mentions(html.escape(safe(text, Rules(limit, line_breaks="space")), quote=True))


def _toolkit_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _no_mentions(text: str) -> str:
    """A zero-width space after each `@`, so that no @mention notifies anyone (added after the character
    rules, which would show it)."""
    return text.replace("@", "@\u200b")
