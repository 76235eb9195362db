"""The GitHub publishers as one reporter: at the end of a run, the job summary, the annotations (and a check
run with all of them), the pull-request comment and the step outputs.

The action runs it after the run's protected log region (its annotations are workflow commands on purpose);
`reporters: [..., github]` runs it at the end of `hypertest invoke` in a workflow's own `run:` step, with the
inputs' defaults or the INPUT_* variables there are.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from hypertest.core.events import Reporter
from hypertest.github.annotations import annotation_records, workflow_commands
from hypertest.github.api import GitHubApi, GitHubApiError
from hypertest.github.comment import render_comment
from hypertest.github.context import GitHubContext
from hypertest.github.escape import command_data
from hypertest.github.inputs import ActionInputs, read_inputs
from hypertest.github.publish import create_check_run, degrade, pull_request_number, upsert_comment
from hypertest.github.summary import render_summary
from hypertest.github.workflow import append_summary, write_outputs


class GithubReporter(Reporter):
    """Publishes a finished run where people look on GitHub."""

    def __init__(self, out: TextIO, environ: Mapping[str, str], inputs: ActionInputs | None = None) -> None:
        self.out = out
        self.env = dict(environ)
        self.inputs = inputs or read_inputs(self.env)

    def on_end(self, result: Mapping[str, Any]) -> None:
        """Summary, annotations and check run, comment, outputs."""
        publish(result, self.inputs, self.env, self.out)


def REPORTER(out: TextIO) -> Reporter:
    """The GitHub reporter of `reporters: [github]`, reading this process's environment."""
    return GithubReporter(out, os.environ)


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
