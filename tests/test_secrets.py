"""Secrets stay out: test processes never get the machinery's secrets, and a secret a test was given on
purpose is redacted from everything hypertest renders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from hypertest.core.load import load_settings
from hypertest.core.redaction import Redactor, registered_secrets
from hypertest.errors import ConfigError
from runner.environment import PASS_VARIABLE, child_environment, secret_values
from tests.conftest import ROOT, CliResult, small_project
from tests.github.fake_api import fake_github
from tests.github.test_action import run_action

# Each withheld variable gets a canary value that must appear nowhere but in the ::add-mask:: commands.
WITHHELD = {
    "INPUT_GITHUB_TOKEN": "test-token",  # the token the loopback GitHub API accepts
    "GITHUB_TOKEN": "canary-github-token-77aa",
    "ACTIONS_RUNTIME_TOKEN": "canary-runtime-token-09c3",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "canary-oidc-token-d2e8",
    "AWS_ACCESS_KEY_ID": "AKIACANARYKEYID51",
    "AWS_SECRET_ACCESS_KEY": "canary-aws-secret-key-5e6f",
    "AWS_SESSION_TOKEN": "canary-aws-session-token-a1b2",
}
CONFIGURED = "canary-configured-api-token-c3d4"  # given to the tests on purpose, so only redacted

CONFIG = """import { defineConfig } from '@playwright/test';
import * as fs from 'fs';
fs.appendFileSync('seen-env.txt', 'config ' + JSON.stringify(process.env) + '\\n');
console.log('config env', JSON.stringify(process.env));
export default defineConfig({ testDir: './tests', globalSetup: './setup.ts', projects: [{ name: 'p' }] });
"""
SETUP = """import * as fs from 'fs';
export default async () => {
  fs.appendFileSync('seen-env.txt', 'setup ' + JSON.stringify(process.env) + '\\n');
  console.log('setup env', JSON.stringify(process.env));
};
"""
SPEC = """import { test, expect } from '@playwright/test';
import * as fs from 'fs';
test('prints the environment', () => {
  fs.appendFileSync('seen-env.txt', 'test ' + JSON.stringify(process.env) + '\\n');
  console.log(JSON.stringify(process.env));
  console.error(JSON.stringify(process.env));
});
test('asserts on the environment', () => { expect(JSON.stringify(process.env)).toBe('nothing'); });
test('fails with the token it was given', () => {
  expect(process.env.API_TOKEN).toBeTruthy();
  throw new Error(`token is ${process.env.API_TOKEN} and PATH is ${process.env.PATH ? 'set' : 'unset'}`);
});
"""


def test_the_test_environment_withholds_the_machinerys_secrets() -> None:
    environ = {**WITHHELD, "PATH": "/bin", "BASE_URL": "http://127.0.0.1:3000", "INPUT_ARGS": "--x",
               "AWS_REGION": "eu-west-1"}
    env = child_environment(environ)
    assert env == {"PATH": "/bin", "BASE_URL": "http://127.0.0.1:3000", "AWS_REGION": "eu-west-1"}
    chosen = child_environment(environ, {"AWS_SECRET_ACCESS_KEY": "on-purpose", "API_TOKEN": "t"})
    assert chosen["AWS_SECRET_ACCESS_KEY"] == "on-purpose" and "AWS_ACCESS_KEY_ID" not in chosen
    assert chosen[PASS_VARIABLE] == "API_TOKEN,AWS_SECRET_ACCESS_KEY"
    # The runner filters again with HT_PASS_ENV: what was passed on purpose stays, the rest goes.
    again = child_environment({**chosen, "AWS_SESSION_TOKEN": "lambda-role-token"})
    assert again["AWS_SECRET_ACCESS_KEY"] == "on-purpose" and "AWS_SESSION_TOKEN" not in again


def test_secret_values_are_found_by_name_and_redacted_everywhere_in_a_document() -> None:
    environ = {"MY_API_TOKEN": CONFIGURED, "DB_PASSWORD": "hunter2hunter2", "SHORT_TOKEN": "abc",
               "INPUT_CONFIG": "hypertest.yml", "HOME": "/root/secret-looking-path"}
    assert set(secret_values(environ)) == {CONFIGURED, "hunter2hunter2"}
    redactor = Redactor.from_environ(environ)
    document = {"tests": [{"titlePath": ["a", f"x{CONFIGURED}y"], "n": 3,
                           "attempts": [{"error": {"message": "pw hunter2hunter2!"}}]}]}
    assert redactor.value(document) == {"tests": [{"titlePath": ["a", "x***y"], "n": 3,
                                                   "attempts": [{"error": {"message": "pw ***!"}}]}]}
    assert Redactor().value(document) is document


def _all_text(folder: Path) -> dict[Path, str]:
    """Every file below folder, decoded leniently (zips and images too: a secret would show in them)."""
    return {path: path.read_bytes().decode("latin-1") for path in folder.rglob("*") if path.is_file()}


@pytest.mark.e2e
def test_canary_secrets_appear_in_no_output(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    project = small_project(workspace / "e2e", CONFIG, {
        "setup.ts": SETUP, "tests/env.spec.ts": SPEC,
        "hypertest.yml": "concurrency: 2\nprovider:\n  local:\n    environment:\n      API_TOKEN: ${MY_API_TOKEN}\n"})
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 5, "head": {"repo": {"full_name": "octo/shop"}},
                                                  "base": {"repo": {"full_name": "octo/shop"}}}}))
    env = {"GITHUB_WORKSPACE": str(workspace), "GITHUB_REPOSITORY": "octo/shop", "GITHUB_SHA": "abc",
           "GITHUB_RUN_ID": "7", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "GITHUB_OUTPUT": str(tmp_path / "output"),
           "INPUT_COMMAND": "invoke", "INPUT_WORKING_DIRECTORY": "e2e", "INPUT_COMMENT": "always",
           "INPUT_ARGS": "--output out", "MY_API_TOKEN": CONFIGURED, **WITHHELD}
    with fake_github() as github:
        completed = run_action(workspace, {**env, "GITHUB_API_URL": github.url})
        posted = json.dumps([github.comments, github.check_runs])
    assert completed.returncode == 1, completed.stdout + completed.stderr
    results = next((project / "out").glob("*/results.json"))
    document = json.loads(results.read_text())
    messages = "\n".join(str(a["error"]["message"]) for r in document["tests"] for a in r["attempts"] if a["error"])
    # The tests ran with an environment, got the configured token, and printed and asserted on it all.
    assert "token is *** and PATH is set" in messages and '\\"PATH\\":' in messages, messages
    seen = (project / "seen-env.txt").read_text()
    assert [line.split(" ", 1)[0] for line in seen.splitlines()].count("test") == 1
    assert "setup " in seen and CONFIGURED in seen  # the user's code had what it was given on purpose

    masked = [line for line in completed.stdout.splitlines() if line.startswith("::add-mask::")]
    log = "\n".join(line for line in completed.stdout.splitlines() if not line.startswith("::add-mask::"))
    rendered = {"stdout": log, "stderr": completed.stderr, "summary": (tmp_path / "summary.md").read_text(),
                "outputs": (tmp_path / "output").read_text(), "comment and check run": posted,
                "results.json": results.read_text(), "junit.xml": (results.parent / "junit.xml").read_text()}
    files = _all_text(workspace)
    for name, value in WITHHELD.items():
        assert f"::add-mask::{value}" in masked, name
        assert [where for where, text in rendered.items() if value in text] == [], name
        assert [path for path, text in files.items() if value in text] == [], name
    assert [where for where, text in rendered.items() if CONFIGURED in text] == []
    assert github.comments[5], "the comment was posted"


COMMAND_FILES = ("GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_STATE")


def test_the_workflows_command_files_are_withheld_unless_passed_on_purpose() -> None:
    environ = {name: f"/home/runner/work/_temp/_runner_file_commands/{name.lower()}" for name in COMMAND_FILES}
    assert child_environment({**environ, "PATH": "/bin"}) == {"PATH": "/bin"}
    chosen = child_environment(environ, {"GITHUB_OUTPUT": environ["GITHUB_OUTPUT"]})
    assert {name for name in chosen if name.startswith("GITHUB_")} == {"GITHUB_OUTPUT"}


HARDENED = """
import ctypes, json, os, subprocess, sys
from runner.hardening import harden_process
done = harden_process()
libc = ctypes.CDLL(None)
child = subprocess.run([sys.executable, "-c", "import os; print(os.environ['GITHUB_TOKEN'], os.environ['PLAIN'])"],
                       capture_output=True, text=True, timeout=60, check=True).stdout.split()
