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
