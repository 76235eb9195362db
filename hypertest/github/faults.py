"""Publishing problems: each one becomes a single `::warning::` naming what is wrong (an environment
variable, a field of the event, the API's answer), never a failed step or a changed exit code."""

from __future__ import annotations

from typing import TextIO

from hypertest.github.escape import command_data
from hypertest.github.results_file import shown


class PublishFault(Exception):
    """Something hypertest was given cannot be published to; str() is the warning's text."""


def named(variable: str, value: str, problem: str, skipped: str) -> PublishFault:
    """A fault of an environment variable: '<VARIABLE>=<value>: <problem>; <what was skipped>'."""
    return PublishFault(f"{variable}={shown(value)}: {problem}; {skipped}")


def warn(out: TextIO, text: str) -> None:
    """Print one warning workflow command, its text escaped (line breaks, `::`, `%`) as the toolkit does."""
    out.write(f"::warning::{command_data(text)}\n")
