"""Failure triage end to end through the local provider and real Playwright: two runs on a base branch and one on
a pull request's branch, sharing one history folder (as actions/cache keeps it between CI jobs), name each failing
test's class; quarantine takes failures out of the exit code; the next run on a fresh machine orders and packs
from the history."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from hypertest.github.comment import render_comment
from hypertest.github.markdown import facts_table
from tests.conftest import ROOT, SUITE, CliResult, copy_suite, load_results
from tests.github.fixtures import CONTEXT
from tests.history_files import TRIAGE_SUITE_CLASSES, as_ci_job

TRIAGE = ROOT / "tests" / "fixtures" / "triage_suite"
GITHUB_VARIABLES = ("GITHUB_HEAD_REF", "GITHUB_REF_NAME", "GITHUB_BASE_REF", "GITHUB_SHA")


@pytest.fixture
def triage_suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the triage suite using the fidelity suite's Playwright, with a state folder for the flaky test."""
    project = copy_suite(TRIAGE, tmp_path / "suite")
    (project / "node_modules").unlink()
    (project / "node_modules").symlink_to(SUITE / "node_modules")
    (tmp_path / "state").mkdir()
    monkeypatch.setenv("TRIAGE_STATE", str(tmp_path / "state"))
    for name in GITHUB_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return project


def run_as(cli: Any, monkeypatch: pytest.MonkeyPatch, project: Path, output: Path, *, run: str, phase: str,
           branch: str, base: str | None = None, config: str = "") -> CliResult:
    """One `hypertest invoke` as a CI job of that branch would run it (a fresh output folder, the shared history)."""
    monkeypatch.setenv("TRIAGE_PHASE", phase)
    monkeypatch.setenv("TRIAGE_RUN", run)
    monkeypatch.setenv("GITHUB_SHA", f"{run:0<40}"[:40])
    as_ci_job(monkeypatch, branch, base)
    history = project.parent / "history"
    (project / "hypertest.yml").write_text(
        "testRunner:\n  retries: 1\nconcurrency: 2\nreporters: [console, junit]\n"
        f"history:\n  path: {json.dumps(str(history))}\n{config}")
    return cli("invoke", "--output", str(output), "--run-id", run, cwd=project)


