"""The action's entry point in GitHub Actions: inputs in, command run, results published where people look."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from hypertest.core.config import find_config, load_settings
from hypertest.core.registry import provider_entry
from hypertest.errors import ExitCode, HypertestError, UsageError
from hypertest.flags import apply_flags, build_parser
from hypertest.github.escape import command_data
from hypertest.github.inputs import ActionInputs, read_inputs
from hypertest.github.reporter import GithubReporter
from hypertest.github.workflow import commands_stopped, end_group, group, mask
from hypertest.github.workspace import confined_config, confined_folder, confined_output
from runner.hardening import harden_process
from runner.environment import secret_values


def run_action(environ: Mapping[str, str] | None = None, out: TextIO | None = None) -> int:
    """Run the action as GitHub does: the exit code follows the run's conclusion."""
    harden_process()  # first: no user process may read this one's secrets (runner/hardening.py)
    env = dict(os.environ if environ is None else environ)
    stream = out or sys.stdout
    try:
        inputs = read_inputs(env)
        for secret in dict.fromkeys((inputs.github_token, *secret_values(env))):
            mask(stream, secret)
        workspace = Path(env.get("GITHUB_WORKSPACE") or Path.cwd())
        folder = confined_folder(workspace, inputs.working_directory)
        inputs = dataclasses.replace(inputs, config=confined_config(folder, workspace, inputs.config))
        os.chdir(folder)
        return _run(inputs, folder, workspace, env, stream)
    except HypertestError as exc:
        stream.write(f"::error title=hypertest::{command_data(exc.render())}\n")
        return int(exc.exit_code)


def _settings(inputs: ActionInputs, command: str, folder: Path, workspace: Path) -> Any:
    argv = [command, "--config", inputs.config, *inputs.args]
    if command == "invoke":
        if inputs.concurrency:
            argv += ["--concurrency", str(inputs.concurrency)]
        if inputs.fail_on_flaky:
            argv.append("--fail-on-flaky")
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):  # argparse would echo the input raw into the log
            args = build_parser().parse_args(argv)
    except SystemExit:
        reason = said.getvalue().strip().splitlines()[-1:] or ["unknown arguments"]
        raise UsageError(f"input args: {' '.join(inputs.args)!r} are not valid for `hypertest {command}` "
                         f"({reason[0].removeprefix('hypertest: ')})") from None
    settings = apply_flags(load_settings(find_config(args.config, folder), folder), args, folder)
    confined_output(workspace, settings.output)
    return settings, args


def _run(inputs: ActionInputs, folder: Path, workspace: Path, env: dict[str, str], out: TextIO) -> int:
    if inputs.command == "doctor":
        from hypertest.doctor import run_doctor

        settings, _ = _settings(inputs, "doctor", folder, workspace)
        with commands_stopped(out):
            return run_doctor(settings, out, env)
    if inputs.command in ("deploy", "deploy-and-invoke"):
        settings, _ = _settings(inputs, "deploy", folder, workspace)
        group(out, "hypertest deploy")
        try:
            with commands_stopped(out):
                provider_entry(settings.provider.type).deploy(settings, out, env)
        finally:
            end_group(out)
        if inputs.command == "deploy":
            return int(ExitCode.OK)
    from hypertest.core.invoke import invoke

    settings, args = _settings(inputs, "invoke", folder, workspace)
    # the action publishes once, itself, after the protected region (not as reporters: [github] inside it)
    settings = dataclasses.replace(settings, reporters=tuple(r for r in settings.reporters if r != "github"))
    group(out, "hypertest invoke")
    try:
        with commands_stopped(out):  # titles, messages and file names are the pull request's
            state = invoke(settings, run_id=args.run_id, stream=out, environ=env)
    finally:
        end_group(out)
    if state.result is not None:  # after the protected region: the annotations are commands on purpose
        GithubReporter(out, env, inputs).on_end(state.result)
    return int(state.exit_code)
