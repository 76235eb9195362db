"""The run-level suite through the AWS path: phases, carried files and global hooks across invocations.

Every invocation of the loopback Invoke stand-in has its own copy of the project and its own network,
as Lambda gives each sandbox (tests/aws/sandbox.py), so each starts its own web server on the suite's
fixed port. The statuses and outcomes must be Playwright's (PLAYWRIGHT_SAYS is checked against a real
`playwright test` run in tests/test_runlevel_fidelity.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runner.node import find_node
from tests.aws.conftest import AwsWorld, aws_world
from tests.aws.processes import free_port
from tests.conftest import CliResult, load_results, validate_run_result
from tests.test_runlevel_fidelity import PLAYWRIGHT_SAYS, RUNLEVEL

pytestmark = pytest.mark.e2e

Cli = Callable[..., CliResult]


@pytest.fixture
def runlevel_aws(moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AwsWorld, Path]]:
    counts = tmp_path / "counts"
    monkeypatch.setenv("RUNLEVEL_COUNTS", str(counts))  # shared by the host and every invocation's copy
    monkeypatch.setenv("RUNLEVEL_PORT", str(free_port()))
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(find_node(os.environ)).parent), os.environ["PATH"]]))
    monkeypatch.delenv("CI", raising=False)
    with aws_world(moto, tmp_path, monkeypatch, source=RUNLEVEL) as world:
        yield world, counts


def test_runlevel_suite_on_aws_matches_playwright(runlevel_aws: tuple[AwsWorld, Path], cli: Cli,
                                                  tmp_path: Path) -> None:
    world, counts = runlevel_aws
    world.write_config()
    result = cli("invoke", "--output", str(tmp_path / "out"), cwd=world.project)
    assert result.code == 1, result.out + result.err
    document = load_results(tmp_path / "out")
    validate_run_result(document)
    got = {(r["project"], r["file"], tuple(r["titlePath"]), r["repeatEachIndex"]): (r["status"], r["outcome"])
           for r in document["tests"]}
    assert got == PLAYWRIGHT_SAYS
    lines = {path.stem: len(path.read_text().splitlines()) for path in counts.glob("*.log")}
    # globalSetup, its returned teardown and globalTeardown ran once, on this machine; the setup and
    # teardown projects once, in their invocations; each invocation started its own web server.
    assert {k: lines.get(k) for k in ("global-setup", "global-setup-returned-teardown", "global-teardown",
                                      "setup-project", "teardown-project")} == dict.fromkeys(
        ("global-setup", "global-setup-returned-teardown", "global-teardown", "setup-project", "teardown-project"), 1)
    # The global setup's server here, then one per invocation (the never-run dependents of the broken
    # setup had none, and are not among the units).
    assert lines["webserver"] == 1 + len(document["units"]) == 1 + sum(world.standin.executions.values())
    run = document["runId"]
    state = world.keys(f"hypertest/{run}/state/")
    assert f"hypertest/{run}/state/global-setup.tar.gz" in state  # what globalSetup wrote, for every copy
    assert len(state) >= 2  # and what the sign-in setup saved
    assert not (world.project / "playwright" / ".auth").exists()  # invocations wrote into their own copies
