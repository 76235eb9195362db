"""JSON text that can always be written as UTF-8: a lone UTF-16 surrogate (a JavaScript title '\\uD800')
is kept, escaped, instead of failing the write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def utf8_json(value: Any, **options: Any) -> str:
    """json.dumps(value) with non-ASCII text as is, or all escaped when some of it is not encodable."""
    text = json.dumps(value, ensure_ascii=False, **options)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True, **options)
    return text


def result_json(result: Any) -> str:
    """A unit result as compact JSON text."""
    return utf8_json(result, separators=(",", ":"))


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file; other lines (a killed writer tears the last) are left out, and a
    missing file has none."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    entries = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries
