"""A pytest-playwright suite through the AWS path: invoke sends each test as one Invoke to the loopback
stand-in (each invocation in its own copy of the project and network, as a Lambda sandbox), and every
test ends as plain pytest says."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.aws.conftest import aws_world
from tests.conftest import CliResult, load_results, validate_run_result
from tests.test_pytest_plugin import SUITE, copy_pytest_suite, expected_record, junit_key, junit_outcomes, plain_env

pytestmark = pytest.mark.e2e

Cli = Callable[..., CliResult]


def test_a_pytest_suite_on_aws_matches_plain_pytest(moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     cli: Cli, chromium: str) -> None:
    plain_dir = copy_pytest_suite(tmp_path / "plain")
    subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--junitxml", str(tmp_path / "p.xml"),
                    "--output", str(tmp_path / "plain-output")], cwd=plain_dir,
                   env=plain_env(FIXTURE_CHROMIUM=chromium, HT_FIXTURE_STATE_DIR=str(tmp_path / "plain-state")),
                   capture_output=True, text=True, timeout=600, check=False)
    junit = junit_outcomes(tmp_path / "p.xml")

    monkeypatch.setenv("HT_FIXTURE_STATE_DIR", str(tmp_path / "aws-state"))  # the sandboxes' flaky counter
    with aws_world(moto, tmp_path, monkeypatch, source=SUITE) as world:
        config = json.loads(world.write_config().read_text())
        config["testRunner"] = {"type": "pytest"}
        (world.project / "hypertest.yml").write_text(json.dumps(config))
        result = cli("invoke", "--output", str(tmp_path / "out"), cwd=world.project)
        executions = sum(world.standin.executions.values())
        keys = world.keys("hypertest/")
    assert result.code == 1, result.out + result.err
    document = load_results(tmp_path / "out")
    validate_run_result(document)
    got = {"::".join([r["file"], *r["titlePath"]]): (r["status"], r["outcome"]) for r in document["tests"]}
    assert got == {node_id: expected_record(*junit[junit_key(node_id)]) for node_id in got}
    assert len(got) == len(junit) == 25 and executions == len(document["units"]) == 24  # a group shares a unit
    assert any("/custom/" in key for key in keys)  # a test's own file went to S3
    assert document["provider"] == "aws"
