"""Fidelity through `hypertest invoke` (testRunner.type: pytest, local provider, 2 at a time): every test of
the pytest-playwright fixture suite ends as plain pytest says, and the run exits with the same meaning."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, load_results, validate_run_result
from tests.test_pytest_plugin import copy_pytest_suite, expected_record, junit_key, junit_outcomes, plain_env

pytestmark = pytest.mark.e2e


def test_invoke_on_a_pytest_suite_matches_plain_pytest(tmp_path: Path, chromium: str) -> None:
    plain_dir = copy_pytest_suite(tmp_path / "plain")
    plain = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--junitxml",
                            str(tmp_path / "plain.xml"), "--output", str(tmp_path / "plain-output")],
                           cwd=plain_dir, env=plain_env(FIXTURE_CHROMIUM=chromium,
                                                        HT_FIXTURE_STATE_DIR=str(tmp_path / "plain-state")),
                           capture_output=True, text=True, timeout=600, check=False)
    junit = junit_outcomes(tmp_path / "plain.xml")

    project = copy_pytest_suite(tmp_path / "hyper")
    (project / "hypertest.yml").write_text("testRunner:\n  type: pytest\nconcurrency: 2\n")
    listed = subprocess.run([sys.executable, str(ROOT / "entrypoint.py"), "list"], cwd=project,
                            env=plain_env(), capture_output=True, text=True, timeout=300, check=False)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    completed = subprocess.run([sys.executable, str(ROOT / "entrypoint.py"), "invoke", "--output",
                                str(tmp_path / "out")], cwd=project,
                               env=plain_env(HT_FIXTURE_STATE_DIR=str(tmp_path / "hyper-state")),
                               capture_output=True, text=True, timeout=900, check=False)
    result = load_results(tmp_path / "out")
    validate_run_result(result)

    records = {}
    for record in result["tests"]:
        node_id = "::".join([record["file"], *record["titlePath"]])
        records[node_id] = (record["status"], record["outcome"])
    expected = {}
    for node_id in records:
        key = junit_key(node_id)
        assert key in junit, f"{node_id} is not in plain pytest's run"
        expected[node_id] = expected_record(*junit[key])
    assert len(records) == len(junit) == 25
    assert records == expected
    # The same meaning: plain pytest fails (1) because of the same tests hypertest reports unexpected.
    assert plain.returncode == completed.returncode == 1, completed.stdout[-3000:] + completed.stderr
    assert result["stats"]["flaky"] == 1
    assert result["runner"] == {"name": "pytest", "version": plain_pytest_version(plain_dir)}
    assert "playwrightVersion" not in result  # Playwright runs only
    junit_xml = (Path(result["reports"]["junit"])).read_text()
    assert junit_xml.count("<testcase") == 25
    assert json.dumps(result).count("custom") >= 1  # the test's custom artifact is listed


def plain_pytest_version(project: Path) -> str:
    """The version of the pytest that runs the suite."""
    return subprocess.run([sys.executable, "-c", "import pytest; print(pytest.__version__)"], cwd=project,
                          env=plain_env(), capture_output=True, text=True, timeout=60, check=True).stdout.strip()
