"""The command line: `hypertest validate | list | invoke | deploy | doctor | report | init`
(also `python entrypoint.py ...`)."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from hypertest import commands
from hypertest.core.registry import reporters
from hypertest.crash import debugging, run_guarded
from hypertest.errors import ExitCode, HypertestError
from hypertest.flags import echoing_less, parse_command_line
from hypertest.github.protected_output import error_command, in_workflow, mask_secrets, protected
from runner.hardening import harden_process


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the return value is the process exit code."""
    harden_process()  # first: no user process may read this one's secrets (runner/hardening.py)
    words = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in words or debugging(os.environ)
    if in_workflow(os.environ):
        return _in_workflow_step(words, debug)
    return run_guarded(lambda: _parsed_command(words, Path.cwd()), err=sys.stderr, debug=debug)


def _in_workflow_step(words: list[str], debug: bool) -> int:
    """In a workflow's `run:` step the runner reads this log for workflow commands (`::error::`, `##[error]`):
    the environment's secrets are masked first, then every command prints, its usage errors included, inside
    one protected region (as in the action). What publishes after it (a `github` reporter, `report
    --annotations`) writes commands on purpose; an error there is an escaped `::error` command."""
    out = sys.stdout
    mask_secrets(out, os.environ)
    after: list[Callable[[], None]] = []
    with protected(out):
        code = run_guarded(lambda: _parsed_command(words, Path.cwd(), after), err=sys.stderr, debug=debug)
    for publish in after:
        published = run_guarded(functools.partial(_done, publish), err=out, debug=debug, describe=error_command)
        code = code or published
    return code


def _done(action: Callable[[], None]) -> int:
    action()
    return int(ExitCode.OK)


def _parsed_command(words: list[str], cwd: Path, after: list[Callable[[], None]] | None = None) -> int:
    """The command words ask for; its errors echo no flag value in full."""
    args = parse_command_line(words)
    try:
        return _command(args, cwd, words, after)
    except HypertestError as exc:
        raise echoing_less(exc, words) from None


def _command(args: argparse.Namespace, cwd: Path, words: list[str],
             after: list[Callable[[], None]] | None = None) -> int:
    if args.command == "report":
        from hypertest.github.report_command import run_report

        later = after is not None and args.annotations  # annotations are commands: after the protected region
        if after is not None and later:
            after.append(functools.partial(_annotations, Path(args.results)))
        return run_report(Path(args.results), summary=args.summary, comment=args.comment, junit=args.junit,
                          annotations=args.annotations and not later, out=sys.stdout)
    if args.command == "init":
        from hypertest.init import run_init

        return run_init(cwd, sys.stdout, provider=args.provider, function=args.function_name,
                        bucket=args.bucket, region=args.region, force=args.force)
    settings = commands.configured(args, cwd, words)
    if args.command != "invoke":
        return commands.COMMANDS[args.command](settings, sys.stdout, os.environ)
    publisher = None
    if after is not None and commands.GITHUB_REPORTER in settings.reporters:  # made now: a bad INPUT_* stops
        publisher = reporters([commands.GITHUB_REPORTER], sys.stdout)[0]   # the run before it starts
    invoked = commands.invoke_suite(settings, run_id=args.run_id, out=sys.stdout, environ=os.environ,
                                    publisher=publisher)
    if after is not None and invoked.publish is not None:
        after.append(invoked.publish)
    return invoked.exit_code


def _annotations(results: Path) -> None:
    """Print the workflow-command annotations of results (`report --annotations`, after the protected region)."""
    from hypertest.github.report_command import run_report

    run_report(results, summary=None, comment=None, junit=None, annotations=True, out=sys.stdout)
