"""Hostile test content: configs and test files a pull request controls. A suite that cannot be loaded is
exit 2 naming the file (with control characters escaped, on one screen); a suite whose tests misbehave
(exit the worker, flood the output, throw what is not an Error, carry hostile titles or lone surrogates)
gets, test by test, the results plain Playwright gives it, exit 1, and output no title or message can break."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from hypertest.core.strings import encodable
from runner.node import find_node
from tests.conftest import ROOT, CliResult, load_results, small_project
from tests.playwright_report import differences, playwright_outcomes

Cli = Callable[..., CliResult]
IMPORT = "import { test, expect } from '@playwright/test';\n"
PLAIN = "export default { testDir: './tests' };\n"
ONE = IMPORT + "test('a', () => {});\n"

# (name, playwright config, files, command, what the error must say)
CASES: list[tuple[str, str, dict[str, str], list[str], str]] = [
    ("config exits", PLAIN + "process.exit(1);\n", {"tests/a.spec.ts": ONE}, ["list"],
     "playwright.config.ts (exit code 1)"),
    ("config throws a hostile message", "throw new Error('boom\\n::error::x \\x1b[31mred');\n",
     {"tests/a.spec.ts": ONE}, ["list"], "\\x1b[31mred"),
    ("config floods its output", "for (let i = 0; i < 100000; i++) console.log('line ' + i);\n"
     "throw new Error('after the flood');\n", {"tests/a.spec.ts": ONE}, ["list"], "after the flood"),
    ("config with a negative timeout", "export default { testDir: './tests', timeout: -5 };\n",
     {"tests/a.spec.ts": ONE}, ["list"], "config.timeout must be a non-negative number"),
    ("config names a missing reporter", "export default { testDir: './tests', reporter: [['./nope.js']] };\n",
     {"tests/a.spec.ts": ONE}, ["list"], "Cannot find module './nope.js'"),
    ("config names a missing global setup", "export default { testDir: './tests', globalSetup: './nope.ts' };\n",
     {"tests/a.spec.ts": ONE}, ["list"], "Cannot find module './nope.ts'"),
    ("projects depend on each other", "export default { testDir: './tests', projects: [{ name: 'a', dependencies: "
     "['b'] }, { name: 'b', dependencies: ['a'] }] };\n", {"tests/a.spec.ts": ONE}, ["list"],
     "Circular dependency detected between projects"),
    ("a project depends on an unknown one", "export default { testDir: './tests', projects: [{ name: 'a', "
     "dependencies: ['zz'] }] };\n", {"tests/a.spec.ts": ONE}, ["list"], "depends on unknown project 'zz'"),
    ("a test file with a syntax error", PLAIN, {"tests/a.spec.ts": IMPORT + "test('a', () => {\n"}, ["list"],
     "tests/a.spec.ts:3:1: SyntaxError"),
    ("a test file imports a missing module", PLAIN, {"tests/a.spec.ts": "import './nope';\n" + ONE},
     ["list"], "Cannot find module './nope'"),
    ("a test file throws at the top", PLAIN, {"tests/a.spec.ts": IMPORT + "throw new Error('top \\x07 level');\n"},
     ["list"], "tests/a.spec.ts:2:7: Error: top \\x07 level"),
    ("two tests with one title", PLAIN, {"tests/a.spec.ts": ONE + "test('a', () => {});\n"}, ["list"],
     'duplicate test title "a"'),
    ("test.only where forbidden", "export default { testDir: './tests', forbidOnly: true };\n",
     {"tests/a.spec.ts": IMPORT + "test.only('a', () => {});\n"}, ["list"], "'forbidOnly' option"),
    ("a test folder that does not exist", "export default { testDir: './missing' };\n", {"tests/a.spec.ts": ONE},
     ["invoke"], "no tests found by"),
    ("a file name with a line break and a syntax error", PLAIN,
     {"tests/evil\x1b[2J.spec.ts": IMPORT + "test('a', () => {\n"}, ["list"], "evil\\x1b[2J.spec.ts"),
]


@pytest.mark.e2e
@pytest.mark.parametrize(("config", "files", "command", "expected"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_a_suite_that_cannot_load_is_a_clear_error(cli: Cli, tmp_path: Path, config: str, files: dict[str, str],
                                                   command: list[str], expected: str) -> None:
    project = small_project(tmp_path / "p", config, files)
    result = cli(*command, "--output", str(tmp_path / "out"), cwd=project) if command == ["invoke"] \
        else cli(*command, cwd=project)
    assert result.code == 2, result.out + result.err
    assert "Traceback" not in result.out + result.err
    assert expected in result.err, result.err
    assert len(result.err.splitlines()) < 30
    assert "\x1b" not in result.err and "\x07" not in result.err


MISBEHAVING = IMPORT + r"""
test('exits the worker', () => { process.exit(0); });
test('kills its own worker', () => { process.kill(process.pid, 'SIGKILL'); });
test('floods stdout', () => { const line = 'x'.repeat(1000); for (let i = 0; i < 20000; i++) console.log(line); });
test('throws a string', () => { throw 'just a string'; });
test('throws null', () => { throw null; });
test('throws an object whose toString throws', () => { throw { toString() { throw new Error('nested'); } }; });
test('fails with a huge hostile message', () => {
  throw new Error('\x1b[31m::error::pwned\r\n##[error]pwned\n' + 'm'.repeat(1000000));
});
test('::error title=x::' + 't'.repeat(10000) + '\r\n\x1b[2J next line', () => { expect(1).toBe(2); });
test('leaves a process behind', async () => {
  const { spawn } = await import('child_process');
  spawn('sleep', ['987.654'], { detached: true, stdio: 'ignore' }).unref();
});
test('a lone \uD800 surrogate', () => { throw new Error('lone \uDC00 in the message'); });
test('passes after all that', () => {});
"""


@pytest.mark.e2e
def test_misbehaving_tests_get_playwrights_results(tmp_path: Path) -> None:
    config = "export default { testDir: './tests', projects: [{ name: 'p' }] };\n"
    direct = small_project(tmp_path / "direct", config, {"tests/bad.spec.ts": MISBEHAVING})
    env = {**os.environ, "PLAYWRIGHT_JSON_OUTPUT_NAME": str(tmp_path / "direct.json"), "FORCE_COLOR": "0"}
    cli = direct / "node_modules" / "@playwright" / "test" / "cli.js"
    subprocess.run([find_node(os.environ), str(cli), "test", "--reporter=json", "--workers=2"], cwd=direct,
                   env=env, check=False, capture_output=True, timeout=600)
    expected = {(project, file, tuple(encodable(t) for t in titles)): outcome  # results.json is UTF-8
                for (project, file, titles), outcome in
                playwright_outcomes(json.loads((tmp_path / "direct.json").read_text())).items()}
    subprocess.run(["pkill", "-f", "sleep 987.654"], check=False)  # plain Playwright leaves it running

    hyper = small_project(tmp_path / "hyper", config, {"tests/bad.spec.ts": MISBEHAVING})
    completed = subprocess.run([sys.executable, str(ROOT / "entrypoint.py"), "invoke", "--output",
                                str(tmp_path / "out"), "--concurrency", "2"], cwd=hyper, capture_output=True,
                               text=True, timeout=900, check=False)
    assert completed.returncode == 1, completed.stdout[-3000:] + completed.stderr
    assert "Traceback" not in completed.stdout + completed.stderr
    result = load_results(tmp_path / "out")
    assert differences(result["tests"], expected) == []
    # No title or message drove the terminal, and the hostile title stayed on one line.
    assert "\x1b" not in completed.stdout and "\r" not in completed.stdout
    assert not [line for line in completed.stdout.splitlines() if "next line" in line and "t" * 100 not in line]
    assert subprocess.run(["pgrep", "-f", "sleep 987.654"], check=False).returncode == 1, "a process outlived its unit"
    assert len(completed.stdout) < 200_000  # a flood or a megabyte message is cut, not echoed