block = open("/proc/self/environ", "rb").read()
print(json.dumps({"non_dumpable": done.non_dumpable, "dumpable": libc.prctl(3, 0, 0, 0, 0),
                  "blanked": sorted(done.blanked), "os_environ": os.environ["GITHUB_TOKEN"], "child": child,
                  "block_has_token": b"canary-block-token" in block, "block_has_plain": b"PLAIN=kept" in block}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl and /proc are Linux's")
def test_a_hardened_process_is_non_dumpable_and_its_environment_block_is_blank() -> None:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "GITHUB_TOKEN": "canary-block-token",
           "GITHUB_OUTPUT": "/tmp/canary-output-file", "PLAIN": "kept"}
    completed = subprocess.run([sys.executable, "-c", HARDENED], env=env, capture_output=True, text=True, timeout=60,
                               check=False)
    assert completed.returncode == 0, completed.stderr
    seen = json.loads(completed.stdout)
    assert seen["non_dumpable"] and seen["dumpable"] == 0
    assert seen["blanked"] == ["GITHUB_OUTPUT", "GITHUB_TOKEN"]
    assert not seen["block_has_token"] and seen["block_has_plain"]
    # hypertest and what it starts with the inherited environment still have the values
    assert seen["os_environ"] == "canary-block-token" and seen["child"] == ["canary-block-token", "kept"]


SECRET_ENV = {"AWS_SECRET_ACCESS_KEY": "canary-config-aws-5e6f", "GITHUB_TOKEN": "canary-config-gh-77aa",
              "MY_API_TOKEN": "canary-config-api-c3d4", "COPY": "canary-config-gh-77aa", "PLAIN": "plain-value"}


@pytest.mark.parametrize(("config", "key", "variables"), [
    ("concurrency: ${AWS_SECRET_ACCESS_KEY}\n", "concurrency", "${AWS_SECRET_ACCESS_KEY}"),
    ("output: out-${GITHUB_TOKEN}\n", "output", "${GITHUB_TOKEN}"),
    ("output: ${COPY}\n", "output", "${COPY}"),  # a plain name holding a secret's value
    ("testRunner:\n  config: ${MY_API_TOKEN}/pw.config.ts\n", "testRunner.config", "${MY_API_TOKEN}"),
    ("provider:\n  type: aws\n  aws:\n    prefix: runs/${GITHUB_TOKEN}-${MY_API_TOKEN}\n", "provider.aws.prefix",
     "${GITHUB_TOKEN}, ${MY_API_TOKEN}"),
    ("provider:\n  local:\n    environment:\n      T: &t ${GITHUB_TOKEN}\noutput: *t\n", "output",
     "${GITHUB_TOKEN}"),  # an alias of a value where a secret may go
])
def test_a_secret_expanded_outside_the_tests_environment_is_refused(tmp_path: Path, config: str, key: str,
                                                                     variables: str) -> None:
    (tmp_path / "hypertest.yml").write_text(config)
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path / "hypertest.yml", tmp_path, SECRET_ENV)
    message = raised.value.render()
    assert f": {key}: {variables} hold" in message, message
    assert "canary-config" not in message and raised.value.exit_code == 2


