"""The command line: `hypertest validate | list | invoke | deploy | doctor | report | init`
(also `python entrypoint.py ...`)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from hypertest.core.config import Settings, find_config, load_settings
from hypertest.core.packing import plan_run
from hypertest.core.registry import provider_entry, runner_plugin
from hypertest.crash import debugging, run_guarded
from hypertest.errors import ExitCode, HypertestError
from hypertest.flags import apply_flags, build_parser
from runner.environment import child_environment


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the return value is the process exit code."""
    args = build_parser().parse_args(argv)
    return run_guarded(lambda: _command(args, Path.cwd()), err=sys.stderr,
                       debug=args.debug or debugging(os.environ))


def _command(args: argparse.Namespace, cwd: Path) -> int:
    if args.command == "report":
        from hypertest.github.report import run_report

        return run_report(Path(args.results), summary=args.summary, comment=args.comment, junit=args.junit,
                          annotations=args.annotations, out=sys.stdout)
    if args.command == "init":
        from hypertest.init import run_init

        return run_init(cwd, sys.stdout, provider=args.provider, function=args.function_name,
                        bucket=args.bucket, region=args.region, force=args.force)
    settings = apply_flags(load_settings(find_config(args.config, cwd), cwd), args, cwd)
    return COMMANDS[args.command](settings, args)


def _validate(settings: Settings, args: argparse.Namespace) -> int:
    source = settings.source or "(no hypertest.yml: defaults)"
    print(f"{source}: valid")
    runner = settings.test_runner
    print(f"  test runner: {runner.type}, config: {runner.config}")
    print(f"  granularity: {runner.granularity}, retries: "
          f"{'from the test config' if runner.retries is None else runner.retries}")
    print(f"  provider: {settings.provider.type}, concurrency: {settings.concurrency}")
    print(f"  output: {settings.output}")
    print(f"  reporters: {', '.join(settings.reporters) or 'none'} (results.json is always written)")
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


def _invoke(settings: Settings, args: argparse.Namespace) -> int:
    from hypertest.core.invoke import invoke

    state = invoke(settings, run_id=args.run_id, environ=os.environ)
    return int(state.exit_code)


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "validate": _validate,
    "list": _list,
    "deploy": _deploy,
    "doctor": _doctor,
    "invoke": _invoke,
}
