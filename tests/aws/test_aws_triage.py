"""Failure triage through the AWS stand-in: the history lives in the bucket, two runs of the base branch and one of
a pull request's (each with a fresh output folder, as CI jobs have) name each failing test's class."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hypertest.core.history import branch_key
from tests.aws.conftest import BUCKET, FUNCTION, REGION, AwsWorld, aws_world
from tests.conftest import ROOT, SUITE, CliResult, copy_suite, load_results
from tests.history_files import TRIAGE_SUITE_CLASSES, as_ci_job

TRIAGE = ROOT / "tests" / "fixtures" / "triage_suite"


@pytest.fixture
def triage_aws(moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsWorld]:
    """The stand-in serving the triage suite (with the fidelity suite's Playwright)."""
    source = copy_suite(TRIAGE, tmp_path / "source")
    (source / "node_modules").unlink()
    (source / "node_modules").symlink_to(SUITE / "node_modules")
    for name in ("GITHUB_HEAD_REF", "GITHUB_REF_NAME", "GITHUB_BASE_REF", "GITHUB_SHA", "TRIAGE_PHASE", "TRIAGE_RUN",
                 "TRIAGE_STATE"):
        monkeypatch.delenv(name, raising=False)
    with aws_world(moto, tmp_path, monkeypatch, source=source) as world:
        yield world


def invoke_as(aws: AwsWorld, cli: Any, monkeypatch: pytest.MonkeyPatch, output: Path, *, run: str, phase: str,
              branch: str, base: str | None = None) -> CliResult:
    """One CI job's invoke on the branch: the function's tests read the phase and run from the project's files."""
    (aws.project / "phase.txt").write_text(phase)
    (aws.project / "run.txt").write_text(run)
    as_ci_job(monkeypatch, branch, base)
    settings = {"region": REGION, "bucket": BUCKET, "functionName": FUNCTION, "timeout": 120,
                "endpoints": {"lambda": aws.standin.url, "s3": aws.moto, "sts": aws.moto}, "drift": "ignore"}
    (aws.project / "hypertest.yml").write_text(json.dumps({
        "testRunner": {"retries": 1}, "provider": {"type": "aws", "aws": settings}, "concurrency": 3,
        "reporters": ["console", "junit"]}))
    return cli("invoke", "--output", str(output), "--run-id", run, cwd=aws.project)


@pytest.mark.e2e
def test_a_pull_request_run_on_lambda_names_each_failure_from_the_history_in_s3(
        triage_aws: AwsWorld, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for number in (1, 2):
        base_run = invoke_as(triage_aws, cli, monkeypatch, tmp_path / f"base{number}", run=f"base{number}",
                             phase="base", branch="main")
        assert base_run.code == 1, base_run.out + base_run.err
    assert len(triage_aws.keys(f"hypertest/history/{branch_key('main')}/")) == 2
    pr = invoke_as(triage_aws, cli, monkeypatch, tmp_path / "pr", run="pr1", phase="pr", branch="feature/x",
                   base="main")
    assert pr.code == 1, pr.out + pr.err
    document = load_results(tmp_path / "pr")
    classes = {record["titlePath"][-1]: record.get("triage", {}).get("class") for record in document["tests"]}
    assert classes == TRIAGE_SUITE_CLASSES
    assert document["triage"]["baseRuns"] == ["base2", "base1"]
    assert document["triage"]["history"] == "s3://ht-artifacts/hypertest/history"
    assert len(triage_aws.keys(f"hypertest/history/{branch_key('feature/x')}/")) == 1
    assert not (tmp_path / "pr" / ".history").exists()  # nothing of the history on the machine
