"""Run-level parts that fail: a web server that never listens, a throwing globalSetup, bad dependencies.

Each is a clear one-screen error with the right exit code, from real Playwright (no browser is needed:
the run stops before any test).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.aws.processes import free_port
from tests.conftest import CliResult, small_project
from tests.test_cli import assert_clean_error

Cli = Callable[..., CliResult]
pytestmark = pytest.mark.e2e


def project_with(tmp_path: Path, config: str, files: dict[str, str] | None = None) -> Path:
    """A tiny Playwright project with one passing test, the given config and extra files."""
    test = "import { test } from '@playwright/test';\ntest('a', () => {});\n"
    return small_project(tmp_path / "project", config, {"tests/a.spec.ts": test, **(files or {})})


def test_a_web_server_that_never_listens_exits_3_naming_its_command_and_output(
        cli: Cli, tmp_path: Path) -> None:
    unused_port = free_port()
    server = "node -e \"console.error('database is missing'); setTimeout(() => {}, 60000)\""
    folder = project_with(tmp_path, "export default { testDir: './tests', webServer: "
                                    f"{{ command: {server!r}, port: {unused_port}, timeout: 2000 }} }};\n")
    result = cli("invoke", "--output", str(tmp_path / "out"), cwd=folder)
    assert_clean_error(result, 3, "the web server did not start", "Timed out waiting 2000ms",
                       "database is missing", f"port {unused_port}", "command: node -e")


def test_a_throwing_global_setup_exits_3_with_its_stack(cli: Cli, tmp_path: Path) -> None:
    folder = project_with(tmp_path, "export default { testDir: './tests', globalSetup: './setup.ts' };\n",
                          {"setup.ts": "export default async function () {\n"
                                       "  throw new Error('cannot seed the database');\n}\n"})
    result = cli("invoke", "--output", str(tmp_path / "out"), cwd=folder)
    assert_clean_error(result, 3, "global setup failed", "cannot seed the database", "setup.ts:2")


@pytest.mark.parametrize(("projects", "expected"), [
    ("[{ name: 'a', dependencies: ['b'] }, { name: 'b', dependencies: ['a'] }]", "Circular dependency"),
    ("[{ name: 'a', dependencies: ['nope'] }]", "depends on unknown project 'nope'"),
])
def test_bad_project_dependencies_exit_2(cli: Cli, tmp_path: Path, projects: str, expected: str) -> None:
    folder = project_with(tmp_path, f"export default {{ testDir: './tests', projects: {projects} }};\n")
    assert_clean_error(cli("invoke", "--output", str(tmp_path / "out"), cwd=folder), 2, expected)


def test_a_throwing_global_teardown_fails_a_green_run_with_exit_3(cli: Cli, tmp_path: Path) -> None:
    folder = project_with(tmp_path, "export default { testDir: './tests', globalTeardown: './teardown.ts' };\n",
                          {"teardown.ts": "export default async function () {\n"
                                          "  throw new Error('cannot drop the database');\n}\n"})
    result = cli("invoke", "--output", str(tmp_path / "out"), cwd=folder)
    assert result.code == 3, result.out + result.err
    assert "the run's global teardown failed" in result.out
    assert "cannot drop the database" in result.out and "teardown.ts:2" in result.out
    assert "Traceback" not in result.out + result.err


def test_a_failing_global_setup_shows_its_message_and_the_users_frames_and_names_the_log(
        cli: Cli, tmp_path: Path) -> None:
    """The message, then the frames in the user's files; not Playwright's nor hypertest's; the log's path."""
    folder = project_with(tmp_path, "export default { testDir: './tests', globalSetup: './setup.ts' };\n", {
        "setup.ts": "import { seed } from './seed';\n"
                    "export default async function () {\n  await seed();\n}\n",
        "seed.ts": "export async function seed() {\n  throw new Error('cannot seed the database');\n}\n"})
    result = cli("invoke", "--output", str(tmp_path / "out"), cwd=folder)
    assert_clean_error(result, 3, "the run's global setup failed", "Error: cannot seed the database",
                       "seed.ts:2", "setup.ts:3", "run-session.log")
    frames = [line.strip() for line in result.err.splitlines() if line.strip().startswith("at ")]
    assert frames and all(str(folder) in frame and "node_modules" not in frame for frame in frames), frames
    [log] = (tmp_path / "out").glob("*/run-session.log")
    assert f"Playwright's output: {log}" in result.err
    assert "cannot seed the database" in log.read_text(encoding="utf-8")


def test_a_broken_esm_import_in_a_global_setup_names_the_missing_module_and_the_log(
        cli: Cli, tmp_path: Path) -> None:
    """An ES module project whose globalSetup imports a file that imports one that does not exist."""
    folder = project_with(tmp_path, "export default { testDir: './tests', globalSetup: './global-setup.js' };\n", {
        "package.json": '{ "type": "module" }\n',
        "global-setup.js": "import { seed } from './seed.js';\nexport default async function () { await seed(); }\n",
        "seed.js": "import { helper } from './no-such-helper.js';\nexport async function seed() { helper(); }\n"})
    result = cli("invoke", "--output", str(tmp_path / "out"), cwd=folder)
    assert_clean_error(result, 3, "the run's global setup failed", "Cannot find module",
                       "no-such-helper.js", "run-session.log")
    assert "<anonymous>" not in result.err and "node:internal" not in result.err
