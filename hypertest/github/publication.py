"""The GitHub publishers as one reporter: at the end of a run, the step outputs, the job summary, the
annotations, the pull-request comment and a check run with every annotation. A problem with any of them
is one `::warning::` naming the variable or event field at fault; the others still happen and the run's
exit code stays the tests'.

The action runs it after the run's protected log region (its annotations are workflow commands on purpose);
`reporters: [..., github]` runs it at the end of `hypertest invoke` in a workflow's own `run:` step, with the
inputs' defaults or the INPUT_* variables there are.
"""

from __future__ import annotations

import os
import re
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from hypertest.core.contracts import Reporter
from hypertest.core.redaction import Redactor
from hypertest.crash import save_traceback
from hypertest.github.annotations import annotation_records, workflow_commands
from hypertest.github.api import GitHubApi, GitHubApiError, api_url_problem
from hypertest.github.comment import render_comment
from hypertest.github.comment_and_check import create_check_run, degrade, upsert_comment
from hypertest.github.context import GitHubContext
from hypertest.github.event import pull_request
from hypertest.github.faults import PublishFault, named, warn
from hypertest.github.files import reason
from hypertest.github.inputs import ActionInputs, read_inputs
from hypertest.github.results_file import shown
from hypertest.github.summary import render_summary
from hypertest.github.triage_sections import grouped, new_failures
from hypertest.github.workflow import append_summary, write_outputs
from runner.model import RunResult

DEFAULT_API_URL = "https://api.github.com"
REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


class GithubReporter(Reporter):
    """Publishes a finished run where people look on GitHub."""

    def __init__(self, out: TextIO, environ: Mapping[str, str], inputs: ActionInputs | None = None) -> None:
        self.out = out
        self.env = dict(environ)
        self.inputs = inputs or read_inputs(self.env)

    def on_end(self, result: RunResult) -> None:
        """Outputs, summary, annotations, comment and check run; a publishing problem is a warning, never an
        exception, so the run's exit code stays the tests'."""
        publish(result, self.inputs, self.env, self.out)


def REPORTER(out: TextIO) -> Reporter:
    """The GitHub reporter of `reporters: [github]`, reading this process's environment."""
    return GithubReporter(out, os.environ)


def publish(result: RunResult, inputs: ActionInputs, env: Mapping[str, str], out: TextIO) -> None:
    """Step outputs, job summary, annotations, PR comment and check run, in that order. A problem with one
    (a file the runner's variables name, the event, the API) is one warning and the others still happen:
    publishing never changes the run's exit code."""
    publication = _Publication(result, inputs, env, out)
    redact = Redactor.from_environ(env, (inputs.github_token,)).text  # a warning quotes paths, URLs, answers
    for what, step in (("the step outputs", publication.outputs), ("the job summary", publication.summary),
                       ("the annotations", publication.annotations),
                       ("the pull-request comment", publication.comment),
                       ("the check run with every annotation", publication.check_run)):
        _guarded(out, what, step, redact)


def _guarded(out: TextIO, what: str, step: Callable[[], None], redact: Callable[[str], str]) -> None:
    """Run one publishing step; whatever stops it becomes a single warning, its secrets redacted."""
    try:
        step()
    except PublishFault as exc:
        warn(out, redact(str(exc)))
    except GitHubApiError as exc:
        warn(out, redact(degrade(exc, what)))
    except Exception as exc:  # a bug of ours: the run's result stands, the bug is reported
        saved = save_traceback("".join(traceback.format_exception(exc)))
        warn(out, redact(f"{what} skipped: internal error (a bug in hypertest, please report it): "
                         f"{type(exc).__name__}: {shown(str(exc), 200)}"
                         + (f" (the traceback is in {saved})" if saved else "")))


