"""Fidelity: hypertest's statuses and outcomes equal plain Playwright's on an awkward suite.

Both runs are real: Playwright 1.65 driving the system Chromium, once through `playwright test`
directly and once through `hypertest invoke` on the local provider.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from runner.node import find_node
from tests.conftest import ROOT, SUITE, copy_suite, load_results, validate_run_result
from tests.playwright_report import differences, playwright_outcomes

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> dict[str, Any]:
    """The suite run twice: directly with Playwright, and with hypertest (module-scoped: slow)."""
    base = tmp_path_factory.mktemp("fidelity")
    direct_dir = copy_suite(SUITE, base / "direct")
    env = {**os.environ, "SUITE_CHROMIUM": chromium, "PLAYWRIGHT_JSON_OUTPUT_NAME": str(base / "direct.json"),
           "FORCE_COLOR": "0"}
    cli = direct_dir / "node_modules" / "@playwright" / "test" / "cli.js"
    subprocess.run([find_node(os.environ), str(cli), "test", "--reporter=json", "--workers=2"],
                   cwd=direct_dir, env=env, check=False, capture_output=True, timeout=600)
    direct = json.loads((base / "direct.json").read_text(encoding="utf-8"))

    hyper_dir = copy_suite(SUITE, base / "hyper")
    output = base / "results"
    env = {k: v for k, v in os.environ.items() if k != "SUITE_CHROMIUM"}
    completed = subprocess.run(
        [str(Path(os.sys.executable)), str(ROOT / "entrypoint.py"), "invoke", "--output", str(output),
         "--concurrency", "2"],
        cwd=hyper_dir, env=env, check=False, capture_output=True, text=True, timeout=900)
    return {"direct": direct, "hyper": load_results(output), "completed": completed, "dirs": [direct_dir, hyper_dir],
            "output": output}


def test_every_status_and_outcome_matches_playwright(runs: dict[str, Any]) -> None:
    expected = playwright_outcomes(runs["direct"])
    assert len(expected) >= 60
    problems = differences(runs["hyper"]["tests"], expected)
    assert problems == []


def test_comparison_notices_a_changed_outcome(runs: dict[str, Any]) -> None:
    expected = playwright_outcomes(runs["direct"])
    tampered = [dict(record) for record in runs["hyper"]["tests"]]
    flaky = next(r for r in tampered if r["outcome"] == "flaky")
    flaky["outcome"] = "expected"
    assert len(differences(tampered, expected)) == 1
    assert len(differences(tampered[1:], expected)) == 2  # one missing, on top of the changed one
    assert differences([*runs["hyper"]["tests"], runs["hyper"]["tests"][0]], expected)


def test_exit_code_and_summary_tell_the_truth(runs: dict[str, Any]) -> None:
    completed = runs["completed"]
    assert completed.returncode == 1, completed.stderr
    summary = completed.stdout
    assert "FAILED:" in summary
    assert "[alpha] fails for real  [failed]" in summary
    assert "at core/outcomes.spec.ts:19:1" in summary
    assert "Expected: \"something else\"" in summary
    assert "[beta] times out  [timedOut]" in summary


def test_serial_group_ran_as_one_unit(runs: dict[str, Any]) -> None:
    records = {(r["project"], tuple(r["titlePath"])): r for r in runs["hyper"]["tests"]}
    group = [records[("alpha", ("a serial group", title))] for title in
             ("first step", "second step sees the first", "third step fails", "fourth step never runs")]
    assert len({r["unitId"] for r in group}) == 1
    assert [r["status"] for r in group] == ["passed", "passed", "failed", "skipped"]


def test_records_are_complete_and_valid(runs: dict[str, Any]) -> None:
    result = runs["hyper"]
    ids = [r["id"] for r in result["tests"]]
    assert len(ids) == len(set(ids)) == result["stats"]["total"]
    validate_run_result(result)
    fixture = next(r for r in result["tests"] if r["titlePath"] == ["passes with a fixture"])
    assert fixture["file"] == "core/outcomes.spec.ts"
    assert (fixture["line"], fixture["column"]) == (13, 1)
    nested = next(r for r in result["tests"] if r["titlePath"] == ["outer", "other", "same", "dup"])
    assert nested["file"] == "core/titles.spec.ts"
    tagged = next(r for r in result["tests"] if r["titlePath"] == ["tagged smoke test"])
    assert tagged["tags"] == ["@smoke", "@fast"]
    flaky = next(r for r in result["tests"] if r["outcome"] == "flaky")
    assert [a["status"] for a in flaky["attempts"]] == ["failed", "passed"]


def test_artifacts_and_reports_are_on_disk(runs: dict[str, Any]) -> None:
    result = runs["hyper"]
    run_dir = runs["output"] / result["runId"]
    custom = [r for r in result["tests"] if r["titlePath"] == ["writes a custom artifact"]]
    assert len(custom) == 2
    for record in custom:
        names = {a["name"] for a in record["artifacts"]}
        assert {f"notes/{record['project']}.txt", "shot.png"} <= names
        for artifact in record["artifacts"]:
            assert (run_dir / artifact["path"]).is_file()
            assert artifact["path"].startswith(record["id"] + "/")
    failing = next(r for r in result["tests"] if r["titlePath"] == ["fails for real"])
    contexts = [a for a in failing["artifacts"] if a["name"] == "error-context"]
    assert [a["attempt"] for a in contexts] == [0, 1]  # Playwright's failure context of each attempt
    for artifact in contexts:
        assert "something else" in (run_dir / artifact["path"]).read_text(encoding="utf-8")
    assert Path(result["reports"]["html"]).is_file()
    junit = ET.parse(result["reports"]["junit"]).getroot()
    assert int(junit.get("tests", "0")) == result["stats"]["total"]
    assert int(junit.get("failures", "0")) == result["stats"]["failed"]


def test_no_title_went_through_a_shell(runs: dict[str, Any]) -> None:
    for folder in [*runs["dirs"], runs["output"]]:
        assert not [p for p in folder.rglob("ht-shell-canary") if "node_modules" not in p.parts]
    for folder in (ROOT, Path.home(), Path("/tmp")):
        assert not (folder / "ht-shell-canary").exists()
    assert any("ht-shell-canary" in " ".join(r["titlePath"]) for r in runs["hyper"]["tests"])


def test_the_code_never_starts_a_shell() -> None:
    offenders = []
    for path in [*ROOT.joinpath("hypertest").rglob("*.py"), *ROOT.joinpath("runner").rglob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "shell":
                offenders.append(f"{path}:{node.value.lineno}: shell=")
            if isinstance(node, ast.Attribute) and node.attr in ("system", "popen", "create_subprocess_shell"):
                offenders.append(f"{path}:{node.lineno}: {node.attr}")
    assert offenders == []