def by_title(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {record["titlePath"][-1]: record for record in document["tests"]}


@pytest.mark.e2e
def test_a_pull_request_run_names_each_failure_against_the_base_branch(
        cli: Any, triage_suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for number in (1, 2):
        base_run = run_as(cli, monkeypatch, triage_suite, tmp_path / f"base{number}", run=f"base{number}",
                          phase="base", branch="main")
        assert base_run.code == 1, base_run.out + base_run.err  # broken before the change fails on main
    pr = run_as(cli, monkeypatch, triage_suite, tmp_path / "pr", run="pr1", phase="pr", branch="feature/x",
                base="main")
    assert pr.code == 1, pr.out + pr.err
    document = load_results(tmp_path / "pr")
    records = by_title(document)
    classes = {title: record.get("triage", {}).get("class") for title, record in records.items()}
    assert classes == TRIAGE_SUITE_CLASSES
    assert records["breaks in the change"]["triage"]["runs"] == ["base2", "base1"]
    assert "passed in main's latest run (base2)" in records["breaks in the change"]["triage"]["evidence"]
    assert records["broken before the change"]["triage"]["runs"] == ["base2", "base1"]
    assert records["fixed by the change"]["triage"]["runs"] == ["base2"]
    flaky = records["flaky"]["triage"]
    assert flaky["rate"] == 1.0 and flaky["runs"] == ["base2", "base1"]
    assert "passed on attempt 2 of 2 here; flaked in 2 of the last 2 runs" in flaky["evidence"]
    assert document["triage"]["base"] == "main" and document["triage"]["branch"] == "feature/x"
    assert document["triage"]["baseRuns"] == ["base2", "base1"]
    assert document["triage"]["counts"] == {"new": 1, "preExisting": 1, "flaky": 1, "infra": 0, "fixed": 1,
                                            "quarantined": 0}
    comment = render_comment(document, CONTEXT)  # the PR comment names each class, new failures first
    sections = [line for line in comment.splitlines() if line.startswith(("#### ", "**"))]
    assert sections[0] == "#### New failures (1)" and "breaks in the change" in comment.split("#### New")[1]
    for heading, title in (("**Pre-existing failures (1)**", "broken before the change"), ("**Flaky (1)**", "flaky"),
                           ("**Fixed (1)**", "fixed by the change")):
        assert any(line.startswith(heading) and title in line for line in sections), (heading, sections)
    assert "breaks in the change" not in "".join(sections[1:])  # a new failure is not listed again

    # quarantining the pre-existing failure leaves the new one failing the run; quarantining both passes it
    one = run_as(cli, monkeypatch, triage_suite, tmp_path / "pr2", run="pr2", phase="pr", branch="feature/x",
                 base="main", config="quarantine:\n  tests: ['triage.spec.ts › broken before the change']\n")
    assert one.code == 1, one.out + one.err
    assert load_results(tmp_path / "pr2")["stats"]["quarantined"] == 1
    new_id = records["breaks in the change"]["id"]
    both = run_as(cli, monkeypatch, triage_suite, tmp_path / "pr3", run="pr3", phase="pr", branch="feature/x",
                  base="main", config=f"quarantine:\n  tests: ['triage.spec.ts › broken before the change', "
                                      f"{json.dumps(new_id)}]\n")
    assert both.code == 0, both.out + both.err
    quarantined = load_results(tmp_path / "pr3")
    assert quarantined["conclusion"] == "passed" and quarantined["stats"]["quarantined"] == 2
    assert quarantined["stats"]["failed"] == 2  # reported as they are, not hidden
    assert all(by_title(quarantined)[title]["quarantined"] for title in ("breaks in the change",
                                                                          "broken before the change"))


@pytest.mark.e2e
def test_the_next_ci_run_orders_and_packs_from_the_history_in_a_fresh_output_folder(
        cli: Any, triage_suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = "  granularity: auto\n"
    (triage_suite / "tests" / "slow.spec.ts").write_text(
        "import { test } from '@playwright/test';\n\n"
        "test('slow', async () => { await new Promise((done) => setTimeout(done, 1500)); });\n")
    first = run_as(cli, monkeypatch, triage_suite, tmp_path / "first", run="first", phase="base", branch="main",
                   config="")
    assert first.code == 1
    assert "no short tests with past durations to pack" not in first.out  # granularity test: no packing asked
    (triage_suite / "hypertest.yml").write_text((triage_suite / "hypertest.yml").read_text().replace(
        "testRunner:\n", "testRunner:\n" + config))
    monkeypatch.setenv("TRIAGE_RUN", "second")
    second = cli("invoke", "--output", str(tmp_path / "second"), "--run-id", "second", cwd=triage_suite)
    assert second.code == 1, second.out + second.err
    found = re.search(r"granularity auto: (\d+) short tests .*packed into (\d+) units", second.out)
    assert found and int(found.group(2)) < int(found.group(1)), second.out  # packed from the first run's times
    document = load_results(tmp_path / "second")
    assert document["history"] == {"where": str(tmp_path / "history"), "runs": 1, "timedTests": 6,
                                   "order": "longest first"}
    assert "history: 1 past run in" in second.out and "6 tests with a past duration, longest first" in second.out
    table = facts_table(document)  # the job summary's and the PR comment's facts table says it
    assert "| History |" in table.splitlines()[0]
    assert "1 past run: longest first" in table and "packed:" in table, table
    starts = sorted(document["units"], key=lambda unit: unit["startedAt"])
    first_two = [test for unit in starts[:2] for test in unit["tests"]]  # two slots start at once
    assert by_title(document)["slow"]["id"] in first_two, starts  # the longest first
