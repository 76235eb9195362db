"""The errors hypertest reports to users, each with the exit code it ends the command with."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

from hypertest.core.safe_text import more_note


class ExitCode(IntEnum):
    """The process exit codes, part of the command line's contract."""

    OK = 0
    TESTS_FAILED = 1
    USAGE = 2
    INFRASTRUCTURE = 3
    INTERRUPTED = 130


ECHO_MAX = 200  # characters of a flag's or input's value an error message repeats


def cut(text: str, limit: int = ECHO_MAX) -> str:
    """text, or its first limit characters and a note saying how many more there were."""
    if len(text) <= limit:
        return text
    return text[:limit] + more_note(len(text) - limit)


def quoted(value: str, limit: int = 80) -> str:
    """value for an error message: quoted with control characters escaped (repr), cut short when long (an
    note says how many more characters there were)."""
    if len(value) <= limit:
        return repr(value)
    return repr(value[:limit]) + more_note(len(value) - limit)


def cut_values(text: str, values: Iterable[str], limit: int = ECHO_MAX) -> str:
    """text (a message) with every value longer than limit that it repeats, raw or quoted, cut short."""
    for value in sorted({value for value in values if len(value) > limit}, key=len, reverse=True):
        text = text.replace(repr(value), quoted(value, limit)).replace(value, cut(value, limit))
    return text


class HypertestError(Exception):
    """An error with a message meant for the user (printed without a traceback)."""

    exit_code: ExitCode = ExitCode.INFRASTRUCTURE

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """The one-screen text printed for this error."""
        text = f"error: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class UsageError(HypertestError):
    """Bad configuration, flags or test sources: the user must change something."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """An invalid hypertest.yml; the message names file:line:column and the key path."""


class InfrastructureError(HypertestError):
    """The machinery failed: a missing tool, a crashed process, an unreachable service."""

    exit_code = ExitCode.INFRASTRUCTURE
