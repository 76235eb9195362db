"""Test-by-test comparison of a plain run (Playwright's JSON report, pytest's JUnit XML) with hypertest's
results.json, and the known gap each kind of difference points to.

A test is keyed by (project, file, title path, repetition); its verdict is (status, outcome) as
hypertest writes them: status passed|failed|timedOut|skipped|interrupted|error, outcome
expected|unexpected|flaky|skipped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Key = tuple[str, str, tuple[str, ...], int]  # project, file, title path, repetition (0 unless repeated)
Verdict = tuple[str, str]  # status, outcome


@dataclass(frozen=True)
class Outcome:
    """One test's verdict in one run, with what the runner said about it."""

    verdict: Verdict
    line: int = 0
    error: str = ""


@dataclass(frozen=True)
class Mismatch:
    """One test whose verdicts differ, or that only one side reported."""

    key: Key
    plain: Outcome | None
    hypertest: Outcome | None
    cause: str = ""

    def describe(self) -> str:
        """One line: the test, both verdicts, the cause."""
        project, file, titles, repetition = self.key
        name = " › ".join(part for part in (f"[{project}]" if project else "", file, *titles) if part)
        if repetition:
            name += f" (repeat {repetition})"
        plain = "/".join(self.plain.verdict) if self.plain else "not reported"
        hyper = "/".join(self.hypertest.verdict) if self.hypertest else "not reported"
        return f"{name}: plain {plain}, hypertest {hyper}" + (f" — {self.cause}" if self.cause else "")


@dataclass
class Comparison:
    """How many of the plain run's tests hypertest reported with the same verdict, and every difference."""

    total: int
    matched: int
    mismatches: list[Mismatch] = field(default_factory=list)


def _keyed(items: Iterable[tuple[tuple[str, str, tuple[str, ...]], Outcome]]) -> dict[Key, Outcome]:
    """Number repeated (project, file, title path) entries 0, 1, 2... in the order they come."""
    seen: Counter[tuple[str, str, tuple[str, ...]]] = Counter()
    found: dict[Key, Outcome] = {}
    for base, outcome in items:
        found[(*base, seen[base])] = outcome
        seen[base] += 1
    return found


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _first_error(result: Mapping[str, Any]) -> str:
    error = result.get("error") or next(iter(result.get("errors") or []), None) or {}
    text = str(error.get("message") or error.get("value") or "") if isinstance(error, Mapping) else str(error)
    return ANSI.sub("", text)


def playwright_outcomes(report: Mapping[str, Any]) -> dict[Key, Outcome]:
    """Every test of a `playwright test --reporter=json` document: last result's status, the test's outcome."""
    items: list[tuple[tuple[str, str, tuple[str, ...]], Outcome]] = []

    def walk(suite: Mapping[str, Any], titles: tuple[str, ...]) -> None:
        for spec in suite.get("specs", []):
            for test in spec.get("tests", []):
                results = test.get("results") or []
                status = str(results[-1]["status"]) if results else "skipped"
                error = _first_error(results[-1]) if results else ""
                items.append(((str(test.get("projectName", "")), str(spec["file"]), (*titles, str(spec["title"]))),
                              Outcome((status, str(test["status"])), int(spec.get("line", 0)), error)))
        for child in suite.get("suites", []):
            walk(child, (*titles, str(child["title"])))

    for file_suite in report.get("suites", []):
        walk(file_suite, ())
    return _keyed(items)


def junit_verdict(case: ET.Element) -> tuple[Verdict, str]:
    """A pytest JUnit testcase's verdict as hypertest records it, and its message."""
    for child in case:
        if child.tag in ("failure", "error"):
            return ("failed", "unexpected"), child.get("message", "")
        if child.tag == "skipped":
            if child.get("type") == "pytest.xfail":
                return ("failed", "expected"), child.get("message", "")
            return ("skipped", "skipped"), child.get("message", "")
    return ("passed", "expected"), ""


def junit_node_id(case: ET.Element) -> str:
    """The node id of a testcase of `-o junit_family=xunit1` (which writes the file): file::Class::name."""
    file = case.get("file", "")
    module = re.sub(r"\.py$", "", file).replace("/", ".")
    classname = case.get("classname", "")
    classes = classname[len(module) + 1:] if classname.startswith(module + ".") else ""
    return "::".join(part for part in (file, *classes.split("."), case.get("name", "")) if part)


def pytest_outcomes(xml_path: Path) -> dict[Key, Outcome]:
    """Every testcase of pytest's JUnit XML, keyed like hypertest's pytest records (no project)."""
    items: list[tuple[tuple[str, str, tuple[str, ...]], Outcome]] = []
    latest: dict[str, Outcome] = {}  # a rerun (pytest-rerunfailures) writes the test again: keep the last
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        verdict, message = junit_verdict(case)
        node_id = junit_node_id(case)
        latest[node_id] = Outcome(verdict, int(case.get("line") or 0) + 1, message)
    for node_id, outcome in latest.items():
        file, *titles = node_id.split("::")
        items.append((("", file, tuple(titles)), outcome))
    return _keyed(items)


