"""The real-suite corpus (benchmarks/real_suites): its manifest is valid, and its comparison counts matches and
mismatches test by test on small synthetic reports. Nothing here runs a suite or reaches the network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks.real_suites.compare import (
    Mismatch,
    Outcome,
    compare,
    hypertest_outcomes,
    known_gap,
    playwright_outcomes,
    pytest_outcomes,
)
from benchmarks.real_suites.manifest import MANIFEST, SHAPES, ManifestError, load_manifest
from benchmarks.real_suites.run import checkout_problem, hypertest_config, judge


def test_the_manifest_names_five_pinned_suites_covering_every_shape() -> None:
    suites = load_manifest()
    assert len(suites) >= 5
    assert {shape for suite in suites for shape in suite.shapes} == set(SHAPES)
    for suite in suites:
        assert len(suite.commit) == 40
        assert suite.needs, suite.name


def test_a_manifest_with_a_short_commit_or_a_missing_shape_is_refused(tmp_path: Path) -> None:
    text = MANIFEST.read_text(encoding="utf-8")
    short = tmp_path / "short.toml"
    short.write_text(text.replace('commit = "c8f93ff3fc1093a3f46073bfbb2bc45e227f0a5e"', 'commit = "c8f93ff"'))
    with pytest.raises(ManifestError, match="40 lowercase hex"):
        load_manifest(short)
    no_esm = tmp_path / "no-esm.toml"
    no_esm.write_text(text.replace('shapes = ["esm-config"]', 'shapes = ["web-server"]'))
    with pytest.raises(ManifestError, match="esm-config"):
        load_manifest(no_esm)


def _spec(title: str, line: int, *tests: tuple[str, str, list[str]]) -> dict[str, Any]:
    return {"title": title, "file": "a.spec.ts", "line": line,
            "tests": [{"projectName": project, "status": outcome, "results": [{"status": s} for s in statuses]}
                      for project, outcome, statuses in tests]}


def _record(project: str, titles: list[str], status: str, outcome: str, error: str = "") -> dict[str, Any]:
    attempts = [{"status": status, "error": {"message": error}}] if error else [{"status": status}]
    return {"project": project, "file": "a.spec.ts", "titlePath": titles, "status": status, "outcome": outcome,
            "attempts": attempts}


PLAYWRIGHT_REPORT: dict[str, Any] = {"suites": [{"title": "a.spec.ts", "file": "a.spec.ts", "specs": [
    _spec("top", 3, ("desktop", "expected", ["passed"]), ("mobile", "expected", ["passed"])),
], "suites": [{"title": "group", "file": "a.spec.ts", "specs": [
    _spec("flaky one", 9, ("desktop", "flaky", ["failed", "passed"])),
    _spec("skipped", 12, ("desktop", "skipped", [])),
    _spec("broken", 15, ("desktop", "unexpected", ["timedOut"])),
]}]}]}


def test_playwright_outcomes_take_the_last_result_and_the_describe_titles() -> None:
    outcomes = playwright_outcomes(PLAYWRIGHT_REPORT)
    assert outcomes[("desktop", "a.spec.ts", ("top",), 0)].verdict == ("passed", "expected")
    assert outcomes[("desktop", "a.spec.ts", ("group", "flaky one"), 0)].verdict == ("passed", "flaky")
    assert outcomes[("desktop", "a.spec.ts", ("group", "skipped"), 0)].verdict == ("skipped", "skipped")
    assert outcomes[("desktop", "a.spec.ts", ("group", "broken"), 0)] == Outcome(("timedOut", "unexpected"), 15)
    assert len(outcomes) == 5


def test_compare_counts_matches_and_names_each_mismatch() -> None:
    results = {"tests": [
        _record("desktop", ["top"], "passed", "expected"),
        _record("mobile", ["top"], "failed", "unexpected", "Playwright detected inconsistent test.use() options"),
        _record("desktop", ["group", "flaky one"], "passed", "flaky"),
        _record("desktop", ["group", "skipped"], "skipped", "skipped"),
        _record("desktop", ["group", "extra"], "passed", "expected"),
    ]}
    comparison = compare(playwright_outcomes(PLAYWRIGHT_REPORT), hypertest_outcomes(results))
    assert (comparison.matched, comparison.total) == (3, 5)
    described = sorted(mismatch.describe() for mismatch in comparison.mismatches)
    assert described == [
        "[desktop] › a.spec.ts › group › broken: plain timedOut/unexpected, hypertest not reported",
        "[desktop] › a.spec.ts › group › extra: plain not reported, hypertest passed/expected",
        "[mobile] › a.spec.ts › top: plain passed/expected, hypertest failed/unexpected",
    ]
    mobile = next(m for m in comparison.mismatches if m.key[0] == "mobile")
    assert "item 1" in known_gap(mobile.hypertest.error if mobile.hypertest else "")


def test_pytest_junit_is_keyed_like_hypertest_records(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite>'
        '<testcase classname="tests.ui.test_a" name="test_ok" file="tests/ui/test_a.py" line="4"/>'
        '<testcase classname="tests.ui.test_a.TestBox" name="test_param[x-1]" file="tests/ui/test_a.py" line="9">'
        '<failure message="boom"/></testcase>'
        '<testcase classname="tests.ui.test_a" name="test_skip" file="tests/ui/test_a.py" line="12">'
        '<skipped type="pytest.skip" message="no"/></testcase>'
        '<testcase classname="tests.ui.test_a" name="test_xfail" file="tests/ui/test_a.py" line="15">'
        '<skipped type="pytest.xfail" message="known"/></testcase>'
        '</testsuite></testsuites>', encoding="utf-8")
    plain = pytest_outcomes(junit)
    results = {"tests": [
        {"project": "", "file": "tests/ui/test_a.py", "titlePath": ["test_ok"], "status": "passed",
         "outcome": "expected"},
        {"project": "", "file": "tests/ui/test_a.py", "titlePath": ["TestBox", "test_param[x-1]"],
         "status": "failed", "outcome": "unexpected"},
        {"project": "", "file": "tests/ui/test_a.py", "titlePath": ["test_skip"], "status": "skipped",
         "outcome": "skipped"},
        {"project": "", "file": "tests/ui/test_a.py", "titlePath": ["test_xfail"], "status": "passed",
         "outcome": "expected"},
    ]}
    comparison = compare(plain, hypertest_outcomes(results))
    assert (comparison.matched, comparison.total) == (3, 4)
    assert [m.key[2] for m in comparison.mismatches] == [("test_xfail",)]


def test_reruns_tell_a_flaky_test_from_a_difference_of_hypertest() -> None:
    key = ("p", "a.spec.ts", ("t",), 0)
    mismatch = Mismatch(key, Outcome(("passed", "expected")), Outcome(("failed", "unexpected")))
    assert judge(mismatch, [Outcome(("passed", "expected")), Outcome(("failed", "unexpected"))]).startswith(
        "genuinely flaky")
    assert judge(mismatch, [Outcome(("passed", "expected"))] * 3).startswith("hypertest's difference")
    assert judge(mismatch, [None, Outcome(("passed", "expected"))]).startswith("plain reruns vary")


def test_a_checkout_that_is_not_ready_is_named_with_what_to_prepare(tmp_path: Path) -> None:
    suite = load_manifest()[0]
    problem = checkout_problem(suite, tmp_path / suite.name)
    assert problem.startswith(f"{suite.name}: no checkout: check out {suite.repo} at {suite.commit}")
    assert "\n" not in problem


def test_the_written_hypertest_config_points_into_the_checkout(tmp_path: Path) -> None:
    pytest_suite = next(suite for suite in load_manifest() if suite.runner == "pytest")
    document = hypertest_config(pytest_suite, tmp_path / "checkout", tmp_path / "out")
    runner = document["testRunner"]
    assert runner["config"] == str(tmp_path / "checkout" / "pytest.ini")
    assert runner["python"] == str(tmp_path / "checkout" / pytest_suite.python)
    assert all(path.startswith(str(tmp_path / "checkout")) for path in runner["paths"])
    assert document["output"] == str(tmp_path / "out")
