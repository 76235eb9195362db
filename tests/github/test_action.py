"""The action as GitHub runs it: entrypoint.py with INPUT_* variables, the GITHUB_* files and a
workspace; plus meta-tests that action.yml, the code and the documents agree (inputs in docs/action.md,
outputs in the README)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hypertest.errors import UsageError
from hypertest.github.inputs import DEFAULTS, read_inputs
from hypertest.github.publication import outputs_of
from tests.conftest import DEMO, ROOT, copy_suite
from tests.github.fake_api import fake_github

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


def test_every_input_is_read_and_documented() -> None:
    declared = ACTION["inputs"]
    assert set(declared) == set(DEFAULTS)
    for name, spec in declared.items():
        if name != "github_token":
            assert str(spec.get("default", "")) == DEFAULTS[name], name
    action_doc = (ROOT / "docs" / "action.md").read_text()
    for name in declared:
        assert f"`{name}`" in action_doc, f"input {name} is not documented in docs/action.md"
    fields = read_inputs({}).__dataclass_fields__
    assert set(declared) == set(fields)


def test_every_output_is_written_and_documented() -> None:
    from tests.github.fixtures import hostile_result

    assert set(ACTION["outputs"]) == set(outputs_of(hostile_result()))
    readme = (ROOT / "README.md").read_text()
    for name in ACTION["outputs"]:
        assert f"`{name}`" in readme, f"output {name} is not documented in the README"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("annotations", "yes", "input annotations: 'yes' is not a boolean"),
    ("fail_on_flaky", "1", "input fail_on_flaky: '1' is not a boolean"),
    ("comment", "sometimes", "input comment: 'sometimes' is not one of always, failures, off"),
    ("command", "destroy", "input command: 'destroy' is not one of"),
    ("concurrency", "0", "input concurrency: '0' is not a whole number"),
    ("concurrency", "²", "input concurrency: '²' is not a whole number"),
    ("concurrency", "100000000000000000000", "is not a whole number from 1 to 10000"),
    ("args", "--grep 'unclosed", "input args:"),
])
def test_bad_inputs_name_the_input(name: str, value: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        read_inputs({f"INPUT_{name.upper()}": value})


def run_action(workspace: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    return subprocess.run([sys.executable, str(ROOT / "entrypoint.py")], cwd=workspace, capture_output=True,
                          text=True, timeout=600, env={**base, "GITHUB_ACTIONS": "true", **env}, check=False)


@pytest.mark.e2e
def test_the_action_runs_invoke_and_publishes_everything(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    copy_suite(DEMO, workspace / "e2e")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 3, "head": {"repo": {"full_name": "octo/shop"}},
                                                  "base": {"repo": {"full_name": "octo/shop"}}}}))
    with fake_github() as github:
        completed = run_action(workspace, {
            "GITHUB_WORKSPACE": str(workspace), "GITHUB_REPOSITORY": "octo/shop", "GITHUB_SHA": "abc",
            "GITHUB_RUN_ID": "9", "GITHUB_API_URL": github.url, "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event), "GITHUB_OUTPUT": str(tmp_path / "output"),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "INPUT_COMMAND": "invoke",
            "INPUT_WORKING_DIRECTORY": "e2e", "INPUT_GITHUB_TOKEN": "test-token", "INPUT_COMMENT": "always",
            "INPUT_CONCURRENCY": "2", "INPUT_ARGS": "--grep 'title|heading' --output out"})
        assert completed.returncode == 0, completed.stdout + completed.stderr
        assert "::add-mask::test-token" in completed.stdout
        assert "::group::hypertest invoke" in completed.stdout and "::endgroup::" in completed.stdout
        summary = (tmp_path / "summary.md").read_text()
        assert summary.startswith("## ✅ hypertest passed: 2 passed of 2 tests")
        assert "https://github.com/octo/shop/blob/abc/e2e/tests/page.spec.ts#L" in summary
        [comment] = github.comments[3]
        assert "hypertest passed" in comment["body"]
    outputs = (tmp_path / "output").read_text()
    assert "conclusion<<" in outputs and "\npassed\n" in outputs
    results = next((workspace / "e2e" / "out").glob("*/results.json"))
    assert json.loads(results.read_text())["stats"]["passed"] == 2


def test_a_bad_input_fails_the_step_with_one_clear_error(tmp_path: Path) -> None:
    completed = run_action(tmp_path, {"GITHUB_WORKSPACE": str(tmp_path), "INPUT_SUMMARY": "maybe"})
    assert completed.returncode == 2
    assert completed.stdout.startswith("::error title=hypertest::error: input summary: 'maybe' is not a boolean")
    assert "Traceback" not in completed.stderr


def test_args_a_command_does_not_take_are_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "playwright.config.ts").write_text("export default {};\n")
    completed = run_action(tmp_path, {"GITHUB_WORKSPACE": str(tmp_path), "INPUT_COMMAND": "doctor",
                                      "INPUT_ARGS": "--no-such-flag"})
    assert completed.returncode == 2
    assert "input args: '--no-such-flag' are not valid for `hypertest doctor`" in completed.stdout
