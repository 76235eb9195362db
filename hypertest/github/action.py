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
from hypertest.core.redaction import Redactor
from hypertest.core.registry import provider_entry
from hypertest.errors import ECHO_MAX, ExitCode, HypertestError, UsageError, quoted
from hypertest.flags import apply_flags, echoing_less, parse_command_line
from hypertest.github.inputs import ActionInputs, read_inputs
from hypertest.github.protected_output import error_command, mask_secrets, protected
from hypertest.github.reporter import GithubReporter
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


def _settings(inputs: ActionInputs, command: str, folder: Path, workspace: Path) -> Any:
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
    try:
        settings = apply_flags(load_settings(find_config(args.config, folder), folder), args, folder)
    except HypertestError as exc:
        raise echoing_less(exc, argv) from None
    confined_output(workspace, settings.output)
    return settings, args


def _run(inputs: ActionInputs, folder: Path, workspace: Path, env: dict[str, str], out: TextIO) -> int:
    if inputs.command == "doctor":
        from hypertest.doctor import run_doctor

        settings, _ = _settings(inputs, "doctor", folder, workspace)
        with protected(out):
            return run_doctor(settings, out, env)
    if inputs.command in ("deploy", "deploy-and-invoke"):
        settings, _ = _settings(inputs, "deploy", folder, workspace)
        group(out, "hypertest deploy")
        try:
            with protected(out):
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
        with protected(out):  # titles, messages and file names are the pull request's
            state = invoke(settings, run_id=args.run_id, stream=out, environ=env)
    finally:
        end_group(out)
    if state.result is not None:  # after the protected region: the annotations are commands on purpose
        GithubReporter(out, env, inputs).on_end(state.result)
    return int(state.exit_code)
