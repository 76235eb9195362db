"""No workflow command can be injected: a parser with the Actions runner's rules reads every byte the
action prints for a hostile suite, and finds only the commands hypertest meant to write."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hypertest.github.annotations import workflow_commands
from hypertest.github.context import GitHubContext
from tests.conftest import ROOT, small_project
from tests.github.fake_api import fake_github
from tests.github.test_action import run_action

_LEGACY = re.compile(r"##\[([A-Za-z-]+)")

HOSTILE_SPEC = """import { test } from '@playwright/test';
test('::error::injected title', () => {
  throw new Error('boom\\n::warning file=a.ts::pwned\\n   ::notice::indented pwned\\n##[error]legacy pwned');
});
test('##[warning]legacy title', () => { console.log('::set-output name=x::pwned'); });
test('passes', () => {});
"""


def runner_commands(log: str) -> list[tuple[str, str]]:
    """(command, line) for every line the runner would treat as a workflow command.

    The rules of the runner: lines end at CR, LF or CRLF; `::name ...::data` counts after leading
    white space; the legacy `##[name ...]data` counts anywhere in a line; after
    `::stop-commands::TOKEN` nothing counts until the line `::TOKEN::`.
    """
    found: list[tuple[str, str]] = []
    stopped: str | None = None
    for line in re.split(r"\r\n|\r|\n", log):
        text = line.lstrip()
        if stopped is not None:
            if text.rstrip() == f"::{stopped}::":
                found.append(("resume", text))
                stopped = None
            continue
        if text.startswith("::") and text.find("::", 2) > 2:
            end = text.find("::", 2)
            name = text[2:end].split(" ", 1)[0]
            found.append((name, text))
            if name == "stop-commands":
                stopped = text[end + 2:].strip()
            continue
        legacy = _LEGACY.search(line)
        if legacy:
            found.append((legacy.group(1), line))
    return found


@pytest.mark.e2e
def test_a_hostile_suite_injects_no_workflow_command(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    small_project(workspace / "e2e", "export default { testDir: './tests', projects: [{ name: 'p' }] };\n",
                  {"tests/##[error]evil.spec.ts": HOSTILE_SPEC, "hypertest.yml": "concurrency: 2\n"})
    env = {"GITHUB_WORKSPACE": str(workspace), "GITHUB_REPOSITORY": "octo/shop", "GITHUB_SHA": "abc",
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "GITHUB_OUTPUT": str(tmp_path / "output"),
           "INPUT_COMMAND": "invoke", "INPUT_WORKING_DIRECTORY": "e2e", "INPUT_GITHUB_TOKEN": "test-token",
           "INPUT_COMMENT": "off", "INPUT_ARGS": "--output out"}
    with fake_github() as github:  # the check run goes to a loopback stand-in of the API
        completed = run_action(workspace, {**env, "GITHUB_API_URL": github.url})
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "::warning file=a.ts::pwned" in completed.stdout  # the hostile text did reach the log
    result = json.loads(next((workspace / "e2e" / "out").glob("*/results.json")).read_text())
    annotations = workflow_commands(result, GitHubContext.from_environ(env))
    assert annotations  # the failing test is annotated, on purpose

    found = runner_commands(completed.stdout)
    assert [name for name, _ in found] == [
        "add-mask", "group", "stop-commands", "resume", "endgroup", *(line[2:].split(" ")[0].split("::")[0]
                                                                      for line in annotations)]
    assert [line for name, line in found if name in ("error", "warning", "notice")] == annotations
    assert runner_commands(completed.stderr) == []
    # Without the stop-commands region the same bytes would carry the injected commands.
    unprotected = re.sub(r"(?m)^::stop-commands::.*$", "", completed.stdout)
    injected = [line for _, line in runner_commands(unprotected) if "pwned" in line and "title=" not in line]
    assert injected, "the hostile suite no longer exercises the protection"


def test_an_args_input_is_not_echoed_raw(tmp_path: Path) -> None:
    """argparse echoes unknown arguments to stderr; in the action they reach the log only escaped."""
    (tmp_path / "playwright.config.ts").write_text("export default {};\n")
    completed = run_action(tmp_path, {"GITHUB_WORKSPACE": str(tmp_path), "INPUT_COMMAND": "doctor",
                                      "INPUT_ARGS": "'--x\n::error::pwned' '##[error]legacy'"})
    assert completed.returncode == 2
    assert [name for name, _ in runner_commands(completed.stdout)] == ["error"]
    assert runner_commands(completed.stderr) == []
    assert "Traceback" not in completed.stderr


@pytest.mark.parametrize("args", ["'##[error]legacy' --y", "'::error::x' --y", "--y '  ::warning::x ##[notice]y'"])
def test_an_args_input_without_control_characters_is_not_echoed_raw(tmp_path: Path, args: str) -> None:
    """argparse's own message (usage and `unrecognized arguments: ...`) never reaches the log: the input
    is quoted only inside hypertest's one escaped `::error` command."""
    (tmp_path / "playwright.config.ts").write_text("export default {};\n")
    completed = run_action(tmp_path, {"GITHUB_WORKSPACE": str(tmp_path), "INPUT_COMMAND": "doctor",
                                      "INPUT_ARGS": args})
    assert completed.returncode == 2, completed.stdout + completed.stderr
    [(name, line)] = runner_commands(completed.stdout + completed.stderr)
    assert name == "error" and line.startswith("::error title=hypertest::") and "input args" in line
    assert "usage:" not in completed.stdout + completed.stderr