def test_a_secret_expanded_into_the_tests_environment_is_registered_for_redaction(tmp_path: Path) -> None:
    (tmp_path / "playwright.config.ts").write_text("export default {};\n")
    (tmp_path / "hypertest.yml").write_text("provider:\n  local:\n    environment:\n      API: ${MY_API_TOKEN}\n"
                                            "      SAME: ${COPY}\n      OTHER: ${PLAIN}\n")
    settings = load_settings(tmp_path / "hypertest.yml", tmp_path, SECRET_ENV)
    assert settings.provider.environment == {"API": "canary-config-api-c3d4", "SAME": "canary-config-gh-77aa",
                                                   "OTHER": "plain-value"}
    assert {"canary-config-api-c3d4", "canary-config-gh-77aa"} <= set(registered_secrets())
    redactor = Redactor.from_environ({})  # an environment without them: the config's reading registered them
    assert redactor.text("a canary-config-api-c3d4 b canary-config-gh-77aa plain-value") == "a *** b *** plain-value"


def test_an_error_quoting_a_config_secret_shows_it_as_stars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             cli: Callable[..., CliResult]) -> None:
    (tmp_path / "playwright.config.ts").write_text("export default {};\n")
    (tmp_path / "hypertest.yml").write_text("testRunner:\n  webServer:\n    command: npm start\n"
                                            "    timeout: ${MY_API_TOKEN}\n")
    monkeypatch.setenv("MY_API_TOKEN", "canary-quoted-token-9f1e")
    result = cli("validate", cwd=tmp_path)
    assert result.code == 2 and "'timeout': '***'" in result.err, result.err
    assert "canary-quoted-token" not in result.out + result.err


