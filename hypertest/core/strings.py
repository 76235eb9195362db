"""Strings from untrusted JSON (test titles, messages, file names): mapped through a document, and made
encodable (JSON allows lone UTF-16 surrogates such as a JavaScript title '\\uD800'; UTF-8 does not)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def map_strings(value: T, change: Callable[[str], str], *, keys: bool = False) -> T:
    """A copy of a JSON-like value (dicts, lists, strings) with change applied to every string value (and,
    with keys, to every key)."""
    return _walk(value, change, keys)  # type: ignore[no-any-return]


def _walk(value: Any, change: Callable[[str], str], keys: bool) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, Mapping):
        return {(change(str(key)) if keys else key): _walk(item, change, keys) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(item, change, keys) for item in value]
    return value


def encodable(text: str) -> str:
    """text with each lone surrogate replaced by U+FFFD, so it can be written as UTF-8."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def well_formed(value: T) -> T:
    """A copy of a JSON-like value whose every string (keys too) can be written as UTF-8."""
    return map_strings(value, encodable, keys=True)
