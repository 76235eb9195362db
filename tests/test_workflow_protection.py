"""In a workflow (GITHUB_ACTIONS=true) nothing hypertest prints is a workflow command it did not mean: every
command, `report` and `init` included, and every usage error (argparse's too) is printed inside one
`::stop-commands::` region; the environment's secrets are masked first; `report --annotations` comes after the
region. Checked over every case of the bad-input corpus, in-process and end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT, CliResult
from tests.github.fixtures import hostile_result
from tests.github.test_workflow_commands import runner_commands
from tests.test_hostile_cli import CASES, project, run_case  # noqa: F401  (project: the corpus's fixture)

Cli = Callable[..., CliResult]
SECRET = "canary-secret-value-0123456789"
OURS = ("add-mask", "stop-commands", "resume")


def injected(log: str) -> list[tuple[str, str]]:
    """The workflow commands of log that hypertest did not write on purpose."""
    return [(name, line) for name, line in runner_commands(log)
            if name not in OURS and not line.startswith(("::error title=hypertest::", "::warning ", "::error ",
                                                          "::notice "))]


@pytest.fixture
def workflow(monkeypatch: pytest.MonkeyPatch) -> None:
    """A `run:` step of a workflow, with a secret in the environment."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)


@pytest.mark.parametrize(("argv", "config", "expected"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
@pytest.mark.usefixtures("workflow")
def test_no_case_lets_a_workflow_command_through(cli: Cli, project: Path, argv: list[str],  # noqa: F811
                                                 config: str | None, expected: str) -> None:
    result = run_case(cli, project, argv, config)
    said = result.out + result.err
    assert result.code == 2, said
    assert "Traceback" not in said
    assert expected in result.out, "the error is printed inside the region"
    assert result.out.startswith(f"::add-mask::{SECRET}\n::stop-commands::"), result.out[:300]
    assert [name for name, _ in runner_commands(result.out)] == ["add-mask", "stop-commands", "resume"]
    assert runner_commands(result.err) == [] and "##[" not in result.err


def _results(folder: Path) -> Path:
    (folder / "results.json").write_text(json.dumps(hostile_result()), encoding="utf-8")
    return folder / "results.json"


@pytest.mark.parametrize("flag", ["--summary", "--comment"])
@pytest.mark.usefixtures("workflow")
def test_report_to_stdout_is_inside_the_region(cli: Cli, tmp_path: Path, flag: str) -> None:
    _results(tmp_path)
    result = cli("report", "results.json", flag, "-", cwd=tmp_path)
    assert result.code == 1, result.out + result.err
    assert "::error::x" in result.out  # the hostile text did reach the log
    assert [name for name, _ in runner_commands(result.out)] == ["add-mask", "stop-commands", "resume"]
    assert runner_commands(result.err) == []


@pytest.mark.usefixtures("workflow")
def test_report_annotations_come_after_the_region(cli: Cli, tmp_path: Path) -> None:
    _results(tmp_path)
    result = cli("report", "results.json", "--summary", "-", "--annotations", cwd=tmp_path)
    assert result.code == 1, result.out + result.err
    found = runner_commands(result.out)
    assert [name for name, _ in found[:3]] == ["add-mask", "stop-commands", "resume"]
    assert found[3:] and all(name in ("error", "warning", "notice") for name, _ in found[3:])
    assert not injected(result.out)


@pytest.mark.usefixtures("workflow")
def test_init_prints_inside_the_region(cli: Cli, tmp_path: Path) -> None:
    result = cli("init", cwd=tmp_path)
    assert result.code == 0, result.out + result.err
    assert "wrote " in result.out
    assert [name for name, _ in runner_commands(result.out)] == ["add-mask", "stop-commands", "resume"]


@pytest.mark.usefixtures("workflow")
def test_help_and_version_print_inside_the_region(cli: Cli, tmp_path: Path) -> None:
    for argv in (["--version"], ["list", "--help"]):
        result = cli(*argv, cwd=tmp_path)
        assert result.code == 0
        assert [name for name, _ in runner_commands(result.out)] == ["add-mask", "stop-commands", "resume"]


def test_outside_a_workflow_nothing_is_masked_or_protected(cli: Cli, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    result = cli("list", "--granularity", "suite", cwd=tmp_path)
    assert result.code == 2 and "invalid choice" in result.err
    assert "::" not in result.out + result.err


def _entrypoint(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python entrypoint.py ARGS` in a `run:` step; stdout and stderr kept apart (the runner reads both)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    return subprocess.run([sys.executable, str(ROOT / "entrypoint.py"), *args], cwd=folder, capture_output=True,
                          text=True, timeout=120, check=False,
                          env={**base, "GITHUB_ACTIONS": "true", "GH_TOKEN": SECRET})


@pytest.mark.parametrize("argv", [
    ["list", "--granularity", "##[set-output name=x;]INJ"],
    ["validate", "--bogus", "##[error]bogus"],
    ["invoke", "--concurrency", "##[error]many"],
    ["##[error]command"],
    ["validate", "--config", "a-fifo"],
], ids=["granularity", "unknown flag", "concurrency", "command", "fifo config"])
def test_end_to_end_a_usage_error_is_protected_on_both_streams(tmp_path: Path, argv: list[str]) -> None:
    os.mkfifo(tmp_path / "a-fifo")
    completed = _entrypoint(tmp_path, *argv)
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stdout + completed.stderr
    assert completed.stdout.startswith(f"::add-mask::{SECRET}\n")
    assert [name for name, _ in runner_commands(completed.stdout)] == ["add-mask", "stop-commands", "resume"]
    assert runner_commands(completed.stderr) == [] and "##[" not in completed.stderr
    assert "error: " in completed.stdout


def test_end_to_end_report_summary_is_protected(tmp_path: Path) -> None:
    _results(tmp_path)
    completed = _entrypoint(tmp_path, "report", "results.json", "--summary", "-", "--annotations")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    found = runner_commands(completed.stdout)
    assert [name for name, _ in found[:3]] == ["add-mask", "stop-commands", "resume"]
    assert not injected(completed.stdout) and runner_commands(completed.stderr) == []