def hypertest_outcomes(results: Mapping[str, Any]) -> dict[Key, Outcome]:
    """Every record of hypertest's results.json, with the last attempt's error."""
    found: dict[Key, Outcome] = {}
    for record in results.get("tests", []):
        attempts = record.get("attempts") or []
        error = _first_error(attempts[-1]) if attempts else ""
        key: Key = (str(record.get("project", "")), str(record["file"]), tuple(str(t) for t in record["titlePath"]),
                    int(record.get("repeatEachIndex") or 0))
        found[key] = Outcome((str(record["status"]), str(record["outcome"])), int(record.get("line") or 0), error)
    return found


@dataclass(frozen=True)
class UnitFigures:
    """How hypertest's units ran: how many took each path (results.json's units[].runPath), and the median
    overhead of a unit (its duration minus its tests' own, every attempt counted)."""

    paths: dict[str, int]
    median_overhead_s: float | None

    def describe(self) -> str:
        """One line: `units: warm host (options) 60, command line 2; median unit overhead 0.42 s`."""
        paths = ", ".join(f"{path} {count}" for path, count in sorted(self.paths.items(), key=lambda p: -p[1]))
        overhead = "–" if self.median_overhead_s is None else f"{self.median_overhead_s:.2f} s"
        return f"units: {paths or 'none'}; median unit overhead {overhead}"


def unit_figures(results: Mapping[str, Any]) -> UnitFigures:
    """The paths and the median overhead of a results.json document's units."""
    tests = {test["id"]: sum(int(a.get("durationMs") or 0) for a in test.get("attempts") or [])
             for test in results.get("tests") or []}
    paths: Counter[str] = Counter()
    overheads = []
    for unit in results.get("units") or []:
        paths[str(unit.get("runPath") or "not said")] += 1
        if unit.get("status") == "ok" and unit.get("durationMs"):
            overheads.append(int(unit["durationMs"]) - sum(tests.get(test, 0) for test in unit.get("tests") or []))
    overheads.sort()
    median = overheads[len(overheads) // 2] / 1000 if overheads else None
    return UnitFigures(dict(paths), median)


def compare(plain: Mapping[Key, Outcome], hypertest: Mapping[Key, Outcome]) -> Comparison:
    """Test by test: the plain run's tests are the total; a test matches when hypertest gave the same verdict."""
    comparison = Comparison(total=len(plain), matched=0)
    for key, want in plain.items():
        got = hypertest.get(key)
        if got is not None and got.verdict == want.verdict:
            comparison.matched += 1
        else:
            comparison.mismatches.append(Mismatch(key, want, got))
    comparison.mismatches.extend(Mismatch(key, None, got) for key, got in hypertest.items() if key not in plain)
    return comparison


# Known gaps of issue 18, as the words hypertest or the runner prints when one is hit. Checked in order.
KNOWN_GAPS: tuple[tuple[str, str], ...] = (
    (r"inconsistent test\.use\(\) options",
     "warm worker reused across projects/files with different `use` (issue 18 item 1)"),
    (r"hypertest-run-session",
     "the run session's extra project shows through to the user's config (issue 18 item 2)"),
    (r"exports is not defined in ES module scope|require\(\) of ES Module|ERR_REQUIRE_ESM|Cannot use import statement"
     r"|ERR_REQUIRE_ASYNC_MODULE|top-level await",
     "ESM config loaded with require() instead of Playwright's loader (issue 18 item 3)"),
    (r"Playwright did not run this test: no result was reported",
     "this Playwright version selects differently from --test-list (issue 18 item 4)"),
    (r"unknown key; expected one of.*(python|paths|args)|testRunner\.(python|paths|args): unknown key",
     "testRunner.python/paths/args not supported yet (issue 18 items 5 and 6)"),
    (r"ModuleNotFoundError|No module named|ImportError while importing",
     "pytest ran with another Python than the suite's (issue 18 item 5)"),
    (r"--numprocesses|xdist", "pytest-xdist arguments reached a unit (issue 18 item 6)"),
    (r"maxFailures|max failures", "the config's maxFailures not honoured (issue 18 item 7)"),
    (r"Cannot navigate to invalid URL",
     "a relative page.goto without baseURL: webServer.port's implied baseURL (Playwright sets "
     "PLAYWRIGHT_TEST_BASE_URL for its workers) did not reach the units (not in issue 18)"),
    (r"is older than 1\.40, the oldest Playwright hypertest supports",
     "Playwright older than 1.40, which hypertest refuses by design (issue 18 item 4: the oldest supported)"),
)


def known_gap(*texts: str) -> str:
    """The known gap whose words appear in any of texts, or ""."""
    joined = "\n".join(texts)
    for pattern, gap in KNOWN_GAPS:
        if re.search(pattern, joined, re.IGNORECASE):
            return gap
    return ""
