"""The command line's answers to bad input: one screen, no traceback, the right exit code."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import DEMO, CliResult, copy_suite, load_results

Cli = Callable[..., CliResult]


def assert_clean_error(result: CliResult, code: int, *fragments: str) -> None:
    assert result.code == code, (result.out, result.err)
    assert "Traceback" not in result.err + result.out
    assert len(result.err.splitlines()) <= 25
    for fragment in fragments:
        assert fragment in result.err, result.err


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return copy_suite(DEMO, tmp_path / "demo")


def test_validate_prints_the_settings(cli: Cli) -> None:
    result = cli("validate", "--config", str(DEMO / "hypertest.yml"))
    assert result.code == 0
    assert "valid" in result.out and "granularity: test" in result.out


def test_malformed_yaml_exits_2(cli: Cli, demo: Path) -> None:
    (demo / "hypertest.yml").write_text("testRunner: [\n")
    assert_clean_error(cli("validate", cwd=demo), 2, f"{demo / 'hypertest.yml'}:2:1", "malformed YAML")


def test_schema_violation_exits_2(cli: Cli, demo: Path) -> None:
    (demo / "hypertest.yml").write_text("provider:\n  type: gcp\n")
    assert_clean_error(cli("invoke", cwd=demo), 2, "hypertest.yml:2:9: provider.type", '"aws", "docker", "local"')


def test_missing_config_file_exits_2(cli: Cli, demo: Path) -> None:
    assert_clean_error(cli("invoke", "--config", "nope.yml", cwd=demo), 2, "config file nope.yml not found")


def test_missing_playwright_config_exits_2(cli: Cli, tmp_path: Path) -> None:
    assert_clean_error(cli("list", cwd=tmp_path), 2, "no Playwright config found")


def test_bad_flags_exit_2(cli: Cli, demo: Path) -> None:
    assert cli("invoke", "--concurrency", "0", cwd=demo).code == 2
    assert cli("invoke", "--run-id", "../x", cwd=demo).code == 2
    assert_clean_error(cli("list", "--tag", "smoke", cwd=demo), 2, "--tag 'smoke'")


@pytest.mark.e2e
def test_syntax_error_in_a_test_file_names_it(cli: Cli, demo: Path) -> None:
    (demo / "tests" / "broken.spec.ts").write_text("import { test } from '@playwright/test';\ntest('x', () => {\n")
    assert_clean_error(cli("invoke", cwd=demo), 2, "could not load the tests", "broken.spec.ts")


@pytest.mark.e2e
def test_project_filter_matching_nothing(cli: Cli, demo: Path) -> None:
    assert_clean_error(cli("invoke", "--project", "firefox", cwd=demo), 2, "firefox", "chromium")


@pytest.mark.e2e
def test_zero_tests_discovered(cli: Cli, demo: Path, tmp_path: Path) -> None:
    assert_clean_error(cli("invoke", "--grep", "no test has this title", cwd=demo), 2,
                       "no tests found by", "playwright.config.ts (with grep 'no test has this title')",
                       "passWithNoTests")
    result = cli("invoke", "--grep", "no test has this title", "--pass-with-no-tests",
                 "--output", str(tmp_path / "out"), cwd=demo)
    assert result.code == 0, result.err
    assert "passWithNoTests is set" in result.out


@pytest.mark.e2e
def test_no_chromium_to_be_found_exits_3(cli: Cli, demo: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("HT_CHROMIUM_PATH", raising=False)
    monkeypatch.delenv("PLAYWRIGHT_BROWSERS_PATH", raising=False)
    assert_clean_error(cli("invoke", "--output", str(tmp_path / "out"), cwd=demo), 3,
                       "no Chromium found for project(s) 'chromium'", "HT_CHROMIUM_PATH")


@pytest.mark.e2e
def test_demo_suite_runs_green_in_parallel(cli: Cli, demo: Path, tmp_path: Path) -> None:
    output = tmp_path / "out"
    result = cli("invoke", "--output", str(output), "--concurrency", "2", "--grep", "todo|title", cwd=demo)
    assert result.code == 0, result.out + result.err
    document = load_results(output)
    assert document["stats"]["total"] == document["stats"]["passed"] >= 4
    assert document["concurrency"] == 2
    assert document["runner"]["name"] == "playwright" and document["runner"]["version"].startswith("1.")
    assert document["playwrightVersion"] == document["runner"]["version"]  # its older name, for its readers
    assert "PASSED:" in result.out
    assert Path(document["reports"]["html"]).is_file()
    from tests.history_files import remembered

    assert set(remembered(output).durations) == {t["id"] for t in document["tests"]}  # the next starts longest first


def test_init_for_the_docker_provider(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "playwright.config.ts").write_text("export default {};\n")
    assert cli("init", "--provider", "docker", cwd=tmp_path).code == 0
    validated = cli("validate", cwd=tmp_path)
    assert validated.code == 0, validated.err
    assert "provider: docker, concurrency: 4" in validated.out
    assert not (tmp_path / "iam").exists()  # no AWS policies for a local daemon


def test_init_writes_a_valid_starter_and_policies(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "playwright.config.ts").write_text("export default {};\n")
    result = cli("init", "--provider", "aws", "--bucket", "team-artifacts", "--function-name", "e2e", cwd=tmp_path)
    assert result.code == 0, result.err
    validated = cli("validate", cwd=tmp_path)
    assert validated.code == 0, validated.err
    assert "provider: aws" in validated.out
    deploy = json.loads((tmp_path / "iam" / "deploy-policy.json").read_text())
    resources = [s["Resource"] for s in deploy["Statement"]]
    assert "arn:aws:lambda:*:*:function:e2e" in resources
    assert all(r != "*" for s in deploy["Statement"] for r in [s["Resource"]]
               if s["Action"] != ["ecr:GetAuthorizationToken"])  # only the login token is account-wide
    invoke = json.loads((tmp_path / "iam" / "invoke-policy.json").read_text())
    assert {"lambda:GetFunctionConfiguration", "lambda:InvokeFunction"} == set(invoke["Statement"][0]["Action"])
    again = cli("init", cwd=tmp_path)
    assert again.code == 2 and "already exists" in again.err


@pytest.mark.e2e
def test_list_shows_hostile_titles_on_one_line(cli: Cli, tmp_path: Path) -> None:
    from tests.conftest import small_project

    project = small_project(tmp_path / "p", "export default { testDir: './tests' };\n", {
        "tests/a.spec.ts": "import { test } from '@playwright/test';\n"
                           "test('first\\r\\n::error::second\\u001b[31m', () => {});\n"})
    result = cli("list", cwd=project)
    assert result.code == 0, result.err
    [line] = [line for line in result.out.splitlines() if "::error::" in line]
    assert "first\\x0d\\x0a::error::second\\x1b[31m" in line
    assert "\r" not in result.out and "\x1b" not in result.out
