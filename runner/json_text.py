"""JSON text that can always be written as UTF-8: a lone UTF-16 surrogate (a JavaScript title '\\uD800')
is kept, escaped, instead of failing the write."""

from __future__ import annotations

import json
from typing import Any


def utf8_json(value: Any, **options: Any) -> str:
    """json.dumps(value) with non-ASCII text as is, or all escaped when some of it is not encodable."""
    text = json.dumps(value, ensure_ascii=False, **options)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True, **options)
    return text
