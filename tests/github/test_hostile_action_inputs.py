"""The action with hostile inputs, run in-process as GitHub runs it: each is refused with one `::error` line
(exit 2) that names the input, stays on one screen and carries no traceback or injected workflow command;
working_directory and config cannot leave GITHUB_WORKSPACE, whatever links lie in the way."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from hypertest.errors import UsageError
from hypertest.github.action import run_action
from hypertest.github.inputs import read_inputs
from hypertest.github.workspace import confined_config, confined_folder
from tests.github.test_workflow_commands import runner_commands

Setup = Callable[[Path], None]  # gets the workspace; its parent is outside it


def _nothing(workspace: Path) -> None:
    pass


def _outside_folder(workspace: Path) -> None:
    (workspace.parent / "outside").mkdir()
    (workspace.parent / "outside" / "hypertest.yml").write_text("version: 1\n")


def _folder_link_out(workspace: Path) -> None:
    _outside_folder(workspace)
    (workspace / "out").symlink_to(workspace.parent / "outside")


def _link_loop(workspace: Path) -> None:
    (workspace / "loop").symlink_to(workspace / "loop")


def _config_outside(workspace: Path) -> None:
    (workspace.parent / "secret.yml").write_text("version: 1\n")


def _config_link_out(workspace: Path) -> None:
    _config_outside(workspace)
    (workspace / "e2e" / "linked.yml").symlink_to(workspace.parent / "secret.yml")


def _config_link_loop(workspace: Path) -> None:
    (workspace / "e2e" / "a.yml").symlink_to(workspace / "e2e" / "b.yml")
    (workspace / "e2e" / "b.yml").symlink_to(workspace / "e2e" / "a.yml")


def _config_folder_link_out(workspace: Path) -> None:
    _outside_folder(workspace)
    (workspace / "e2e" / "conf").symlink_to(workspace.parent / "outside")


def _a_file(workspace: Path) -> None:
    (workspace / "e2e" / "notes.txt").write_text("not a folder\n")


# (case id, INPUT_* values over the defaults, what the workspace holds first, the input the error names)
CASES: list[tuple[str, dict[str, str], Setup, str]] = [
    ("working_directory ../x", {"WORKING_DIRECTORY": "../outside"}, _outside_folder, "working_directory"),
    ("working_directory e2e/../../x", {"WORKING_DIRECTORY": "e2e/../../outside"}, _outside_folder,
     "working_directory"),
    ("working_directory absolute outside", {"WORKING_DIRECTORY": "/etc"}, _nothing, "working_directory"),
    ("working_directory is /", {"WORKING_DIRECTORY": "/"}, _nothing, "working_directory"),
    ("working_directory links outside", {"WORKING_DIRECTORY": "out"}, _folder_link_out, "working_directory"),
    ("working_directory is a link loop", {"WORKING_DIRECTORY": "loop"}, _link_loop, "working_directory"),
    ("working_directory below a link loop", {"WORKING_DIRECTORY": "loop/e2e"}, _link_loop, "working_directory"),
    ("working_directory missing", {"WORKING_DIRECTORY": "nope"}, _nothing, "working_directory"),
    ("working_directory is a file", {"WORKING_DIRECTORY": "e2e/notes.txt"}, _a_file, "working_directory"),
    ("working_directory with NUL", {"WORKING_DIRECTORY": "e2e\x00"}, _nothing, "working_directory"),
    ("working_directory with a line break", {"WORKING_DIRECTORY": "e2e\n::error::pwned"}, _nothing,
     "working_directory"),
    ("working_directory with ESC", {"WORKING_DIRECTORY": "e2e\x1b[2J"}, _nothing, "working_directory"),
    ("config absolute /etc/passwd", {"CONFIG": "/etc/passwd"}, _nothing, "config"),
    ("config ../x", {"CONFIG": "../../secret.yml"}, _config_outside, "config"),
    ("config links outside", {"CONFIG": "linked.yml"}, _config_link_out, "config"),
    ("config in a folder linking outside", {"CONFIG": "conf/hypertest.yml"}, _config_folder_link_out, "config"),
    ("config is a link loop", {"CONFIG": "a.yml"}, _config_link_loop, "config"),
    ("config with a CR", {"CONFIG": "hypertest.yml\r::error::pwned"}, _nothing, "config"),
    ("config with a Unicode line separator", {"CONFIG": "hypertest.yml\u2028x"}, _nothing, "config"),
    ("config with a C1 control", {"CONFIG": "hyper\x85test.yml"}, _nothing, "config"),
    ("github_token with a line break", {"GITHUB_TOKEN": "ghs_abc\n::add-mask::x"}, _nothing, "github_token"),
    ("github_token with NUL", {"GITHUB_TOKEN": "ghs_\x00abc"}, _nothing, "github_token"),
    ("annotations yes", {"ANNOTATIONS": "yes"}, _nothing, "annotations"),
    ("summary maybe", {"SUMMARY": "maybe"}, _nothing, "summary"),
    ("fail_on_flaky 1", {"FAIL_ON_FLAKY": "1"}, _nothing, "fail_on_flaky"),
    ("boolean with an injected command", {"ANNOTATIONS": "true\n::error::pwned"}, _nothing, "annotations"),
    ("boolean tRUE", {"SUMMARY": "tRUE"}, _nothing, "summary"),
    ("comment sometimes", {"COMMENT": "sometimes"}, _nothing, "comment"),
    ("comment ALWAYS", {"COMMENT": "ALWAYS"}, _nothing, "comment"),
    ("command destroy", {"COMMAND": "destroy"}, _nothing, "command"),
    ("command with a shell", {"COMMAND": "invoke; rm -rf /"}, _nothing, "command"),
    ("command substitution", {"COMMAND": "$(id)"}, _nothing, "command"),
    ("command legacy workflow command", {"COMMAND": "##[error]pwned"}, _nothing, "command"),
    ("concurrency ²", {"CONCURRENCY": "²"}, _nothing, "concurrency"),
    ("concurrency 0", {"CONCURRENCY": "0"}, _nothing, "concurrency"),
    ("concurrency 10001", {"CONCURRENCY": "10001"}, _nothing, "concurrency"),
    ("concurrency 1e3", {"CONCURRENCY": "1e3"}, _nothing, "concurrency"),
    ("concurrency ' 5x'", {"CONCURRENCY": " 5x"}, _nothing, "concurrency"),
    ("concurrency -5", {"CONCURRENCY": "-5"}, _nothing, "concurrency"),
    ("concurrency +5", {"CONCURRENCY": "+5"}, _nothing, "concurrency"),
    ("concurrency 0x10", {"CONCURRENCY": "0x10"}, _nothing, "concurrency"),
    ("concurrency 5 6", {"CONCURRENCY": "5 6"}, _nothing, "concurrency"),
    ("concurrency 5_0", {"CONCURRENCY": "5_0"}, _nothing, "concurrency"),
    ("concurrency Arabic digits", {"CONCURRENCY": "٥"}, _nothing, "concurrency"),
    ("concurrency huge", {"CONCURRENCY": "9" * 5000}, _nothing, "concurrency"),
    ("args unbalanced quote", {"ARGS": "--grep 'unclosed"}, _nothing, "args"),
    ("args unbalanced double quote", {"ARGS": '--grep "a'}, _nothing, "args"),
    ("args trailing backslash", {"ARGS": "--grep a\\"}, _nothing, "args"),
    ("args unknown flag", {"ARGS": "--bogus"}, _nothing, "args"),
    ("args a flag doctor does not take", {"COMMAND": "doctor", "ARGS": "--concurrency 5"}, _nothing, "args"),
    ("args concurrency 0", {"ARGS": "--concurrency 0"}, _nothing, "args"),
    ("args a positional", {"ARGS": "rm -rf /"}, _nothing, "args"),
    ("args a run id with a path", {"ARGS": "--run-id ../../etc"}, _nothing, "args"),
    ("args ESC inside an argument", {"ARGS": "--grep 'a\x1b[31mb'"}, _nothing, "args"),
    ("args line break inside an argument", {"ARGS": "--grep 'a\n::error::pwned'"}, _nothing, "args"),
    ("args NUL", {"ARGS": "--grep a\x00b"}, _nothing, "args"),
    ("args --config around the config input", {"ARGS": "--config /etc/passwd"}, _nothing, "args"),
    ("args --config= around the config input", {"ARGS": "--config=../../secret.yml"}, _config_outside, "args"),
    ("args -c around the config input", {"COMMAND": "doctor", "ARGS": "-c/etc/passwd"}, _nothing, "args"),
    ("args abbreviated --conf", {"COMMAND": "doctor", "ARGS": "--conf /etc/passwd"}, _nothing, "args"),
]


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inputs: dict[str, str],
         setup: Setup) -> tuple[int, str]:
    workspace = tmp_path / "workspace"
    (workspace / "e2e").mkdir(parents=True)
    (workspace / "e2e" / "hypertest.yml").write_text("version: 1\n")
    (workspace / "e2e" / "playwright.config.ts").write_text("export default {};\n")
    setup(workspace)
    monkeypatch.chdir(tmp_path)  # run_action changes folder; the test restores it
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace), "INPUT_COMMAND": "invoke",
               "INPUT_WORKING_DIRECTORY": "e2e", **{f"INPUT_{name}": value for name, value in inputs.items()}}
    out = io.StringIO()
    code = run_action(environ, out)
    return code, out.getvalue()


@pytest.mark.parametrize(("inputs", "setup", "named"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_hostile_input_fails_the_step_with_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             inputs: dict[str, str], setup: Setup,
                                                             named: str) -> None:
    code, out = _run(tmp_path, monkeypatch, inputs, setup)
    assert code == 2, out
    assert "Traceback" not in out
    lines = out.splitlines()  # every line break Python knows, more than the runner's CR and LF
    assert len(lines) < 30 and max(len(line) for line in lines) < 1000
    errors = [line for line in lines if line.startswith("::error title=hypertest::")]
    assert len(errors) == 1, out
    assert f"input {named}:" in errors[0], errors[0]
    # one error command, and nothing of the input's became a command of its own
    assert [name for name, _ in runner_commands(out) if name != "add-mask"] == ["error"], out
    assert all(line.startswith(("::error title=hypertest::", "::add-mask::")) for line in lines), out
    token = inputs.get("GITHUB_TOKEN", "")
    if token:  # a token that is refused is not yet masked: it must not be printed
        assert "ghs_" not in errors[0]


def test_the_corpus_is_large() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("value", ["5", " 5 ", "10000", "1"])
def test_good_concurrency_values_still_read(value: str) -> None:
    assert read_inputs({"INPUT_CONCURRENCY": value}).concurrency == int(value)


def test_good_inputs_still_read() -> None:
    inputs = read_inputs({"INPUT_ARGS": "--grep '@smoke and more'\n--project chromium\n",
                          "INPUT_WORKING_DIRECTORY": " e2e/app\n", "INPUT_CONFIG": "ci/hypertest.yml\n",
                          "INPUT_GITHUB_TOKEN": "ghs_abc\n", "INPUT_ANNOTATIONS": "False"})
    assert inputs.args == ("--grep", "@smoke and more", "--project", "chromium")  # lines of a YAML block
    assert (inputs.working_directory, inputs.config, inputs.github_token) == ("e2e/app", "ci/hypertest.yml",
                                                                              "ghs_abc")
    assert inputs.annotations is False


def test_a_refused_token_is_never_printed() -> None:
    with pytest.raises(UsageError) as raised:
        read_inputs({"INPUT_GITHUB_TOKEN": "ghs_secret\n::add-mask::x"})
    assert "ghs_secret" not in raised.value.render()


def test_links_inside_the_workspace_are_followed(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    (workspace / "real" / "ci").mkdir(parents=True)
    (workspace / "real" / "ci" / "hypertest.yml").write_text("version: 1\n")
    (workspace / "alias").symlink_to(workspace / "real")
    (workspace / "real" / "linked.yml").symlink_to(workspace / "real" / "ci" / "hypertest.yml")
    folder = confined_folder(workspace, "alias")
    assert folder == workspace / "real"
    assert confined_config(folder, workspace, "linked.yml") == str(workspace / "real" / "ci" / "hypertest.yml")
    absolute = str(workspace / "real" / "ci" / "hypertest.yml")
    assert confined_config(folder, workspace, absolute) == absolute
    assert confined_folder(workspace, str(workspace)) == workspace  # ${{ github.workspace }} itself


def test_a_linked_workspace_confines_to_its_target(tmp_path: Path) -> None:
    (tmp_path / "real" / "e2e").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert confined_folder(tmp_path / "link", "e2e") == tmp_path / "real" / "e2e"
    with pytest.raises(UsageError, match=r"input working_directory: '\.\.' leads outside the workspace"):
        confined_folder(tmp_path / "link", "..")


def test_a_missing_config_is_left_to_the_settings_loader(tmp_path: Path) -> None:
    """A missing file inside the workspace is reported when the settings load (after the args input)."""
    assert confined_config(tmp_path, tmp_path, "missing.yml") == "missing.yml"


def test_without_github_workspace_the_current_folder_confines(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "workspace").mkdir()
    (tmp_path / "outside").mkdir()
    monkeypatch.chdir(tmp_path / "workspace")
    out = io.StringIO()
    code = run_action({"INPUT_WORKING_DIRECTORY": "../outside"}, out)
    assert code == 2
    assert "input working_directory: '../outside' leads outside the workspace" in out.getvalue()


@pytest.mark.parametrize(("inputs", "config"), [
    ({"ARGS": "--output ../../elsewhere"}, "version: 1\n"),
    ({}, "output: ../../elsewhere\n"),
    ({"ARGS": "--output /tmp"}, "version: 1\n"),
], ids=["--output in args", "output in hypertest.yml", "absolute --output"])
def test_results_cannot_be_written_outside_the_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         inputs: dict[str, str], config: str) -> None:
    def write_config(workspace: Path) -> None:
        (workspace / "e2e" / "hypertest.yml").write_text(config)

    code, out = _run(tmp_path, monkeypatch, inputs, write_config)
    assert code == 2, out
    [error] = [line for line in out.splitlines() if line.startswith("::error")]
    assert "leads outside the workspace" in error and "--output in the args input" in error
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("setup", ["missing", "a file"])
def test_a_bad_github_workspace_is_named_not_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               setup: str) -> None:
    workspace = tmp_path / "nonexistent"
    if setup == "a file":
        workspace.write_text("x")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    code = run_action({"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace)}, out)
    assert code == 2, out.getvalue()
    (error,) = [line for line in out.getvalue().splitlines() if line.startswith("::error")]
    assert "GITHUB_WORKSPACE" in error and "working_directory" not in error, error
    assert ("does not exist" if setup == "missing" else "is not a folder") in error


@pytest.mark.parametrize(("args", "cut"), [
    ("--run-id " + "a" * 5000, "(4,800 more characters)"),
    ("--granularity " + "x" * 5000, "(4,800 more characters)"),
    ("--grep '(" + "a" * 120_000 + "'", "more characters)"),
    ("--tag '@x\u00a0y'", "--tag '@x\\xa0y'"),  # a no-break space: the schema's \\S refuses it
])
def test_an_args_value_is_never_echoed_in_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: str,
                                               cut: str) -> None:
    code, out = _run(tmp_path, monkeypatch, {"ARGS": args}, _nothing)
    assert code == 2, out[:2000]
    (error,) = [line for line in out.splitlines() if line.startswith("::error")]
    assert cut in error, error[:2000]
    assert len(out) < 3000, f"{len(out)} characters: a value is echoed in full"
    assert [name for name, _ in runner_commands(out) if name != "add-mask"] == ["error"], out
