"""Publishing to a pull request and the Checks API, against the loopback fake of GitHub's REST API
(tests/github/fake_api.py; GitHub itself cannot be reached from here)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hypertest.github.comment import MARKER
from hypertest.github.inputs import read_inputs
from hypertest.github.publication import outputs_of, publish
from tests.conftest import ROOT
from tests.github.fake_api import FakeGitHub, fake_github
from tests.github.fixtures import hostile_result


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with fake_github() as state:
        yield state


def event(tmp_path: Path, *, fork: bool = False) -> Path:
    path = tmp_path / "event.json"
    head = "someone/shop" if fork else "octo/shop"
    path.write_text(json.dumps({"pull_request": {"number": 7, "head": {"repo": {"full_name": head, "fork": fork}},
                                                 "base": {"repo": {"full_name": "octo/shop"}}}}))
    return path


def environ(github: FakeGitHub, tmp_path: Path, *, fork: bool = False, **inputs: str) -> dict[str, str]:
    env = {"GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": "octo/shop", "GITHUB_SHA": "0123abcd",
           "GITHUB_RUN_ID": "4242", "GITHUB_WORKSPACE": "/ws", "GITHUB_EVENT_NAME": "pull_request",
           "GITHUB_EVENT_PATH": str(event(tmp_path, fork=fork)), "GITHUB_OUTPUT": str(tmp_path / "output"),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "INPUT_GITHUB_TOKEN": "test-token"}
    env.update({f"INPUT_{k.upper()}": v for k, v in inputs.items()})
    return env


def run_publish(env: dict[str, str], result: dict | None = None) -> str:
    out = io.StringIO()
    publish(result or hostile_result(extra_tests=25), read_inputs(env), env, out)
    return out.getvalue()


def test_comment_is_created_then_updated_in_place(github: FakeGitHub, tmp_path: Path) -> None:
    env = environ(github, tmp_path)
    run_publish(env)
    run_publish(env)
    [comment] = github.comments[7]
    assert comment["body"].startswith(MARKER)
    assert [m for m, p in github.requests if p.endswith("/comments")].count("POST") == 1
    assert ("PATCH", f"/repos/octo/shop/issues/comments/{comment['id']}") in github.requests


def test_failures_mode_refreshes_a_red_comment_when_green_and_creates_none(github: FakeGitHub,
                                                                          tmp_path: Path) -> None:
    env = environ(github, tmp_path, comment="failures")
    green = {**hostile_result(), "conclusion": "passed"}
    run_publish(env, green)
    assert 7 not in github.comments or not github.comments[7]
    run_publish(env)  # red: created
    run_publish(env, green)  # green again: the red one is updated
    [comment] = github.comments[7]
    assert "hypertest passed" in comment["body"]


def test_check_run_carries_every_annotation_in_batches(github: FakeGitHub, tmp_path: Path) -> None:
    out = run_publish(environ(github, tmp_path), hostile_result(extra_tests=200))
    [run] = github.check_runs.values()
    failures = sum(1 for a in run["annotations"] if a["annotation_level"] == "failure")
    assert failures == 5 + 67  # every unexpected test, beyond the 10 workflow commands
    assert len([p for m, p in github.requests if m == "PATCH" and "check-runs" in p]) == 1  # 50 + 23
    assert out.count("::error ") == 10 and "more errors are in the job summary" in out


@pytest.mark.parametrize("status", [403, 404])
def test_missing_permission_degrades_with_one_warning(github: FakeGitHub, tmp_path: Path, status: int) -> None:
    github.refuse = status
    out = run_publish(environ(github, tmp_path, annotations="false"))
    assert out.count("::warning::") == 1 and f"HTTP {status}" in out
    assert (tmp_path / "summary.md").read_text().startswith("## ❌")  # the summary still has everything


def test_fork_pull_requests_get_the_summary_only(github: FakeGitHub, tmp_path: Path) -> None:
    out = run_publish(environ(github, tmp_path, fork=True, annotations="false"))
    assert "fork" in out and out.count("::warning::") == 1
    assert not any(m == "POST" for m, _ in github.requests)


def test_secondary_rate_limit_is_waited_out(github: FakeGitHub, tmp_path: Path) -> None:
    github.rate_limited = 1
    run_publish(environ(github, tmp_path, annotations="false"))
    assert len(github.comments[7]) == 1


def test_outputs_use_random_delimiters(github: FakeGitHub, tmp_path: Path) -> None:
    env = environ(github, tmp_path, comment="off", annotations="false")
    result = hostile_result()
    run_publish(env, result)
    text = (tmp_path / "output").read_text()
    parsed = {}
    lines = iter(text.splitlines())
    for line in lines:
        name, delimiter = line.split("<<")
        assert delimiter.startswith("ht_") and len(delimiter) > 20
        value = []
        for inner in lines:
            if inner == delimiter:
                break
            value.append(inner)
        parsed[name] = "\n".join(value)
    assert parsed == outputs_of(result)
    assert parsed["conclusion"] == "failed" and parsed["failed"] == "3" and parsed["interrupted"] == "1"


def test_report_renders_from_an_existing_results_json(tmp_path: Path, cli) -> None:
    from hypertest.github.comment import render_comment
    from hypertest.github.context import GitHubContext
    from hypertest.github.summary import render_summary

    result = hostile_result()
    path = tmp_path / "results.json"
    path.write_text(json.dumps(result))
    outcome = cli("report", str(path), "--summary", str(tmp_path / "s.md"), "--comment", str(tmp_path / "c.md"),
                  "--junit", str(tmp_path / "j.xml"), "--annotations", cwd=tmp_path)
    assert outcome.code == 1  # the run it renders failed
    context = GitHubContext.from_environ()  # the same environment the command saw
    assert (tmp_path / "s.md").read_text() == render_summary(result, context)
    assert (tmp_path / "c.md").read_text() == render_comment(result, context)
    assert "<testsuites" in (tmp_path / "j.xml").read_text()
    assert outcome.out.count("::error ") == 5
    path.write_text("{}")
    broken = cli("report", str(path), cwd=tmp_path)
    assert broken.code == 2 and "not a hypertest results.json" in broken.err


@pytest.mark.e2e
def test_the_github_reporter_publishes_from_a_run_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`reporters: [console, github]` in a workflow's own `run: hypertest invoke` step: summary, annotations
    and outputs, through the reporters' registry."""
    from tests.conftest import small_project

    project = small_project(tmp_path / "p", "export default { testDir: './tests' };\n", {
        "tests/a.spec.ts": "import { test, expect } from '@playwright/test';\n"
                           "test('passes', () => {});\ntest('fails', () => { expect(1).toBe(2); });\n",
        "hypertest.yml": "reporters: [console, github]\n"})
    for key in [k for k in os.environ if k.startswith(("GITHUB_", "INPUT_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "outputs"))
    completed = subprocess.run([sys.executable, str(ROOT / "entrypoint.py"), "invoke", "--output",
                                str(tmp_path / "out")], cwd=project, capture_output=True, text=True, timeout=300,
                               check=False)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert (tmp_path / "summary.md").read_text().startswith("## ❌ hypertest failed: 1 failed, 1 passed")
    assert "\nfailed\n" in (tmp_path / "outputs").read_text()
    assert [line for line in completed.stdout.splitlines() if line.startswith("::error file=")]
