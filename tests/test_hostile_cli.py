"""Hostile command lines and paths: exit 2 naming the flag or key, no traceback, one screen; and the one
rule for everything unexpected: exit 3, one line, the traceback kept in a file."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from hypertest.crash import run_guarded
from hypertest.github.escape import command_data
from tests.conftest import CliResult, small_project

Cli = Callable[..., CliResult]

SPEC = "import { test } from '@playwright/test';\ntest('a', () => {});\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small Playwright project, with a file, a folder and a link loop beside it to point flags at."""
    folder = small_project(tmp_path / "p", "export default { testDir: './tests' };\n", {"tests/a.spec.ts": SPEC})
    (folder / "a-file").write_text("x")
    (folder / "a-folder").mkdir()
    (folder / "loop").symlink_to(folder / "loop")
    (folder / "binary.yml").write_bytes(b"\xff\xfe\x00bad")
    os.mkfifo(folder / "a-fifo")  # nobody writes to it: reading it would block forever
    return folder


# (name, argv, config text or None, what the error must say)
CASES: list[tuple[str, list[str], str | None, str]] = [
    ("config is a link loop", ["validate", "--config", "loop"], None, "--config loop: "),
    ("config is missing", ["validate", "--config", "missing.yml"], None, "config file missing.yml not found"),
    ("config is a folder", ["validate", "--config", "a-folder"], None, "a-folder is a folder, not a file"),
    ("config is a FIFO", ["validate", "--config", "a-fifo"], None, "a-fifo is a FIFO (named pipe), not a file"),
    ("config is a device", ["validate", "--config", "/dev/zero"], None, "/dev/zero is a character device, not a file"),
    ("config names the key YAML cannot read", ["validate"], "output: @x\n",
     "hypertest.yml:1:9: output: malformed YAML"),
    ("config names the key of an undefined alias", ["validate"], "testRunner:\n  projects: [a, *b]\n",
     "hypertest.yml:2:17: testRunner.projects[1]: malformed YAML: found undefined alias"),
    ("config names the key of a refused tag", ["validate"], "output: !x y\n",
     "hypertest.yml:1:9: output: the YAML tag '!x'"),
    ("config names the key of an alias cycle", ["validate"], "output: &a [*a]\n", "output[0]: an alias refers"),
    ("config names the path of a duplicate key", ["validate"], "testRunner:\n  grep: a\n  grep: b\n",
     "hypertest.yml:3:3: testRunner.grep: duplicate key"),
    ("config document itself unreadable", ["validate"], "@x: 1\n", "hypertest.yml:1:1: (top level): malformed"),
    ("config document itself a list", ["validate"], "- a\n",
     "hypertest.yml:1:1: (top level): the document itself must hold a mapping"),
    ("config document itself a scalar", ["validate"], "hello\n", "(top level): the document itself"),
    ("config is not UTF-8", ["validate", "--config", "binary.yml"], None, "binary.yml: not UTF-8"),
    ("output is a link loop", ["invoke", "--output", "loop"], None, "--output 'loop': "),
    ("output is a file", ["invoke", "--output", "a-file"], None, "must name a folder"),
    ("output key is a link loop", ["validate"], "output: loop\n", "hypertest.yml: output: "),
    ("playwright config is a link loop", ["validate"], "testRunner:\n  config: loop\n", "testRunner.config: "),
    ("playwright config is missing", ["validate"], "testRunner:\n  config: nope.ts\n", "testRunner.config: "),
    ("playwright config is a FIFO", ["validate"], "testRunner:\n  config: a-fifo\n",
     "a-fifo is a FIFO (named pipe), not a file"),
    ("playwright config is a folder", ["validate"], "testRunner:\n  config: a-folder\n",
     "a-folder is a folder, not a file"),
    ("grep is not a regular expression", ["list", "--grep", "("], None, "--grep '(': not a valid JavaScript"),
    ("grep-invert is not a regular expression", ["list", "--grep-invert", "/a[/"], None, "--grep-invert '/a[/'"),
    ("grep key is not a regular expression", ["list"], "testRunner:\n  grep: '[z-a]'\n",
     "hypertest.yml:2:9: testRunner.grep '[z-a]'"),
    ("grepInvert key is not a regular expression", ["list"], "testRunner:\n  grepInvert: '(?<'\n",
     "hypertest.yml:2:15: testRunner.grepInvert"),
    ("tag without @", ["list", "--tag", "smoke"], None, "--tag 'smoke': a tag starts with @"),
    ("tag with a space", ["list", "--tag", "@a b"], None, "--tag '@a b'"),
    ("tag with an escape sequence", ["list", "--tag", "@x\x1b[2J"], None, "--tag '@x\\x1b[2J': a tag starts"),
    ("tag with a line break", ["list", "--tag", "@x\n"], None, "--tag '@x\\n': a tag starts"),
    ("tag with a C1 control", ["list", "--tag", "@x\x9b2J"], None, "--tag '@x\\x9b2J'"),
    ("unknown granularity", ["list", "--granularity", "suite"], None, "--granularity: invalid choice"),
    ("granularity a legacy command", ["list", "--granularity", "##[set-output name=x;]INJ"], None,
     "--granularity: invalid choice"),
    ("granularity of 5,000 characters", ["list", "--granularity", "x" * 5000], None, "(4,800 more characters)"),
    ("unknown flag with a command", ["validate", "--bogus", "##[error]x"], None, "unrecognized arguments: --bogus"),
    ("concurrency a command", ["invoke", "--concurrency", "##[error]x"], None, "--concurrency: expected a whole"),
    ("run id of 5,000 characters", ["invoke", "--run-id", "a" * 5000], None, "(4,800 more characters)"),
    ("grep of 120 KB", ["list", "--grep", "(" + "a" * 120_000], None, "(119,801 more characters)"),
    ("grep-invert of 120 KB", ["list", "--grep-invert", "(" + "a\n::error::x" * 10_000], None, "more characters)"),
    ("grep of 200 KB", ["list", "--grep", "a" * 200_000], None, "a pattern of at most 65,536 bytes"),
    ("output of 5,000 characters", ["invoke", "--output", "loop/" + "o" * 5000], None, "(4,805 more characters)"),
    ("project of 5,000 characters", ["list", "--project", "p" * 5000], None, "more characters)"),
    ("init region a command", ["init", "--region", "::error::x"], None, "--region"),
    ("init bucket a legacy command", ["init", "--bucket", "##[error]x"], None, "--bucket"),
    ("report summary into a folder", ["report", "missing.json", "--summary", "a-folder"], None, "is a folder"),
    ("unknown command", ["destroy"], None, "invalid choice: 'destroy'"),
    ("no command", [], None, "the following arguments are required: COMMAND"),
    ("unknown flag", ["invoke", "--no-such-flag"], None, "unrecognized arguments: --no-such-flag"),
    ("concurrency is not a number", ["invoke", "--concurrency", "many"], None, "--concurrency: expected a whole"),
    ("concurrency is negative", ["invoke", "--concurrency", "-3"], None, "--concurrency: expected a whole"),
    ("retries is a fraction", ["invoke", "--retries", "1.5"], None, "--retries: expected a whole number"),
    ("run id is empty", ["invoke", "--run-id", ""], None, "--run-id"),
    ("run id has a space", ["invoke", "--run-id", "a b"], None, "--run-id"),
    ("run id has a slash", ["invoke", "--run-id", "a/b"], None, "--run-id"),
    ("unknown project", ["list", "--project", "nope"], None, 'Project(s) "nope" not found'),
    ("unknown project key", ["list"], "testRunner:\n  projects: [nope]\n", 'Project(s) "nope" not found'),
    ("report of a missing file", ["report", "missing.json"], None, "missing.json"),
    ("init over a folder", ["init", "--force"], None, "hypertest.yml"),
]


