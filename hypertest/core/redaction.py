"""Known secret values taken out of everything hypertest renders (console, results.json, JUnit, summary,
comment, check run), whatever a test printed or asserted."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

from hypertest.core.strings import map_strings
from runner.environment import secret_values

MASK = "***"
MINIMUM_LENGTH = 8  # shorter values would match ordinary words (as runner.environment.secret_values)
T = TypeVar("T")
# Secret values this process learned besides its environment's (a config's ${VAR} expanded from a
# secret-looking variable): every Redactor made from here on takes them out too.
_registered: dict[str, None] = {}


def register_secret(value: str) -> None:
    """Remember value as a secret for every Redactor made from now on (values shorter than MINIMUM_LENGTH
    characters are not redacted: they would match ordinary words)."""
    value = value.strip()
    if len(value) >= MINIMUM_LENGTH:
        _registered[value] = None


def registered_secrets() -> tuple[str, ...]:
    """The values register_secret remembered, in the order they came."""
    return tuple(_registered)


@dataclass(frozen=True)
class Redactor:
    """Replaces each known secret value with ***."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], extra: Iterable[str] = ()) -> Redactor:
        """A redactor of the secrets in environ (by their variables' names), those registered with
        register_secret, and the extra values."""
        values = set(secret_values(environ)) | set(_registered) | {value for value in extra if value}
        return cls(tuple(sorted(values, key=len, reverse=True)))

    def text(self, text: str) -> str:
        """text with every secret replaced."""
        pattern = self._pattern()
        return pattern.sub(MASK, text) if pattern is not None else text

    def value(self, value: T) -> T:
        """A copy of a JSON-like value (dicts, lists, strings) with every string redacted."""
        return map_strings(value, self.text) if self.secrets else value

    def _pattern(self) -> re.Pattern[str] | None:
        if not self.secrets:
            return None
        return _compiled(self.secrets)


@cache
def _compiled(secrets: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(secret) for secret in secrets))
