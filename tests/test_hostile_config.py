"""Hostile configs: bounded work, no traceback, exit 2, the place named, one screen.

A pull request controls hypertest.yml and the environment values it names; none of these may crash,
hang, eat memory or be parsed as YAML a second time.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT, CliResult

Cli = Callable[..., CliResult]

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join(['*' + chr(97 + n)] * 9)}]\n" for n in range(8))

# (name, config text, environment, what the message must say, the line it must name or None); run in this
# process, so nothing here may take unbounded work: alias bombs run in a subprocess under resource limits
CASES: list[tuple[str, str, dict[str, str], str, int | None]] = [
    ("alias cycle", "testRunner: &a [*a]\n", {}, "refers to a value that contains it", 1),
    ("deep flow nesting", "output: " + "[" * 10_000 + "]" * 10_000 + "\n", {}, "nested too deeply", None),
    ("deep mapping", "x: " + "{a: " * 80 + "1" + "}" * 80 + "\n", {}, "nested too deeply", 1),
    ("nan", "concurrency: .nan\n", {}, "not a finite number", 1),
    ("infinity", "provider:\n  local:\n    unitTimeout: .inf\n", {}, "not a finite number", 3),
    ("negative infinity", "concurrency: -.Inf\n", {}, "not a finite number", 1),
    ("python tag", "output: !!python/object/apply:os.system [\"echo owned\"]\n", {}, "is not allowed", 1),
    ("custom tag", "output: !secret x\n", {}, "is not allowed", 1),
    ("quote from env", "concurrency: ${N}\n", {"N": "'"}, "expected integer", 1),
    ("alias from env", "concurrency: ${N}\n", {"N": "*x"}, "expected integer", 1),
    ("tag from env", "output: ${N}\nconcurrency: ${N}\n", {"N": "!!python/object/apply:os.system"},
     "expected integer", 2),
    ("flow mapping from env", "concurrency: ${N}\n", {"N": "{a: 1}"}, "expected integer", 1),
    ("nan from env", "concurrency: ${N}\n", {"N": ".nan"}, "not a finite number", 1),
    ("text around a reference", "concurrency: 1${N}\n", {"N": "2"}, 'expected integer, got a string "12"', 1),
    ("nested reference", "output: ${A:-${B}}\n", {}, "nested references are not supported", 1),
    ("unset variable", "output: ${NOT_SET_ANYWHERE}\n", {}, "NOT_SET_ANYWHERE is not set", 1),
    ("malformed reference", "output: ${1x}\n", {}, "malformed reference", 1),
    ("line break in a tag", 'testRunner:\n  tags: ["@smoke\\n"]\n', {}, "line breaks are allowed only", 2),
    ("line break from env", "output: ${N}\n", {"N": "out\n::error::x"}, "line breaks are allowed only", 1),
    ("control character", 'testRunner:\n  grep: "a\\x01b"\n', {}, "control characters", 2),
    ("escape character", 'output: "\\e[31mred"\n', {}, "control characters", 1),
    ("control key", '"a\\x01": 1\n', {}, "keys must be plain strings", 1),
    ("line break key", '"a\\nb": 1\n', {}, "keys must be plain strings", 1),
    ("sequence key", "[a]: 1\n", {}, "keys must be plain strings", 1),
    ("duplicate key", "output: a\noutput: b\n", {}, "duplicate key 'output'", 2),
    ("unknown keys", "colour: red\nflavour: sweet\n", {}, "flavour: unknown key", 2),
    ("unknown nested keys", "testRunner:\n  colour: red\n  size: 3\n", {}, "testRunner.size: unknown key", 3),
    ("top-level list", "- a\n- b\n", {}, "must hold a mapping", 1),
    ("malformed yaml", "output: [a, b\n", {}, "malformed YAML", None),
    ("tab indentation", "provider:\n\ttype: local\n", {}, "malformed YAML", 2),
    ("wrong type", "concurrency: many\n", {}, "expected integer", 1),
    ("huge integer", "concurrency: 100000000000000000000\n", {}, "concurrency", 1),
]


@pytest.mark.parametrize(("config", "environ", "expected", "line"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_hostile_config_is_a_clear_error(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str,
                                         environ: dict[str, str], expected: str, line: int | None) -> None:
    path = tmp_path / "hypertest.yml"
    path.write_text(config, encoding="utf-8")
    (tmp_path / "playwright.config.ts").write_text("export default {};\n")
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    result = cli("validate", "--config", str(path), cwd=tmp_path)
    assert result.code == 2, (result.out, result.err)
    assert "Traceback" not in result.out + result.err
    assert expected in result.err, result.err
    assert str(path) + (f":{line}:" if line is not None else "") in result.err
    assert len(result.err.splitlines()) < 30
    assert "owned" not in result.out + result.err


def test_large_file_is_refused_before_parsing(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "hypertest.yml"
    path.write_text("# padding\n" * 120_000, encoding="utf-8")
    result = cli("validate", "--config", str(path), cwd=tmp_path)
    assert result.code == 2 and "a config may have at most 1048576" in result.err, result.err


@pytest.mark.parametrize("kind", ["folder", "link loop", "dangling link"])
def test_a_default_config_that_is_not_a_file_is_an_error(cli: Cli, tmp_path: Path, kind: str) -> None:
    target = tmp_path / "hypertest.yml"
    if kind == "folder":
        target.mkdir()
    elif kind == "link loop":
        target.symlink_to(tmp_path / "hypertest.yml")
    else:
        target.symlink_to(tmp_path / "missing.yml")
    (tmp_path / "playwright.config.ts").write_text("export default {};\n")
    result = cli("validate", cwd=tmp_path)
    assert result.code == 2, (result.out, result.err)
    assert "hypertest.yml: is a " in result.err and ", not a file" in result.err and "Traceback" not in result.err


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1024 ** 3, 1024 ** 3))
    resource.setrlimit(resource.RLIMIT_CPU, (30, 30))


@pytest.mark.parametrize("text", [BOMB, BOMB.replace("[x, x, x, x, x, x, x, x, x]", "[" + "x, " * 200 + "x]")])
def test_alias_bombs_stay_within_memory_and_cpu_limits(tmp_path: Path, text: str) -> None:
    """Under a 1 GiB address-space and 30 s CPU limit, a bomb gets its error (a crash would not be exit 2)."""
    path = tmp_path / "hypertest.yml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "playwright.config.ts").write_text("export default {};\n")
    completed = subprocess.run([sys.executable, str(ROOT / "entrypoint.py"), "validate", "--config", str(path)],
                               cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
                               preexec_fn=_limits, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert completed.returncode == 2, completed.stderr
    assert "builds more than 100000 values" in completed.stderr
    assert str(path) in completed.stderr and "Traceback" not in completed.stderr
    assert len(completed.stderr.splitlines()) < 30


@pytest.mark.parametrize(("flags", "expected"), [
    (["--concurrency", "100000000000000000000"], "--concurrency: expected a whole number from 1 to 10000"),
    (["--concurrency", "0"], "--concurrency: expected a whole number from 1 to 10000"),
    (["--concurrency", "²"], "--concurrency: expected a whole number"),
    (["--concurrency", "٣"], "--concurrency: expected a whole number"),
    (["--retries", "-1"], "--retries: expected a whole number of at least 0"),
    (["--run-id", "abc\n"], "--run-id"),
    (["--run-id", "../x"], "--run-id"),
    (["--run-id", "a" * 65], "--run-id"),
])
def test_hostile_flags_are_a_clear_error(cli: Cli, tmp_path: Path, flags: list[str], expected: str) -> None:
    (tmp_path / "playwright.config.ts").write_text("export default {};\n")
    result = cli("invoke", *flags, cwd=tmp_path)
    assert result.code == 2, (result.out, result.err)
    assert expected in result.err and "Traceback" not in result.err
    assert len(result.err.splitlines()) < 30
