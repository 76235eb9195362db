"""Read Playwright's own JSON report, and compare its statuses and outcomes with hypertest's."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Key = tuple[str, str, tuple[str, ...]]


def playwright_outcomes(report: Mapping[str, Any]) -> dict[Key, tuple[str, str]]:
    """(project, file, title path) -> (final status, outcome) from a `--reporter=json` document."""
    found: dict[Key, tuple[str, str]] = {}

    def walk(suite: Mapping[str, Any], titles: tuple[str, ...], file: str) -> None:
        for spec in suite.get("specs", []):
            for test in spec["tests"]:
                results = test["results"]
                status = results[-1]["status"] if results else "skipped"
                key = (test["projectName"], spec["file"], (*titles, spec["title"]))
                assert key not in found, f"duplicate test in Playwright's report: {key}"
                found[key] = (status, test["status"])
        for child in suite.get("suites", []):
            walk(child, (*titles, child["title"]), file)

    for file_suite in report["suites"]:
        walk(file_suite, (), file_suite["file"])
    return found


def differences(records: Iterable[Mapping[str, Any]], expected: Mapping[Key, tuple[str, str]]) -> list[str]:
    """Every way hypertest's records differ from Playwright's: missing, extra, twice, or other results."""
    problems: list[str] = []
    seen: dict[Key, tuple[str, str]] = {}
    for record in records:
        key = (record["project"], record["file"], tuple(record["titlePath"]))
        if key in seen:
            problems.append(f"reported twice: {key}")
        seen[key] = (record["status"], record["outcome"])
    for key, want in expected.items():
        got = seen.get(key)
        if got is None:
            problems.append(f"missing from hypertest: {key}")
        elif got != want:
            problems.append(f"{key}: hypertest says {got}, Playwright says {want}")
    problems.extend(f"not in Playwright's run: {key}" for key in seen if key not in expected)
    return problems
