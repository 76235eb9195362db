"""Warm-up (issue 21 item 3): while a run discovers its tests, each slot starts its runner process and the
warm Playwright host its units will keep, so the first units do not pay for them. A warm-up runs no test,
never fails a unit, and the first unit runs in the host it started.

The runner's side runs in this process against real Playwright and Chromium; the local provider's side
with a stand-in "python" (a shell script written by the test) that records the requests it gets."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from hypertest.core.redaction import Redactor
from hypertest.providers.local import LocalProvider, LocalProviderSettings, RunnerNotices
from hypertest.providers.warm_runners import RunnerPool
from runner import warm_host
from runner.entry import warm_up
from runner.proc import descendants
from tests.conftest import small_project
from tests.test_warm_runner import CONFIG, SPEC, run

PLACEHOLDER = {"project": "", "file": "hypertest-warm-up", "titlePath": ["warm-up"]}


def warm_up_event(project: Path, config: str = "playwright.config.ts") -> dict[str, Any]:
    """A warm-up payload as core sends it before discovery: the config, one placeholder test."""
    return {"runner": "playwright", "runId": "run1", "unitId": "warm-up", "projectDir": str(project),
            "timeoutMs": None, "artifacts": {},
            "unit": {"tests": [{"id": "warm-up", **PLACEHOLDER}], "selectors": [PLACEHOLDER], "configFile": config,
                     "retries": None}}


@pytest.mark.e2e
def test_a_warm_up_starts_the_host_the_first_unit_then_runs_in(tmp_path: Path) -> None:
    project = small_project(tmp_path / "project", CONFIG, {"tests/warm.spec.ts": SPEC})
    before = set(descendants())
    try:
        said = warm_up(warm_up_event(project), dict(os.environ))
        assert said.startswith("a warm host (options) for Playwright 1."), said
        [host] = warm_host.held_pids()
        assert set(descendants()) - before == {host}  # the host only: nothing ran, nothing was left
        result, who = run(project, tmp_path / "store", "one", "u1")
        assert result["tests"][0]["status"] == "passed"
        assert who["main"] == host  # the test's worker was started by the host the warm-up started
    finally:
        warm_host.stop_held()


@pytest.mark.e2e
def test_a_warm_up_that_cannot_start_anything_says_why_and_never_raises(tmp_path: Path) -> None:
    project = small_project(tmp_path / "project", CONFIG, {"tests/warm.spec.ts": SPEC})
    assert warm_up(warm_up_event(project, "missing.config.ts"), dict(os.environ)).startswith(
        "nothing to warm up: Playwright config not found")
    assert warm_host.held_pids() == frozenset()
    assert warm_up({"runner": "playwright", "unit": {}}, dict(os.environ)).startswith("the warm-up failed:")
    assert warm_up({"runner": "no-such-runner"}, dict(os.environ)).startswith("the warm-up failed:")


# The stand-in runner: it logs each request line, answers warm-ups (after WARM_SECONDS, or dies when
# WARM_DIES is set) and writes a passing result for each unit.
FAKE_RUNNER = r"""#!/bin/bash
fd=$4
while read -r line <&"$fd"; do
  printf '%s\n' "$line" >> "$REQUESTS"
  case "$line" in
    *warmUp*) sleep "${WARM_SECONDS:-0}"; [ -n "$WARM_DIES" ] && exit 3; echo '{"done": true}' >&"$fd" ;;
    *) result=$(printf %s "$line" | sed 's/.*"result": "\([^"]*\)".*/\1/')
       printf '{"runId": "r", "unitId": "u", "status": "ok", "tests": []}' > "$result"
       echo '{"done": true}' >&"$fd" ;;
  esac
