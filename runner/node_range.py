"""Whether a Node.js version satisfies a package.json `engines.node` range (npm's semver range syntax).

The forms packages write: `>=18`, `>=18.0.0 <21`, `^20.9.0`, `~18.17`, `18.x`, `18 || 20`, `18 - 20`, `*`.
A range outside this syntax is reported as not understood (None), never guessed.
"""

from __future__ import annotations

import re

Version = tuple[int, int, int]
Comparator = tuple[str, Version]  # (">=" | ">" | "<" | "<=" | "==", version)

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")
_PARTIAL = re.compile(r"^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:[-+][0-9A-Za-z.+-]*)?$")
_OPERATOR = re.compile(r"(<=|>=|<|>|=|\^|~)\s+")
_ANY: Version = (0, 0, 0)


def parse_version(text: str) -> Version | None:
    """(major, minor, patch) of `v20.11.1` or `20.11.1`; None when text does not start with a version."""
    match = _VERSION.match(text.strip())
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def satisfies(version: Version, spec: str) -> bool | None:
    """Whether version is in the range spec; None when the range is not understood."""
    try:
        alternatives = [_comparators(part) for part in spec.split("||")]
    except ValueError:
        return None
    return any(all(_holds(version, op, bound) for op, bound in comparators) for comparators in alternatives)


def _holds(version: Version, op: str, bound: Version) -> bool:
    return {">=": version >= bound, ">": version > bound, "<": version < bound,
            "<=": version <= bound, "==": version == bound}[op]


def _comparators(part: str) -> list[Comparator]:
    text = _OPERATOR.sub(r"\1", part.strip())
    hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", text)
    if hyphen:
        low, high = _partial(hyphen[1]), _partial(hyphen[2])
        return [(">=", _floor(low)), *_at_most(high)]
    result: list[Comparator] = []
    for token in text.split():
        result += _comparator(token)
    return result


def _comparator(token: str) -> list[Comparator]:
    op = next((o for o in ("<=", ">=", "<", ">", "=", "^", "~") if token.startswith(o)), "")
    parts = _partial(token[len(op):])
    if parts[0] is None:
        return [("<", _ANY)] if op in ("<", ">") else []  # `<*` and `>*` match nothing; `*` everything
    floor, exact = _floor(parts), None not in parts
    if op in ("", "="):
        return [("==", floor)] if exact else [(">=", floor), *_below_next(parts)]
    if op in ("<", ">="):
        return [(op, floor)]
    if op == "<=":
        return _at_most(parts)
    if op == ">":
        return [(">", floor)] if exact else [(">=", _bump(parts, parts.index(None) - 1))]
    return [(">=", floor), ("<", _bump(parts, _kept(op, parts)))]


def _kept(op: str, parts: tuple[int | None, int | None, int | None]) -> int:
    """The last part `~` or `^` keeps: ~ the minor (the major when no minor is given); ^ the leftmost
    non-zero part."""
    major, minor, patch = parts
    if op == "~":
        return 1 if minor is not None else 0
    if major != 0 or minor is None:
        return 0
    return 1 if minor != 0 or patch is None else 2


def _partial(text: str) -> tuple[int | None, int | None, int | None]:
    """(major, minor, patch) with None for a missing or wildcard part; ValueError when not a version."""
    match = _PARTIAL.match(text)
    if not match:
        raise ValueError(text)
    values = [None if group is None or group in "xX*" else int(group) for group in match.groups()]
    for index in range(1, 3):  # after a wildcard every part is one: 18.x.5 means 18.x
        if values[index - 1] is None:
            values[index] = None
    return values[0], values[1], values[2]


def _floor(parts: tuple[int | None, int | None, int | None]) -> Version:
    return (parts[0] or 0, parts[1] or 0, parts[2] or 0)


def _bump(parts: tuple[int | None, int | None, int | None], index: int) -> Version:
    """The first version after every version matching parts up to index."""
    floor = list(_floor(parts))
    floor[index] += 1
    return (floor[0], floor[1] if index >= 1 else 0, floor[2] if index >= 2 else 0)


def _below_next(parts: tuple[int | None, int | None, int | None]) -> list[Comparator]:
    return [("<", _bump(parts, parts.index(None) - 1))]


def _at_most(parts: tuple[int | None, int | None, int | None]) -> list[Comparator]:
    if parts[0] is None:
        return []
    return [("<=", _floor(parts))] if None not in parts else _below_next(parts)
