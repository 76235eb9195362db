"""The commands that read hypertest.yml (`validate`, `list`, `deploy`, `doctor`, `invoke`), one way for both
front ends: the command line (hypertest/cli.py) and the GitHub Action (hypertest/github/action.py). Each
front end parses its input into flags, then asks this module for the settings and the command.

In a workflow, what publishes to GitHub (the `github` reporter's summary, annotations and comment) writes
workflow commands on purpose, so it must run after the log's protected region: `invoke` then hands it back
as `Invoked.publish` instead of running it among the reporters."""

from __future__ import annotations

import argparse
import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from hypertest.core.config import Settings, find_config
from hypertest.core.contracts import Reporter
from hypertest.core.load import load_settings
from hypertest.core.packing import plan_run
from hypertest.core.registry import provider_entry, runner_plugin
from hypertest.core.run_identity import run_identity
from hypertest.core.run_memory import PastRuns, past_runs, read_history
from hypertest.errors import ExitCode, HypertestError
from hypertest.flags import apply_flags, echoing_less
from hypertest.reporters.console import printable
from runner.environment import child_environment

GITHUB_REPORTER = "github"


def configured(args: argparse.Namespace, cwd: Path, argv: list[str]) -> Settings:
    """The settings of hypertest.yml (--config, else cwd's) with the flags laid over; an error echoes no value
    of argv in full."""
    try:
        return apply_flags(load_settings(find_config(args.config, cwd), cwd), args, cwd)
    except HypertestError as exc:
        raise echoing_less(exc, argv) from None


@dataclass(frozen=True)
class Invoked:
    """An invoke that ran: its exit code, and what publishes its results after the protected log (if any)."""

    exit_code: int
    publish: Callable[[], None] | None = None


def invoke_suite(settings: Settings, *, run_id: str | None, out: TextIO, environ: Mapping[str, str],
                 publisher: Reporter | None = None) -> Invoked:
    """Run the suite. Given a publisher, the `github` reporter leaves the run and the publisher's on_end comes
    back as `publish`, for the caller to run after the protected region."""
    from hypertest.core.invoke import invoke

    if publisher is not None:
        settings = dataclasses.replace(
            settings, reporters=tuple(name for name in settings.reporters if name != GITHUB_REPORTER))
    state = invoke(settings, run_id=run_id, stream=out, environ=environ)
    publish = (functools.partial(publisher.on_end, state.result)
               if publisher is not None and state.result is not None else None)
    return Invoked(int(state.exit_code), publish)


def validate(settings: Settings, out: TextIO, environ: Mapping[str, str]) -> int:
    """`hypertest validate`: the settings as they will be used, and what the provider warns about the tests."""
    say = functools.partial(_line, out)
    say(f"{settings.source or '(no hypertest.yml: defaults)'}: valid")
    runner = settings.test_runner
    say(f"  test runner: {runner.type}, config: {runner.config}")
    plugin = runner_plugin(runner.type)
    own_lines = getattr(plugin, "validate_lines", None)  # optional: the plugin's words for its settings
    for line in (own_lines(settings, environ) if own_lines else [
            f"granularity: {runner.granularity}, retries: "
            f"{'from the test config' if runner.retries is None else runner.retries}"]):
        say(f"  {line}")
    say(f"  provider: {settings.provider.type}, concurrency: {settings.concurrency}")
    say(f"  output: {settings.output}")
    unmade = [name for name in settings.reporters if name in getattr(plugin, "unmade_reporters", ())]
    made = [name for name in settings.reporters if name not in unmade]
    say(f"  reporters: {', '.join(made) or 'none'} (results.json is always written)"
        + (f"; {', '.join(unmade)}: no report for a {runner.type} suite" if unmade else ""))
    entry = provider_entry(settings.provider.type)
    if entry.checks_tests:
        try:
            discovery = plugin.discover(runner, child_environment(environ))
        except HypertestError as exc:
            say(f"note: the tests could not be listed, so they were not checked: {exc.message}")
            return int(ExitCode.OK)
        for warning in entry.test_warnings(settings, discovery):
            say(f"warning: {warning}")
    return int(ExitCode.OK)


def list_units(settings: Settings, out: TextIO, environ: Mapping[str, str]) -> int:
    """`hypertest list`: the tests the run would run, unit by unit and phase by phase."""
    say = functools.partial(_line, out)
    plugin = runner_plugin(settings.test_runner.type)
    discovery = plugin.discover(settings.test_runner, child_environment(environ))
    past = PastRuns()
    if settings.test_runner.granularity == "auto":  # packing reads what past runs measured
        identity = run_identity(discovery.project_dir, environ, base_flag=None, base_setting=None)
        from hypertest.core.invoke import make_provider

        provider = make_provider(settings, environ, out)
        try:
            history = read_history(settings, provider, identity, lambda text: say(f"warning: {text}"))
        finally:
            provider.close()
        past = past_runs(history, settings.provider.type, settings.test_runner.type)
    plan, packing = plan_run(plugin, discovery, settings, past)
    node = discovery.result_fields().get("node")
    if node:  # which Node.js runs the tests, and why that one (results.json records the same)
        say(f"node: {node['path']} {node['version']}: {node['reason']}")
    if packing is not None:
        say(packing.describe())
    for line in plugin.describe(discovery, settings):
        say(line)
    for number, phase in enumerate(plan.phases, start=1):
        groups = sorted({test.project for unit in phase.units for test in unit.tests})
        if len(plan.phases) > 1:
            say(f"phase {number}: {', '.join(plugin.group_label(discovery, g) for g in groups)}")
        for unit in phase.units:
            say(f"{unit.id} ({len(unit.tests)} test{'s' if len(unit.tests) != 1 else ''})")
            for test in unit.tests:
                project = f"[{test.project}] " if test.project else ""
                repeat = f" (repetition {test.repeat_each_index})" if test.repeat_each_index is not None else ""
                say(f"  {test.id}  {project}{test.file}:{test.line} › {test.title}{repeat}")
    say(f"{len(discovery.tests)} tests in {len(plan.units)} units"
        + (f" in {len(plan.phases)} phases" if len(plan.phases) > 1 else ""))
    return int(ExitCode.OK)


def deploy(settings: Settings, out: TextIO, environ: Mapping[str, str]) -> int:
    """`hypertest deploy`: build and publish what the provider's units run on."""
    provider_entry(settings.provider.type).deploy(settings, out, environ)
    return int(ExitCode.OK)


def doctor(settings: Settings, out: TextIO, environ: Mapping[str, str]) -> int:
    """`hypertest doctor`: every check of the test runner and the provider, each with its fix."""
    from hypertest.doctor import run_doctor

    return run_doctor(settings, out, environ)


# The commands besides invoke, by name: (settings, out, environment) -> exit code.
COMMANDS: dict[str, Callable[[Settings, TextIO, Mapping[str, str]], int]] = {
    "validate": validate,
    "list": list_units,
    "deploy": deploy,
    "doctor": doctor,
}


def _line(out: TextIO, text: str) -> None:
    out.write(printable(text) + "\n")