@pytest.mark.parametrize("flag", ["--output", "--run-id"])
def test_a_flag_value_holding_a_secret_is_refused_without_quoting_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    cli: Callable[..., CliResult], flag: str) -> None:
    (tmp_path / "playwright.config.ts").write_text("export default {};\n")
    monkeypatch.setenv("GITHUB_TOKEN", "canary-flag-token-1d2e")
    result = cli("invoke", flag, "run-canary-flag-token-1d2e", cwd=tmp_path)
    assert result.code == 2 and f"{flag}: the value holds a secret" in result.err, result.out + result.err
    assert "canary-flag-token" not in result.out + result.err
    assert not any(tmp_path.glob("*canary*"))  # no folder was made


def test_an_action_error_quoting_a_secret_shows_it_as_stars(tmp_path: Path) -> None:
    """An error before the masks are printed (a bad input) still quotes no secret."""
    import io

    from hypertest.github.action import run_action

    out = io.StringIO()
    code = run_action({"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp_path), "INPUT_COMMAND": "invoke",
                       "INPUT_CONCURRENCY": "canary-input-token-8c7b", "MY_API_TOKEN": "canary-input-token-8c7b"},
                      out)
    assert code == 2, out.getvalue()
    assert "canary-input-token" not in out.getvalue(), out.getvalue()
    assert "***" in out.getvalue()


def test_config_secrets_are_masked_before_anything_is_printed_in_a_run_step(tmp_path: Path) -> None:
    (tmp_path / "playwright.config.ts").write_text("export default {};\n")
    (tmp_path / "hypertest.yml").write_text("testRunner:\n  webServer:\n    command: npm start\n"
                                            "    timeout: ${MY_API_TOKEN}\n")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "GITHUB_ACTIONS": "true",
           "MY_API_TOKEN": "canary-masked-token-4b2a"}
    completed = subprocess.run([sys.executable, str(ROOT / "entrypoint.py"), "validate"], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 2, completed.stdout + completed.stderr
    log = (completed.stdout + completed.stderr).splitlines()
    assert log[0] == "::add-mask::canary-masked-token-4b2a", log
    assert [line for line in log[1:] if "canary-masked-token" in line] == [], log


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl and /proc are Linux's")
@pytest.mark.parametrize("entry", ["from runner.handler import handler; handler({'runner': '-'}, None)",
                                   "from runner.__main__ import main; main(['--payload', '/nonexistent'])"])
def test_the_lambda_handler_and_the_runner_harden_their_process_first(entry: str) -> None:
    code = f"import ctypes; {entry}; print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))"
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "AWS_SESSION_TOKEN": "canary-role-token"}
    completed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                               check=False)
    assert completed.stdout.split()[-1:] == ["0"], completed.stdout + completed.stderr
