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
from hypertest.github.annotations import annotation_records, workflow_commands
from hypertest.github.api import GitHubApi, GitHubApiError
from hypertest.github.comment import render_comment
from hypertest.github.context import GitHubContext
from hypertest.github.escape import command_data
from hypertest.github.inputs import ActionInputs, read_inputs
from hypertest.github.publish import create_check_run, degrade, pull_request_number, upsert_comment
from hypertest.github.summary import render_summary
from hypertest.github.workflow import append_summary, commands_stopped, end_group, group, mask, write_outputs
from hypertest.github.workspace import confined_config, confined_folder, confined_output
from runner.environment import secret_values


def run_action(environ: Mapping[str, str] | None = None, out: TextIO | None = None) -> int:
    """Run the action as GitHub does: the exit code follows the run's conclusion."""
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
    group(out, "hypertest invoke")
    try:
        with commands_stopped(out):  # titles, messages and file names are the pull request's
            state = invoke(settings, run_id=args.run_id, stream=out, environ=env)
    finally:
        end_group(out)
    if state.result is not None:
        publish(state.result, inputs, env, out)
    return int(state.exit_code)


def publish(result: Mapping[str, Any], inputs: ActionInputs, env: Mapping[str, str], out: TextIO) -> None:
    """Job summary, annotations (and a check run), the PR comment and the step outputs."""
    context = GitHubContext.from_environ(env)
    summary = render_summary(result, context)
    if inputs.summary and env.get("GITHUB_STEP_SUMMARY"):
        append_summary(Path(env["GITHUB_STEP_SUMMARY"]), summary)
    api = GitHubApi(env.get("GITHUB_API_URL", "https://api.github.com"), inputs.github_token) \
        if inputs.github_token else None
    if inputs.annotations:
        for line in workflow_commands(result, context):
            out.write(line + "\n")
        records = annotation_records(result, context)
        if api and records and context.repository and context.sha:
            try:
                create_check_run(api, context.repository, sha=context.sha, conclusion=result["conclusion"],
                                 summary=summary, annotations=records)
            except GitHubApiError as exc:
                out.write(f"::warning::{command_data(degrade(exc, 'the check run with every annotation'))}\n")
    _comment(result, inputs, env, context=context, api=api, out=out)
    if env.get("GITHUB_OUTPUT"):
        write_outputs(Path(env["GITHUB_OUTPUT"]), outputs_of(result))


def _comment(result: Mapping[str, Any], inputs: ActionInputs, env: Mapping[str, str], *, context: GitHubContext,
             api: GitHubApi | None, out: TextIO) -> None:
    if inputs.comment == "off":
        return
    number, fork = pull_request_number(env.get("GITHUB_EVENT_PATH", ""), env.get("GITHUB_EVENT_NAME", ""))
    if number is None or api is None or not context.repository:
        return
    if fork:
        out.write("::warning::the pull request comes from a fork, whose token is read-only: the results are "
                  "in the job summary, not in a comment\n")
        return
    failing = result["conclusion"] != "passed"
    try:
        # failures mode and green: refresh an earlier red comment, create none
        upsert_comment(api, context.repository, number, render_comment(result, context),
                       create=inputs.comment == "always" or failing)
    except GitHubApiError as exc:
        out.write(f"::warning::{command_data(degrade(exc, 'the pull-request comment'))}\n")


def outputs_of(result: Mapping[str, Any]) -> dict[str, str]:
    """The step outputs of a run."""
    counts = result["stats"]
    reports = result.get("reports", {})
    return {
        "run_id": str(result["runId"]),
        "total": str(counts["total"]),
        "passed": str(counts["passed"]),
        "failed": str(counts["failed"]),
        "interrupted": str(counts.get("interrupted", 0)),
        "flaky": str(counts["flaky"]),
        "skipped": str(counts["skipped"]),
        "errors": str(counts["errors"]),
        "duration_s": f"{result['durationMs'] / 1000:.1f}",
        "report_url": str(reports.get("htmlUrl") or reports.get("html") or ""),
        "results_path": str(reports.get("results", "")),
        "conclusion": str(result["conclusion"]),
    }
