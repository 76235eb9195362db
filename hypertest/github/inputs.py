"""The action's inputs, read strictly from INPUT_* variables: a bad value names the input."""

from __future__ import annotations

import shlex
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from hypertest.errors import UsageError, quoted

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


SHOWN_MAX = 80  # characters of an input quoted in an error message


def shown(value: str) -> str:
    """value quoted for an error message: control characters escaped (repr), and cut short when long."""
    return quoted(value, SHOWN_MAX)


def _has_control(value: str) -> bool:
    """Whether value holds a control character (NUL, ESC, line breaks, C1 codes) or a Unicode line separator."""
    return any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in value)


def _raw(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(f"INPUT_{name.upper()}")
    return (DEFAULTS[name] if value is None else value).strip()


def _text(environ: Mapping[str, str], name: str, *, secret: bool = False) -> str:
    """An input that is one line of text without control characters (surrounding whitespace is dropped)."""
    value = _raw(environ, name)
    if _has_control(value):
        quoted = "the value" if secret else shown(value)  # a secret is not masked yet: never print it
        raise UsageError(f"input {name}: {quoted} holds a control character or a line break")
    return value


def _boolean(environ: Mapping[str, str], name: str) -> bool:
    value = _raw(environ, name)
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise UsageError(f"input {name}: {shown(value)} is not a boolean; use true or false")


def _choice(environ: Mapping[str, str], name: str, options: tuple[str, ...]) -> str:
    value = _raw(environ, name)
    if value not in options:
        raise UsageError(f"input {name}: {shown(value)} is not one of {', '.join(options)}")
    return value


def _args(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The args input split like a command line (never run by a shell); no argument may hold a control character."""
    text = _raw(environ, "args")
    try:
        args = tuple(shlex.split(text))
    except ValueError as exc:
        raise UsageError(f"input args: {shown(text)}: {exc}") from None
    for arg in args:  # line breaks between arguments are fine (a YAML block), inside one they are not
        if _has_control(arg):
            raise UsageError(f"input args: the argument {shown(arg)} holds a control character or a line break")
        if _names_config(arg):
            raise UsageError(f"input args: {shown(arg)} would bypass the config input, which is kept inside "
                             "the workspace", hint="set the config input instead")
    return args


def _names_config(arg: str) -> bool:
    """Whether argparse reads arg as --config: -c, -cPATH, --config[=PATH] or an abbreviation such as --conf."""
    if arg.startswith("--"):
        name = arg.split("=", 1)[0]
        return len(name) > 2 and "--config".startswith(name)
    return arg.startswith("-c")


def read_inputs(environ: Mapping[str, str]) -> ActionInputs:
    """Every input, validated; UsageError names the first bad one."""
    concurrency_text = _raw(environ, "concurrency")
    concurrency = None
    if concurrency_text:
        # isdigit() alone takes '²' (which int() refuses) and other scripts' digits; int() refuses 4,300 digits
        if not (concurrency_text.isascii() and concurrency_text.isdigit() and len(concurrency_text) <= 5) \
                or not 1 <= int(concurrency_text) <= 10_000:
            raise UsageError(f"input concurrency: {shown(concurrency_text)} is not a whole number from 1 to 10000")
        concurrency = int(concurrency_text)
    args = _args(environ)
    return ActionInputs(
        command=_choice(environ, "command", COMMANDS),
        config=_text(environ, "config") or "hypertest.yml",
        working_directory=_text(environ, "working_directory") or ".",
        concurrency=concurrency,
        github_token=_text(environ, "github_token", secret=True),
        comment=_choice(environ, "comment", COMMENT_MODES),
        annotations=_boolean(environ, "annotations"),
        summary=_boolean(environ, "summary"),
        fail_on_flaky=_boolean(environ, "fail_on_flaky"),
        args=args,
    )