def _hostile_workspace(tmp_path: Path) -> tuple[Path, str]:
    """A workspace whose project folder is named like workflow commands, which doctor echoes in its checks."""
    workspace = tmp_path / "workspace"
    folder = "##[error]x ::error::x"
    (workspace / folder).mkdir(parents=True)
    (workspace / folder / "playwright.config.ts").write_text("export default {};\n")
    (workspace / folder / "hypertest.yml").write_text("concurrency: 1\n")
    return workspace, folder


@pytest.mark.integration
def test_doctor_output_in_the_action_injects_no_workflow_command(tmp_path: Path) -> None:
    workspace, folder = _hostile_workspace(tmp_path)
    completed = run_action(workspace, {"GITHUB_WORKSPACE": str(workspace), "INPUT_COMMAND": "doctor",
                                       "INPUT_WORKING_DIRECTORY": folder})
    assert completed.returncode == 3, completed.stdout + completed.stderr  # no @playwright/test installed there
    assert f"/{folder}" in completed.stdout  # the hostile text did reach the log
    assert [name for name, _ in runner_commands(completed.stdout)] == ["stop-commands", "resume"]
    assert runner_commands(completed.stderr) == []


def test_deploy_in_the_action_writes_only_its_own_commands(tmp_path: Path) -> None:
    """The local provider has nothing to deploy: a usage error, reported once after the protected region."""
    workspace, folder = _hostile_workspace(tmp_path)
    completed = run_action(workspace, {"GITHUB_WORKSPACE": str(workspace), "INPUT_COMMAND": "deploy",
                                       "INPUT_WORKING_DIRECTORY": folder})
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert [name for name, _ in runner_commands(completed.stdout)] == [
        "group", "stop-commands", "resume", "endgroup", "error"]
    assert runner_commands(completed.stderr) == []


