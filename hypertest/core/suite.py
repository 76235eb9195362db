"""The suite as hypertest splits it: a discovered test (TestCase) and a unit of tests, their stable ids, and
the statuses and outcomes a test can end with. The result model (records, unit and run results) is
runner/model.py."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

STATUSES = ("passed", "failed", "timedOut", "skipped", "interrupted", "error")
OUTCOMES = ("expected", "unexpected", "flaky", "skipped")


@dataclass(frozen=True)
class TestCase:
    """One discovered test of one project."""

    __test__ = False  # not a pytest test class

    id: str
    project: str
    file: str
    line: int
    column: int
    title_path: tuple[str, ...]
    tags: tuple[str, ...]
    expected_status: str
    serial_group: str | None  # tests that must share one unit (Playwright's serial groups, pytest's groups)
    repeat_each_index: int | None = None  # set when the project repeats each test (repeatEach > 1)

    @property
    def title(self) -> str:
        """The title path joined the way Playwright prints it."""
        return " › ".join(self.title_path)

    @property
    def location(self) -> str:
        """`file:line:column`."""
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Unit:
    """The tests one invocation runs (how its runner selects them is the plugin's business)."""

    id: str
    tests: tuple[TestCase, ...]


def make_test_id(project: str, file: str, title_path: tuple[str, ...], repeat_each_index: int | None = None) -> str:
    """A stable id for a test: the same (project, file, title path, repetition) gives the same id in every run.

    repeat_each_index is None for projects that do not repeat their tests, so those ids never change.
    """
    identity: list[object] = [project, file, list(title_path)]
    if repeat_each_index is not None:
        identity.append(repeat_each_index)
    digest = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:12]
    readable = re.sub(r"[^A-Za-z0-9]+", "-", f"{project}-{title_path[-1] if title_path else ''}").strip("-")
    readable = readable[:40].rstrip("-").lower() or "test"
    if repeat_each_index is not None:
        readable += f"-r{repeat_each_index}"
    return f"{readable}-{digest}"


def make_unit_id(index: int, tests: tuple[TestCase, ...]) -> str:
    """A unit id: its position in the run plus a hash of its tests."""
    digest = hashlib.sha256("\n".join(sorted(t.id for t in tests)).encode()).hexdigest()[:8]
    return f"u{index:05d}-{digest}"