done
"""


def pool(tmp_path: Path, **env: str) -> tuple[RunnerPool, Path]:
    script = tmp_path / "fake-python"
    script.write_text(FAKE_RUNNER)
    script.chmod(0o755)
    requests = tmp_path / "requests.log"
    return RunnerPool(str(script), {**os.environ, "REQUESTS": str(requests), **env}), requests


@pytest.mark.integration
def test_the_pool_warms_its_slots_before_their_first_unit_and_the_unit_waits_for_it(tmp_path: Path) -> None:
    runners, requests = pool(tmp_path, WARM_SECONDS="1")
    try:
        runners.warm_up({"unitId": "warm-up"}, 2)
        result = runners.run({"unitId": "u"}, time.monotonic() + 30)
    finally:
        runners.close()
    assert result["status"] == "ok"
    lines = [json.loads(line) for line in requests.read_text().splitlines()]
    assert [next(iter(line)) for line in lines] == ["warmUp", "warmUp", "payload"]  # two slots, then the unit


@pytest.mark.integration
def test_a_runner_that_dies_warming_up_is_replaced_and_the_unit_still_runs(tmp_path: Path) -> None:
    runners, requests = pool(tmp_path, WARM_DIES="1")
    try:
        runners.warm_up({"unitId": "warm-up"}, 1)
        result = runners.run({"unitId": "u"}, time.monotonic() + 30)
    finally:
        runners.close()
    assert result["status"] == "ok"
    assert [next(iter(json.loads(line))) for line in requests.read_text().splitlines()] == ["warmUp", "payload"]


@pytest.mark.integration
def test_what_a_runner_says_of_its_choices_reaches_the_console_once_escaped_and_redacted(tmp_path: Path) -> None:
    """A runner's notices ("hypertest runner: ..." on its stderr: a unit ran cold, and why) are said once per
    run on the console, as one terminal-safe line with known secrets hidden; its other output is not."""
    script = tmp_path / "fake-python"
    script.write_text(r"""#!/bin/bash
fd=$4
while read -r line <&"$fd"; do
  printf 'hypertest runner: no warm host, its units run cold: \033[31mred %s\n' "$SECRET_TOKEN" >&2
  echo 'some other output' >&2
  result=$(printf %s "$line" | sed 's/.*"result": "\([^"]*\)".*/\1/')
  printf '{"runId": "r", "unitId": "u", "status": "ok", "tests": []}' > "$result"
  echo '{"done": true}' >&"$fd"
done
""")
    script.chmod(0o755)
    out = io.StringIO()
    secret = "s3cr3t-value-123456"
    notices = RunnerNotices(out, Redactor.from_environ({"SECRET_TOKEN": secret}))
    provider = LocalProvider(LocalProviderSettings(unit_timeout_s=30), {**os.environ, "SECRET_TOKEN": secret},
                             python=str(script), notices=notices)
    try:
        for unit in ("u1", "u2"):
            assert provider.execute({"runId": "r", "unitId": unit, "timeoutMs": 30_000})["status"] == "ok"
    finally:
        provider.close()
    assert out.getvalue().splitlines() == ["note: no warm host, its units run cold: \\x1b[31mred ***"]


@pytest.mark.e2e
def test_a_pytest_warm_up_starts_the_fork_server_the_first_unit_then_forks_from(tmp_path: Path) -> None:
    """Before discovery the runner knows the suite's interpreter, args and paths but not the options its plugins
    declare: it looks them up in that interpreter, so the server it starts has the first unit's key."""
    from runner import browser_server
    from runner.artifacts import LocalDirectoryStore
    from runner.pytest import warm
    from runner.pytest.unit import run_pytest_unit
    from tests.test_pytest_plugin import copy_pytest_suite, plain_env, unit_payload
    from tests.test_pytest_warm import PASSING, SUITE_OPTIONS

    project = copy_pytest_suite(tmp_path / "suite")
    env = plain_env(HT_FIXTURE_STATE_DIR=str(tmp_path / "state"))
    placeholder = {"id": "warm-up", "nodeId": "hypertest-warm-up", "file": "", "line": 0, "titlePath": ["warm-up"]}
    event = {"runner": "pytest", "runId": "run1", "unitId": "warm-up", "projectDir": str(project),
             "timeoutMs": None, "artifacts": {},
             "unit": {"configFile": "pytest.ini", "tests": [placeholder], "retries": None, "args": [],
                      "options": None, "paths": ["tests"]}}
    browser_server.hold_between_invocations()  # as a serving runner does
    try:
        assert warm_up(event, env) == "a warm pytest server"
        [server] = warm.held_pids()
        result = run_pytest_unit(unit_payload(project, [PASSING], configFile="pytest.ini", options=SUITE_OPTIONS,
                                              paths=["tests"]),
                                 "run1", "u1", LocalDirectoryStore(tmp_path / "store"), time.monotonic() + 120, env)
        assert (result["runPath"], [t["status"] for t in result["tests"]]) == ("warm fork", ["passed"])
        assert warm.held_pids() == {server}  # forked from the server the warm-up started, not a new one
    finally:
        warm.stop_held()
        browser_server.stop_held()
