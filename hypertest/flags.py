"""The command line's flags: the parser of every command, and the flags laid over the config's settings
(the CLI and the action's `args` input read them the same way)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from hypertest import __version__
from hypertest.core.config import Settings, load_schema, resolve_path
from hypertest.core.redaction import Redactor
from hypertest.core.registry import provider_names
from hypertest.core.run_id import check_run_id
from hypertest.core.schema_defaults import schema_at
from hypertest.errors import ECHO_MAX, HypertestError, UsageError, cut, cut_values, quoted

MAX_MESSAGE = 4000  # characters of an error message about flags, whatever it quotes
MAX_PATTERN_BYTES = 64 * 1024  # --grep: one argument of a child process may have at most 128 KiB (Linux)
NAME_MAX = 255  # bytes of one file or folder name (Linux, macOS)


class _Parser(argparse.ArgumentParser):
    """argparse that raises its usage errors as UsageError instead of printing them: the caller prints them
    where they belong (in a workflow, inside the protected region)."""

    def error(self, message: str) -> NoReturn:
        """Raise the usage error (argparse prints it and exits)."""
        raise UsageError(f"{self.prog}: {message}", hint=f"see `{self.prog} --help`")


def parse_command_line(argv: Sequence[str]) -> argparse.Namespace:
    """The parsed flags of `hypertest ARGV`; a usage error is a UsageError that echoes no value in full
    (--help and --version still print and exit, as argparse does)."""
    try:
        return build_parser().parse_args(list(argv))
    except HypertestError as exc:
        raise echoing_less(exc, argv) from None


def echoing_less(exc: HypertestError, argv: Sequence[str]) -> HypertestError:
    """exc with every long value of argv it repeats cut short (an ellipsis says how much), and no longer than
    MAX_MESSAGE characters in all."""
    exc.message = cut(cut_values(exc.message, argv), MAX_MESSAGE)
    exc.hint = cut(cut_values(exc.hint, argv), ECHO_MAX * 2)
    return exc


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = _Parser(prog="hypertest", description="Run a Playwright suite massively in "
                                     "parallel: one sandbox per test, one merged report.")
    parser.add_argument("--version", action="version", version=f"hypertest {__version__}")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an internal error")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = _Parser(add_help=False)
    common.add_argument("-c", "--config", help="hypertest.yml to use (default: ./hypertest.yml if present)")
    commands.add_parser("validate", parents=[common], help="check hypertest.yml and print the settings")
    selection = _Parser(add_help=False)
    selection.add_argument("--project", action="append", dest="projects", metavar="NAME",
                           help="only this Playwright project (repeatable)")
    selection.add_argument("--grep", help="only tests whose title matches this regular expression")
    selection.add_argument("--grep-invert", help="leave out tests whose title matches this expression")
    selection.add_argument("--tag", action="append", dest="tags", metavar="@TAG",
                           help="only tests with this tag (repeatable)")
    selection.add_argument("--granularity", choices=("test", "file", "auto"),
                           help="what one invocation runs "
                                "(auto: short tests packed by past durations and fixture times)")
    commands.add_parser("list", parents=[common, selection], help="list the tests and how they are split")
    commands.add_parser("doctor", parents=[common], help="check credentials, function, bucket, quota, tools")
    report = commands.add_parser("report", help="render summary, comment, annotations and JUnit from results.json")
    report.add_argument("results", help="a results.json written by `hypertest invoke`")
    report.add_argument("--summary", metavar="FILE", help="write the job-summary Markdown here ('-': stdout)")
    report.add_argument("--comment", metavar="FILE", help="write the pull-request comment Markdown here")
    report.add_argument("--junit", metavar="FILE", help="write JUnit XML here")
    report.add_argument("--annotations", action="store_true", help="print the workflow-command annotations")
    init = commands.add_parser("init", help="write a starter hypertest.yml (and IAM policies for aws)")
    init.add_argument("--provider", choices=provider_names(),
                      default=schema_at(load_schema(), "provider", "type")["default"])
    init.add_argument("--function-name", default="hypertest")
    init.add_argument("--bucket", default="my-hypertest-artifacts")
    init.add_argument("--region", default="us-east-1")
    init.add_argument("--force", action="store_true", help="overwrite an existing hypertest.yml")
    commands.add_parser("deploy", parents=[common, selection],
                        help="build and push the test image, create or update the Lambda function")
    run = commands.add_parser("invoke", parents=[common, selection], help="run the suite")
    run.add_argument("--concurrency", type=_concurrency, help="invocations at once")
    run.add_argument("--output", help="results folder (each run writes OUTPUT/RUN_ID/)")
    run.add_argument("--run-id", type=_run_id, help="use this run id instead of a new one")
    run.add_argument("--retries", type=_non_negative, help="retries of a failing test")
    run.add_argument("--base", metavar="BRANCH",
                     help="triage failures against this branch's runs in the history (default: GITHUB_BASE_REF, "
                          "else baseBranch, else this run's own branch)")
    run.add_argument("--fail-on-flaky", action="store_true", default=None, help="flaky tests fail the run")
    run.add_argument("--pass-with-no-tests", action="store_true", default=None,
                     help="finding no test is a success")
    return parser


MAX_CONCURRENCY = 10_000  # as the schema's concurrency maximum


def _concurrency(text: str) -> int:
    value = _integer(text)
    if not 1 <= value <= MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to {MAX_CONCURRENCY}, got {quoted(text, 40)}")
    return value


def _non_negative(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 0, got {quoted(text, 40)}")
    return value


def _integer(text: str) -> int:
    try:
        if not text.strip().lstrip("+-").isascii():
            raise ValueError(text)  # int() also reads other scripts' digits (²)
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {quoted(text, 40)}") from None


def _run_id(text: str) -> str:
    try:
        return check_run_id(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def apply_flags(settings: Settings, args: argparse.Namespace, cwd: Path) -> Settings:
    """Settings with the command-line flags laid over the file's values."""
    runner = settings.test_runner
    runner = dataclasses.replace(
        runner,
        projects=tuple(args.projects) if getattr(args, "projects", None) else runner.projects,
        grep=getattr(args, "grep", None) or runner.grep,
        grep_invert=getattr(args, "grep_invert", None) or runner.grep_invert,
        grep_origin="--grep" if getattr(args, "grep", None) else runner.grep_origin,
        grep_invert_origin="--grep-invert" if getattr(args, "grep_invert", None) else runner.grep_invert_origin,
        tags=tuple(args.tags) if getattr(args, "tags", None) else runner.tags,
        granularity=getattr(args, "granularity", None) or runner.granularity,
        retries=runner.retries if getattr(args, "retries", None) is None else args.retries,
    )
    for tag in getattr(args, "tags", None) or ():
        check_tag(tag)
    for flag, pattern in (("--grep", getattr(args, "grep", None)),
                          ("--grep-invert", getattr(args, "grep_invert", None))):
        if pattern is not None and len(pattern.encode("utf-8", "surrogateescape")) > MAX_PATTERN_BYTES:
            raise UsageError(f"{flag} {quoted(pattern, ECHO_MAX)}: a pattern of at most {MAX_PATTERN_BYTES:,} bytes "
                             "(it is passed to the test runner as one argument)")
    for flag, value in (("--output", getattr(args, "output", None)), ("--run-id", getattr(args, "run_id", None))):
        refuse_secret(flag, value)
    changes: dict[str, object] = {"test_runner": runner}
    if getattr(args, "concurrency", None):
        changes["concurrency"] = args.concurrency
    if getattr(args, "output", None):
        too_long = [part for part in Path(args.output).parts if len(os.fsencode(part)) > NAME_MAX]
        if too_long:
            raise UsageError(f"--output {quoted(args.output, ECHO_MAX)}: a folder name of {len(too_long[0]):,} "
                             f"characters; a name has at most {NAME_MAX} bytes")
        changes["output"] = resolve_path(cwd / args.output, f"--output {quoted(args.output, ECHO_MAX)}")
    if getattr(args, "fail_on_flaky", None):
        changes["fail_on_flaky"] = True
    if getattr(args, "pass_with_no_tests", None):
        changes["pass_with_no_tests"] = True
    if getattr(args, "base", None):
        changes["base_override"] = check_branch("--base", args.base)
    return dataclasses.replace(settings, **changes)  # type: ignore[arg-type]


