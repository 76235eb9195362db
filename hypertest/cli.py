"""The command line: `hypertest validate | list | invoke | deploy | doctor | report | init`
(also `python entrypoint.py ...`)."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from hypertest.core.config import Settings, find_config, load_settings
from hypertest.core.events import Reporter
from hypertest.core.packing import plan_run
from hypertest.core.registry import provider_entry, reporters, runner_plugin
from hypertest.crash import debugging, run_guarded
from hypertest.errors import ExitCode, HypertestError
from hypertest.flags import apply_flags, echoing_less, parse_command_line
from hypertest.github.protected_output import error_command, in_workflow, mask_secrets, protected
from runner.environment import child_environment
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
        return _command(args, cwd, after)
    except HypertestError as exc:
        raise echoing_less(exc, words) from None


def _command(args: argparse.Namespace, cwd: Path, after: list[Callable[[], None]] | None = None) -> int:
    if args.command == "report":
        from hypertest.github.report import run_report

        later = after is not None and args.annotations  # annotations are commands: after the protected region
        if after is not None and later:
            after.append(functools.partial(_annotations, Path(args.results)))
        return run_report(Path(args.results), summary=args.summary, comment=args.comment, junit=args.junit,
                          annotations=args.annotations and not later, out=sys.stdout)
    if args.command == "init":
        from hypertest.init import run_init

        return run_init(cwd, sys.stdout, provider=args.provider, function=args.function_name,
                        bucket=args.bucket, region=args.region, force=args.force)
    settings = apply_flags(load_settings(find_config(args.config, cwd), cwd), args, cwd)
    if args.command == "invoke":
        return _invoke(settings, args, after)
    return COMMANDS[args.command](settings, args)


def _annotations(results: Path) -> None:
    """Print the workflow-command annotations of results (`report --annotations`, after the protected region)."""
    from hypertest.github.report import run_report

    run_report(results, summary=None, comment=None, junit=None, annotations=True, out=sys.stdout)


def _validate(settings: Settings, args: argparse.Namespace) -> int:
    from hypertest.reporters.console import printable

    source = settings.source or "(no hypertest.yml: defaults)"
    print(f"{source}: valid")
    runner = settings.test_runner
    print(f"  test runner: {runner.type}, config: {runner.config}")
    plugin = runner_plugin(runner.type)
    own_lines = getattr(plugin, "validate_lines", None)  # optional: the plugin's words for its settings
    for line in (own_lines(settings, os.environ) if own_lines else [
            f"granularity: {runner.granularity}, retries: "
            f"{'from the test config' if runner.retries is None else runner.retries}"]):
        print(printable(f"  {line}"))
    print(f"  provider: {settings.provider.type}, concurrency: {settings.concurrency}")
    print(f"  output: {settings.output}")
    unmade = [name for name in settings.reporters if name in getattr(plugin, "unmade_reporters", ())]
    made = [name for name in settings.reporters if name not in unmade]
    print(f"  reporters: {', '.join(made) or 'none'} (results.json is always written)"
          + (f"; {', '.join(unmade)}: no report for a {runner.type} suite" if unmade else ""))
    entry = provider_entry(settings.provider.type)
    if entry.checks_tests:
        try:
            discovery = runner_plugin(runner.type).discover(runner, child_environment(os.environ))
        except HypertestError as exc:
            print(f"note: the tests could not be listed, so they were not checked: {exc.message}")
            return int(ExitCode.OK)
        for warning in entry.test_warnings(settings, discovery):
            print(f"warning: {warning}")
    return int(ExitCode.OK)


def _list(settings: Settings, args: argparse.Namespace) -> int:
    from hypertest.reporters.console import printable

    plugin = runner_plugin(settings.test_runner.type)
    discovery = plugin.discover(settings.test_runner, child_environment(os.environ))
    plan, packing = plan_run(plugin, discovery, settings)
    node = discovery.result_fields().get("node")
    if node:  # which Node.js runs the tests, and why that one (results.json records the same)
        print(printable(f"node: {node['path']} {node['version']}: {node['reason']}"))
    if packing is not None:
        print(packing.describe())
    for line in plugin.describe(discovery, settings):
        print(printable(line))
    for number, phase in enumerate(plan.phases, start=1):
        groups = sorted({test.project for unit in phase.units for test in unit.tests})
        if len(plan.phases) > 1:
            print(printable(f"phase {number}: {', '.join(plugin.group_label(discovery, g) for g in groups)}"))
        for unit in phase.units:
            print(f"{unit.id} ({len(unit.tests)} test{'s' if len(unit.tests) != 1 else ''})")
            for test in unit.tests:
                project = f"[{test.project}] " if test.project else ""
                repeat = f" (repetition {test.repeat_each_index})" if test.repeat_each_index is not None else ""
                print(printable(f"  {test.id}  {project}{test.file}:{test.line} › {test.title}{repeat}"))
    print(f"{len(discovery.tests)} tests in {len(plan.units)} units"
          + (f" in {len(plan.phases)} phases" if len(plan.phases) > 1 else ""))
    return int(ExitCode.OK)


def _deploy(settings: Settings, args: argparse.Namespace) -> int:
    provider_entry(settings.provider.type).deploy(settings, sys.stdout, os.environ)
    return int(ExitCode.OK)


def _doctor(settings: Settings, args: argparse.Namespace) -> int:
    from hypertest.doctor import run_doctor

    return run_doctor(settings, sys.stdout)


def _invoke(settings: Settings, args: argparse.Namespace, after: list[Callable[[], None]] | None) -> int:
    """Run the suite; given `after` (in a workflow step), a github reporter publishes after the protected log."""
    from hypertest.core.invoke import invoke

    publishers: list[Reporter] = []
    if after is not None and "github" in settings.reporters:
        publishers = reporters(["github"], sys.stdout)  # made now: a bad INPUT_* is an error before the run
        settings = dataclasses.replace(settings, reporters=tuple(r for r in settings.reporters if r != "github"))
    state = invoke(settings, run_id=args.run_id, environ=os.environ)
    result = state.result
    if result is not None and after is not None:
        after.extend(functools.partial(publisher.on_end, result) for publisher in publishers)
    return int(state.exit_code)


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "validate": _validate,
    "list": _list,
    "deploy": _deploy,
    "doctor": _doctor,
}
