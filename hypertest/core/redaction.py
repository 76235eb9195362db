"""Known secret values taken out of everything hypertest renders (console, results.json, JUnit, summary,
comment, check run), whatever a test printed or asserted."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from runner.environment import secret_values

MASK = "***"
T = TypeVar("T")


@dataclass(frozen=True)
class Redactor:
    """Replaces each known secret value with ***."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], extra: Iterable[str] = ()) -> Redactor:
        """A redactor of the secrets in environ (by their variables' names) and the extra values."""
        values = set(secret_values(environ)) | {value for value in extra if value}
        return cls(tuple(sorted(values, key=len, reverse=True)))

    def text(self, text: str) -> str:
        """text with every secret replaced."""
        pattern = self._pattern()
        return pattern.sub(MASK, text) if pattern is not None else text

    def value(self, value: T) -> T:
        """A copy of a JSON-like value (dicts, lists, strings) with every string redacted."""
        if not self.secrets:
            return value
        return self._walk(value)  # type: ignore[no-any-return]

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {key: self._walk(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._walk(item) for item in value]
        return value

    def _pattern(self) -> re.Pattern[str] | None:
        if not self.secrets:
            return None
        return _compiled(self.secrets)


@cache
def _compiled(secrets: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(secret) for secret in secrets))
