"""The action's entry point in GitHub Actions: inputs in, command run, results published where people look."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from hypertest import commands
from hypertest.core.config import Settings
from hypertest.core.redaction import Redactor
from hypertest.errors import ECHO_MAX, ExitCode, HypertestError, UsageError, quoted
from hypertest.flags import parse_command_line
from hypertest.github.inputs import ActionInputs, read_inputs
from hypertest.github.protected_output import error_command, mask_secrets, protected
from hypertest.github.publication import GithubReporter
from hypertest.github.workflow import end_group, group
from hypertest.github.workspace import confined_config, confined_folder, confined_output
from runner.hardening import harden_process


def run_action(environ: Mapping[str, str] | None = None, out: TextIO | None = None) -> int:
    """Run the action as GitHub does: the exit code follows the run's conclusion."""
    harden_process()  # first: no user process may read this one's secrets (runner/hardening.py)
    env = dict(os.environ if environ is None else environ)
    stream = out or sys.stdout
    try:
        inputs = read_inputs(env)
        mask_secrets(stream, env, extra=(inputs.github_token,))
        workspace = Path(env.get("GITHUB_WORKSPACE") or Path.cwd())
        folder = confined_folder(workspace, inputs.working_directory)
        inputs = dataclasses.replace(inputs, config=confined_config(folder, workspace, inputs.config))
        os.chdir(folder)
        return _run(inputs, folder, workspace, env, stream)
    except HypertestError as exc:  # a secret it quotes (a bad input, say) is *** even before masking
        stream.write(error_command(Redactor.from_environ(env).text(exc.render())) + "\n")
        return int(exc.exit_code)


def _settings(inputs: ActionInputs, command: str, folder: Path,
              workspace: Path) -> tuple[Settings, argparse.Namespace]:
    argv = [command, "--config", inputs.config, *inputs.args]
    if command == "invoke":
        if inputs.concurrency:
            argv += ["--concurrency", str(inputs.concurrency)]
        if inputs.fail_on_flaky:
            argv.append("--fail-on-flaky")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # --help or --version: printed, then SystemExit
            args = parse_command_line(argv)
    except (UsageError, SystemExit) as exc:
        reason = exc.message.removeprefix("hypertest: ") if isinstance(exc, UsageError) else \
            "--help and --version print and stop; they run nothing"
        raise UsageError(f"input args: {quoted(' '.join(inputs.args), ECHO_MAX)} are not valid for "
                         f"`hypertest {command}` ({reason})") from None
    settings = commands.configured(args, folder, argv)
    confined_output(workspace, settings.output)
    return settings, args


def _run(inputs: ActionInputs, folder: Path, workspace: Path, env: dict[str, str], out: TextIO) -> int:
    if inputs.command == "doctor":
        settings, _ = _settings(inputs, "doctor", folder, workspace)
        with protected(out):
            return commands.doctor(settings, out, env)
    if inputs.command in ("deploy", "deploy-and-invoke"):
        settings, _ = _settings(inputs, "deploy", folder, workspace)
        group(out, "hypertest deploy")
        try:
            with protected(out):
                commands.deploy(settings, out, env)
        finally:
            end_group(out)
        if inputs.command == "deploy":
            return int(ExitCode.OK)
    settings, args = _settings(inputs, "invoke", folder, workspace)
    # the action publishes once, itself, after the protected region (not as reporters: [github] inside it)
    group(out, "hypertest invoke")
    try:
        with protected(out):  # titles, messages and file names are the pull request's
            invoked = commands.invoke_suite(settings, run_id=args.run_id, out=out, environ=env,
                                            publisher=GithubReporter(out, env, inputs))
    finally:
        end_group(out)
    if invoked.publish is not None:  # after the protected region: the annotations are commands on purpose
        invoked.publish()
    return invoked.exit_code