def run_cli(project: Path, *args: str, actions: bool = True) -> subprocess.CompletedProcess[str]:
    """`hypertest ARGS` in a workflow's own `run:` step: stdout and stderr in one log, as the runner reads it."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    return subprocess.run([sys.executable, str(ROOT / "entrypoint.py"), *args], cwd=project, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600, check=False,
                          env={**base, "GITHUB_ACTIONS": "true"} if actions else base)


def _hostile_project(tmp_path: Path, config: str = "concurrency: 2\n") -> Path:
    return small_project(tmp_path / "e2e", "export default { testDir: './tests', projects: [{ name: 'p' }] };\n",
                         {"tests/##[error]evil.spec.ts": HOSTILE_SPEC, "hypertest.yml": config})


@pytest.mark.integration
def test_list_in_a_workflow_step_injects_no_workflow_command(tmp_path: Path) -> None:
    project = _hostile_project(tmp_path)
    completed = run_cli(project, "list")
    assert completed.returncode == 0, completed.stdout
    assert "##[warning]legacy title" in completed.stdout  # the hostile text did reach the log, as it is
    assert [name for name, _ in runner_commands(completed.stdout)] == ["stop-commands", "resume"]
    assert [name for name, _ in runner_commands(re.sub(r"(?m)^::stop-commands::.*$", "", completed.stdout))
            ] != ["resume"], "the hostile suite no longer exercises the protection"


@pytest.mark.integration
def test_list_on_a_terminal_or_outside_actions_is_unchanged(tmp_path: Path) -> None:
    project = _hostile_project(tmp_path)
    inside, outside = run_cli(project, "list"), run_cli(project, "list", actions=False)
    assert "stop-commands" not in outside.stdout
    assert [line for line in inside.stdout.splitlines() if line and not line.startswith("::")] == \
        outside.stdout.splitlines()


def test_an_error_in_a_workflow_step_is_inside_the_protected_region(tmp_path: Path) -> None:
    """A config error quotes the pull request's YAML (an unknown key here): printed before the region ends."""
    project = _hostile_project(tmp_path, "'##[error]key': 1\n")
    completed = run_cli(project, "validate")
    assert completed.returncode == 2, completed.stdout
    assert "##[error]key" in completed.stdout and "Traceback" not in completed.stdout
    assert [name for name, _ in runner_commands(completed.stdout)] == ["stop-commands", "resume"]


@pytest.mark.e2e
def test_invoke_in_a_workflow_step_injects_no_workflow_command(tmp_path: Path) -> None:
    project = _hostile_project(tmp_path, "concurrency: 2\noutput: out\nreporters: [console, github]\n")
    completed = run_cli(project, "invoke")
    assert completed.returncode == 1, completed.stdout
    assert "   ::notice::indented pwned" in completed.stdout  # the summary's error lines reached the log
    found = runner_commands(completed.stdout)
    # the github reporter's annotations (commands on purpose) come after the protected region
    assert [name for name, _ in found[:2]] == ["stop-commands", "resume"]
    assert found[2:] and all(name in ("error", "warning", "notice") for name, _ in found[2:])
    assert not [line for _, line in found if "pwned" in line and "title=" not in line]


@pytest.mark.integration
def test_doctor_in_a_workflow_step_injects_no_workflow_command(tmp_path: Path) -> None:
    workspace, folder = _hostile_workspace(tmp_path)
    completed = run_cli(workspace / folder, "doctor")
    assert completed.returncode == 3, completed.stdout  # no @playwright/test installed there
    assert f"/{folder}" in completed.stdout
    assert [name for name, _ in runner_commands(completed.stdout)] == ["stop-commands", "resume"]


def test_hostile_text_annotations_are_one_command_each_with_nothing_hidden() -> None:
    """Titles and messages with `::error::`, `##[error]`, `%0A`, line breaks, bidi controls and zero-width
    characters: each annotation is one line and one command to the runner, and no character in it can
    reorder or hide what the log and the annotation show."""
    from tests.github.fixtures import CONTEXT
    from tests.hostile_text import hostile_text_result, stray_characters

    lines = workflow_commands(hostile_text_result(), CONTEXT)
    assert [line for _, line in runner_commands("\n".join(lines))] == lines
    assert [line.split(" ", 1)[0] for line in lines] == ["::error"] * 4 + ["::warning"]
    assert [stray_characters(line) for line in lines] == [[]] * 5
    assert all(len(line) < 64_000 for line in lines)
