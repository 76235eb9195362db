"""hypertest.yml: expansion, validation and the errors a user sees (file:line:column, key, exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hypertest.core.env_expand import ExpansionError, expand
from hypertest.core.load import load_settings
from hypertest.errors import ConfigError
from hypertest.providers.local import local_settings
from tests.conftest import DEMO


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "playwright.config.ts").write_text("export default {};\n")
    path = tmp_path / "hypertest.yml"
    path.write_text(text)
    return path


def error_of(path: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, path.parent, env or {})
    return caught.value.render()


def test_defaults_without_a_file() -> None:
    settings = load_settings(None, DEMO, {})
    assert settings.test_runner.config == DEMO / "playwright.config.ts"
    assert settings.test_runner.granularity == "test"
    assert settings.provider.type == "local"
    assert settings.output == DEMO / "hypertest-results"
    assert settings.reporters == ("console", "junit", "html")
    assert settings.concurrency >= 1


def test_a_full_file_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, """
testRunner:
  projects: [chromium]
  granularity: file
  retries: 2
  grep: "@smoke"
  tags: ["@fast"]
provider:
  type: local
  local: {unitTimeout: 30}
concurrency: 7
output: out
reporters: [console]
failOnFlaky: true
passWithNoTests: true
""")
    settings = load_settings(path, tmp_path, {})
    assert settings.test_runner.projects == ("chromium",)
    assert settings.test_runner.granularity == "file"
    assert settings.test_runner.retries == 2
    assert settings.test_runner.tags == ("@fast",)
    assert local_settings(settings.provider).unit_timeout_s == 30
    assert settings.concurrency == 7
    assert settings.output == tmp_path / "out"
    assert settings.fail_on_flaky and settings.pass_with_no_tests


def test_a_test_runners_own_keys_reach_its_plugin_and_no_other(tmp_path: Path) -> None:
    """testRunner keys of a plugin's schema fragment are its options (core reads none of them); a key only
    another test runner has is an error naming its place and whose it is."""
    path = write(tmp_path, "testRunner:\n  use: {locale: de-DE}\n  webServer: null\n  granularity: file\n")
    runner = load_settings(path, tmp_path, {}).test_runner
    assert dict(runner.options) == {"use": {"locale": "de-DE"}, "webServer": None}
    assert runner.origin("use") == f"{path}:2:8: testRunner.use"
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    path.write_text("testRunner:\n  type: pytest\n  config: pytest.ini\n  use: {locale: de-DE}\n")
    assert "hypertest.yml:4:8: testRunner.use: only a playwright suite has it (testRunner.type is pytest)" in (
        error_of(path))


def test_variables_are_expanded_and_typed(tmp_path: Path) -> None:
    path = write(tmp_path, "concurrency: ${CONC:-3}\noutput: ${OUT}/x\ntestRunner:\n  grep: '${G:-a b}'\n")
    settings = load_settings(path, tmp_path, {"OUT": "results"})
    assert settings.concurrency == 3
    assert settings.output == tmp_path / "results" / "x"
    assert settings.test_runner.grep == "a b"
    assert load_settings(path, tmp_path, {"OUT": "r", "CONC": "9"}).concurrency == 9


def test_only_a_value_that_is_exactly_one_reference_is_typed(tmp_path: Path) -> None:
    """Text around a reference keeps the value a string: `1${N}` is "12", which an integer key refuses."""
    path = write(tmp_path, "concurrency: 1${N}\n")
    assert f'{path}:1:14: concurrency: expected integer, got a string "12"' in error_of(path, {"N": "2"})
    path = write(tmp_path, "testRunner:\n  grep: ${A}rue\n")
    assert load_settings(path, tmp_path, {"A": "t"}).test_runner.grep == "true"
    path = write(tmp_path, "concurrency: ${N:-4}\n")
    assert load_settings(path, tmp_path, {"N": "12"}).concurrency == 12


def test_expansion_rules() -> None:
    env = {"A": "1", "EMPTY": ""}
    assert expand("${A}-${B:-two}-$${A}", env) == "1-two-${A}"
    assert expand("${EMPTY:-fallback}", env) == "fallback"
    with pytest.raises(ExpansionError, match="B is not set"):
        expand("${B}", env)
    with pytest.raises(ExpansionError, match="malformed"):
        expand("${not valid}", env)


def test_unset_variable_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "provider:\n  type: local\noutput: ${NOPE}\n")
    text = error_of(path)
    assert f"{path}:3:9: output: environment variable NOPE is not set" in text


def test_malformed_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "testRunner:\n  granularity: [test\nconcurrency: 2\n")
    text = error_of(path)
    assert f"{path}:3:" in text and "malformed YAML" in text
    assert "Traceback" not in text


def test_wrong_type_unknown_key_and_bad_enum_are_all_reported(tmp_path: Path) -> None:
    path = write(tmp_path, """testRunner:
  granularity: suite
  colour: blue
concurrency: "many"
""")
    text = error_of(path)
    assert f'{path}:2:16: testRunner.granularity: "suite" is not one of "test", "file", "auto"' in text
    assert f"{path}:3:3: testRunner.colour: unknown key; expected one of: args, config, granularity" in text
    assert f'{path}:4:14: concurrency: expected integer, got a string "many"' in text


def test_out_of_range_and_duplicate_keys(tmp_path: Path) -> None:
    assert "concurrency: 0 is less than the minimum of 1" in error_of(write(tmp_path, "concurrency: 0\n"))
    assert "duplicate key 'output'" in error_of(write(tmp_path, "output: a\noutput: b\n"))


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    assert "must hold a mapping" in error_of(write(tmp_path, "- a\n- b\n"))


def test_missing_playwright_config(tmp_path: Path) -> None:
    path = tmp_path / "hypertest.yml"
    path.write_text("testRunner:\n  config: nowhere/playwright.config.ts\n")
    assert "Playwright config nowhere/playwright.config.ts not found" in error_of(path)
    path.write_text("concurrency: 2\n")
    assert "no Playwright config found" in error_of(path)
