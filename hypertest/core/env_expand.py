"""`${VAR}` and `${VAR:-default}` expansion in configuration strings."""

from __future__ import annotations

import re
from collections.abc import Mapping

_PATTERN = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{([^}]*)\}?")


class ExpansionError(ValueError):
    """A reference that cannot be expanded: an unset variable without default, or bad syntax."""


def expand(text: str, environ: Mapping[str, str], used: list[str] | None = None) -> str:
    """Replace every `${VAR}` / `${VAR:-default}` in text; `$${` stands for a literal `${`. The names of the
    variables whose values went into the text are appended to used, when given."""

    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "$${":
            return "${"
        name, default, bad = match.group(1), match.group(2), match.group(3)
        if default is not None and "${" in default:
            raise ExpansionError(f"nested references are not supported: {whole}… (use one ${{NAME:-default}} "
                                 "with a literal default)")
        if name is None:
            raise ExpansionError(f"malformed reference {bad!r}: write ${{NAME}} or ${{NAME:-default}}"
                                 if bad is not None else "malformed reference")
        value = environ.get(name)
        if value is not None and (value != "" or default is None):
            if used is not None:
                used.append(name)
            return value
        if default is not None:
            return default
        raise ExpansionError(f"environment variable {name} is not set (write ${{{name}:-default}} for a default)")

    return _PATTERN.sub(replace, text)


def has_reference(text: str) -> bool:
    """Whether text contains anything expand() would change."""
    return "${" in text


_WHOLE_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}$]*)?\}")


def is_whole_reference(text: str) -> bool:
    """Whether text is exactly one `${VAR}` or `${VAR:-default}`, with nothing around it (`1${N}` is not)."""
    return _WHOLE_REFERENCE.fullmatch(text) is not None