def run_case(cli: Cli, project: Path, argv: list[str], config: str | None) -> CliResult:
    """One case of CASES: its config written (init gets a folder where its file would go), then the command."""
    if config is not None:
        (project / "hypertest.yml").write_text(config)
    if argv[:1] == ["init"]:
        (project / "hypertest.yml").mkdir()
    return cli(*argv, cwd=project)


@pytest.mark.parametrize(("argv", "config", "expected"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_hostile_command_line_is_a_clear_error(cli: Cli, project: Path, argv: list[str], config: str | None,
                                               expected: str) -> None:
    result = run_case(cli, project, argv, config)
    said = result.out + result.err
    assert result.code == 2, said
    assert "Traceback" not in said
    assert expected in result.err, result.err
    assert len(result.err.splitlines()) < 30
    assert len(said) < 3000, f"{len(said)} characters: a value is echoed in full"


def test_an_unexpected_exception_is_exit_3_with_one_line_and_a_saved_traceback(
        cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise KeyError("a bug\n::error::from a hostile \x1b[31mvalue")

    monkeypatch.setattr("hypertest.commands.load_settings", broken)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.delenv("HT_DEBUG", raising=False)
    monkeypatch.delenv("RUNNER_DEBUG", raising=False)
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR is read again

    result = cli("validate", cwd=project)
    assert result.code == 3
    assert "Traceback" not in result.out + result.err
    first, where = result.err.splitlines()
    assert first.startswith("internal error (a bug in hypertest, please report it): KeyError: 'a bug")
    assert "\x1b" not in result.err and "\n::error" not in result.err
    saved = Path(re.search(r"the traceback is in (\S+);", where).group(1))  # type: ignore[union-attr]
    assert saved.parent == tmp_path and "Traceback (most recent call last)" in saved.read_text()
    assert "in broken" in saved.read_text()

    debug = cli("--debug", "validate", cwd=project)
    assert debug.code == 3 and "Traceback (most recent call last)" in debug.err and "in broken" in debug.err
    monkeypatch.setenv("HT_DEBUG", "1")
    assert "Traceback (most recent call last)" in cli("validate", cwd=project).err


def test_in_the_action_an_internal_error_is_one_escaped_error_command() -> None:
    def broken() -> int:
        raise ValueError("boom\n::warning::injected")

    out = io.StringIO()
    code = run_guarded(broken, err=out, debug=True, describe=lambda t: f"::error title=hypertest::{command_data(t)}")
    assert code == 3
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("::error title=hypertest::internal error")
    assert "%0ATraceback (most recent call last)" in lines[0]


def test_ctrl_c_is_exit_130(cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr("hypertest.commands.load_settings", interrupted)
    result = cli("validate", cwd=project)
    assert (result.code, result.err.strip()) == (130, "interrupted")