def refuse_secret(flag: str, value: str | None) -> None:
    """A UsageError naming flag (never quoting the value) when value holds a secret of the environment: it
    would become a folder name, the run id in every link and output, and console text."""
    if value and any(secret in value for secret in Redactor.from_environ(os.environ).secrets):
        raise UsageError(f"{flag}: the value holds a secret (a value of the environment's token, key or password "
                         "variables), which would become part of paths, links and printed output",
                         hint="name the folder or run without the secret")


def check_branch(flag: str, branch: str) -> str:
    """branch, if it is a name git could give a branch (printable, no spaces, at most 255 bytes); a UsageError
    naming the flag otherwise."""
    size = len(branch.encode("utf-8", "surrogateescape"))
    if not branch.isprintable() or any(char.isspace() for char in branch) or size > 255:
        raise UsageError(f"{flag} {quoted(branch, ECHO_MAX)}: not a branch name (printable, no spaces, "
                         "at most 255 bytes)")
    return branch


def check_tag(tag: str) -> str:
    """tag, if the schema's pattern for testRunner.tags takes it and it holds no control character (which the
    config refuses in every value); a UsageError naming --tag otherwise."""
    pattern = schema_at(load_schema(), "testRunner", "tags")["items"]["pattern"]
    control = any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in tag)
    if control or not re.search(pattern, tag):
        raise UsageError(f"--tag {quoted(tag, ECHO_MAX)}: a tag starts with @ and has no spaces or control "
                         f"characters (the pattern {pattern} of testRunner.tags)")
    return tag
