"""The action's inputs, read strictly from INPUT_* variables: a bad value names the input."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from hypertest.errors import UsageError

COMMANDS = ("deploy", "invoke", "deploy-and-invoke", "doctor")
COMMENT_MODES = ("always", "failures", "off")
TRUE = ("true", "True", "TRUE")
FALSE = ("false", "False", "FALSE")

# Every input of action.yml, with its default there (the meta-tests keep the two in step).
DEFAULTS = {
    "command": "invoke",
    "config": "hypertest.yml",
    "working_directory": ".",
    "concurrency": "",
    "github_token": "",
    "comment": "failures",
    "annotations": "true",
    "summary": "true",
    "fail_on_flaky": "false",
    "args": "",
}


@dataclass(frozen=True)
class ActionInputs:
    """The validated inputs."""

    command: str
    config: str
    working_directory: str
    concurrency: int | None
    github_token: str
    comment: str
    annotations: bool
    summary: bool
    fail_on_flaky: bool
    args: tuple[str, ...]


def _raw(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(f"INPUT_{name.upper()}")
    return (DEFAULTS[name] if value is None else value).strip()


def _boolean(environ: Mapping[str, str], name: str) -> bool:
    value = _raw(environ, name)
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise UsageError(f"input {name}: {value!r} is not a boolean; use true or false")


def _choice(environ: Mapping[str, str], name: str, options: tuple[str, ...]) -> str:
    value = _raw(environ, name)
    if value not in options:
        raise UsageError(f"input {name}: {value!r} is not one of {', '.join(options)}")
    return value


def read_inputs(environ: Mapping[str, str]) -> ActionInputs:
    """Every input, validated; UsageError names the first bad one."""
    concurrency_text = _raw(environ, "concurrency")
    concurrency = None
    if concurrency_text:
        # isdigit() alone takes '²' (which int() refuses) and other scripts' digits
        if not (concurrency_text.isascii() and concurrency_text.isdigit()) or not 1 <= int(concurrency_text) <= 10_000:
            raise UsageError(f"input concurrency: {concurrency_text!r} is not a whole number from 1 to 10000")
        concurrency = int(concurrency_text)
    try:
        args = tuple(shlex.split(_raw(environ, "args")))  # split like a command line; never run by a shell
    except ValueError as exc:
        raise UsageError(f"input args: {exc}") from None
    return ActionInputs(
        command=_choice(environ, "command", COMMANDS),
        config=_raw(environ, "config") or "hypertest.yml",
        working_directory=_raw(environ, "working_directory") or ".",
        concurrency=concurrency,
        github_token=_raw(environ, "github_token"),
        comment=_choice(environ, "comment", COMMENT_MODES),
        annotations=_boolean(environ, "annotations"),
        summary=_boolean(environ, "summary"),
        fail_on_flaky=_boolean(environ, "fail_on_flaky"),
        args=args,
    )