class _Publication:
    """One run's publishing steps; the API and repository are checked once, for the comment and check run."""

    def __init__(self, result: RunResult, inputs: ActionInputs, env: Mapping[str, str],
                 out: TextIO) -> None:
        self.result, self.inputs, self.env, self.out = result, inputs, env, out
        self.context = GitHubContext.from_environ(env)
        self.rendered: str | None = None
        self.target_checked = False
        self.target: tuple[GitHubApi, str] | None = None

    def outputs(self) -> None:
        """The step outputs, first: later steps of the workflow read them."""
        path = self.env.get("GITHUB_OUTPUT")
        if path:
            try:
                write_outputs(Path(path), outputs_of(self.result))
            except OSError as exc:
                raise named("GITHUB_OUTPUT", path, reason(exc), "the step outputs were not written") from None

    def summary(self) -> None:
        """The job summary."""
        path = self.env.get("GITHUB_STEP_SUMMARY")
        if not (self.inputs.summary and path):
            return
        markdown = self.summary_text()
        try:
            append_summary(Path(path), markdown)
        except OSError as exc:
            raise named("GITHUB_STEP_SUMMARY", path, reason(exc), "the job summary was not written") from None

    def summary_text(self) -> str:
        """The rendered summary (rendered once; the check run carries it too, or only the verdict when
        rendering failed: that failure is the summary's warning)."""
        if self.rendered is None:
            self.rendered = f"hypertest {self.result['conclusion']}"
            self.rendered = render_summary(self.result, self.context)
        return self.rendered

    def annotations(self) -> None:
        """The first failures as workflow commands (annotations on the lines)."""
        if self.inputs.annotations:
            self.out.write("".join(line + "\n" for line in workflow_commands(self.result, self.context)))

    def comment(self) -> None:
        """The pull-request comment, created or updated (see inputs.comment)."""
        if self.inputs.comment == "off":
            return
        pull = pull_request(self.env.get("GITHUB_EVENT_PATH", ""), self.env.get("GITHUB_EVENT_NAME", ""))
        target = self.api() if pull else None
        if pull is None or target is None:
            return
        if pull.fork:
            warn(self.out, "the pull request comes from a fork, whose token is read-only: the results are in the "
                           "job summary, not in a comment")
            return
        failing = self.result["conclusion"] != "passed"
        # failures mode and green: refresh an earlier red comment, create none
        upsert_comment(target[0], target[1], pull.number, render_comment(self.result, self.context),
                       create=self.inputs.comment == "always" or failing)

    def check_run(self) -> None:
        """A check run carrying every annotation (the workflow commands show the first ten only)."""
        if not (self.inputs.annotations and self.context.sha):
            return
        records = annotation_records(self.result, self.context)
        target = self.api() if records else None
        if target is None:
            return
        create_check_run(target[0], target[1], sha=self.context.sha, conclusion=self.result["conclusion"],
                         summary=self.summary_text(), annotations=records)

    def api(self) -> tuple[GitHubApi, str] | None:
        """The API client and the repository, None without a token or repository; a PublishFault naming the
        variable the first time GITHUB_API_URL or GITHUB_REPOSITORY cannot be used (None after that)."""
        if self.target_checked:
            return self.target
        self.target_checked = True
        skipped = "no pull-request comment or check run"
        url = self.env.get("GITHUB_API_URL") or DEFAULT_API_URL
        repository = self.context.repository
        if not (self.inputs.github_token and repository):
            return None
        if problem := api_url_problem(url):
            raise named("GITHUB_API_URL", _without_credentials(url), problem, skipped)
        if not REPOSITORY.fullmatch(repository):
            raise named("GITHUB_REPOSITORY", repository, "not owner/name", skipped)
        self.target = (GitHubApi(url, self.inputs.github_token), repository)
        return self.target


def _without_credentials(url: str) -> str:
    """url with a user name, password or query (which may carry a token) shown as ***."""
    url = re.sub(r"(?<=//)[^/?#]*@", "***@", url, count=1)
    return re.sub(r"\?.*", "?***", url, count=1, flags=re.DOTALL)


def outputs_of(result: RunResult) -> dict[str, str]:
    """The step outputs of a run. Failure triage's counts: `new_failures` the failures of class new, not
    quarantined (without history every failure but an error is new), `pre_existing` those failing on the
    base branch too, `quarantined` the failures that do not fail the run, `fixed` the tests failing on the
    base branch and passing here."""
    counts = result["stats"]
    reports = result.get("reports", {})
    groups = grouped(result)
    quarantined = counts.get("quarantined", sum(1 for r in result["tests"]
                                                if r["outcome"] == "unexpected" and r.get("quarantined")))
    return {
        "run_id": str(result["runId"]),
        "total": str(counts["total"]),
        "passed": str(counts["passed"]),
        "failed": str(counts["failed"]),
        "interrupted": str(counts.get("interrupted", 0)),
        "flaky": str(counts["flaky"]),
        "skipped": str(counts["skipped"]),
        "errors": str(counts["errors"]),
        "new_failures": str(new_failures(result)),
        "pre_existing": str(len(groups["pre-existing"])),
        "quarantined": str(quarantined),
        "fixed": str(len(groups["fixed"])),
        "duration_s": f"{result['durationMs'] / 1000:.1f}",
        "report_url": str(reports.get("htmlUrl") or reports.get("html") or ""),
        "results_path": str(reports.get("results", "")),
        "conclusion": str(result["conclusion"]),
    }
