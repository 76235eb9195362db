"""Split discovered tests into invocation units that Playwright can select exactly: by --test-list lines
(Playwright 1.58 and newer), or by one grep pattern (older releases; runner/playwright/selection.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from hypertest.core.strings import encodable
from hypertest.core.suite import TestCase, Unit, make_unit_id
from hypertest.errors import UsageError
from runner.playwright.selection import grep_key

SEPARATOR = "›"


@dataclass(frozen=True)
class Selector:
    """One --test-list line: project, file and a title-path prefix (empty: the whole file)."""

    project: str
    file: str
    title_path: tuple[str, ...]


def build_units(tests: Sequence[TestCase], granularity: str) -> list[Unit]:
    """Units in discovery order: one per test (serial groups together) or one per file and project.

    --test-list matches title-path prefixes and trims titles, so tests that one line would select
    together share a unit (the repetitions of a test under repeatEach too), and a file with a title
    no line can express is selected whole. Where the runner selects by grep instead, tests of a file
    whose titles differ only by `@words` or by where spaces split them (one grep_key) share a unit.
    """
    for test in tests:
        _check_selectable(test)
    groups = _UnionFind(len(tests))
    by_file: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, test in enumerate(tests):
        by_file[(test.project, test.file)].append(index)
    for members in by_file.values():
        _join_file(tests, members, groups, granularity)
    units: dict[int, list[int]] = defaultdict(list)
    for index in range(len(tests)):
        units[groups.find(index)].append(index)
    ordered = sorted(units.values(), key=lambda members: members[0])
    result = []
    for number, members in enumerate(ordered):
        unit_tests = tuple(tests[i] for i in members)
        result.append(Unit(id=make_unit_id(number, unit_tests), tests=unit_tests))
    return result


def _join_file(tests: Sequence[TestCase], members: list[int], groups: _UnionFind, granularity: str) -> None:
    whole_file = granularity == "file" or any(not _expressible(tests[i]) for i in members)
    if whole_file:
        for index in members[1:]:
            groups.union(members[0], index)
        return
    serial: dict[str, int] = {}
    same_grep: dict[str, int] = {}
    for index in members:
        group = tests[index].serial_group
        if group is not None:
            groups.union(serial.setdefault(group, index), index)
        groups.union(same_grep.setdefault(grep_key(tests[index].title_path), index), index)
    for a in members:
        for b in members:
            if a != b and _selects(tests[a].title_path, tests[b].title_path):
                groups.union(a, b)


def selectors_of(unit_tests: Sequence[TestCase]) -> tuple[Selector, ...]:
    """The --test-list lines that select exactly a unit's tests (made by build_units, or packed by file):
    each test's title path, or its whole file when a title there cannot be written as a line."""
    selectors: list[Selector] = []
    files_whole = {(t.project, t.file) for t in unit_tests if not _expressible(t)}
    seen: set[Selector] = set()
    for test in unit_tests:
        whole = (test.project, test.file) in files_whole
        selector = Selector(test.project, test.file, () if whole else test.title_path)
        if selector not in seen:
            seen.add(selector)
            selectors.append(selector)
    return tuple(selectors)


def _selects(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    """Whether the --test-list line naming `short` also selects the test titled `long`."""
    return len(short) <= len(long) and long[: len(short)] == short


def _expressible(test: TestCase) -> bool:
    """Whether a --test-list line can name this test's titles exactly (a UTF-8 file: no lone surrogate)."""
    return all(title and title == title.strip() and SEPARATOR not in title and "\n" not in title
               and "\r" not in title and encodable(title) == title for title in test.title_path)


def _check_selectable(test: TestCase) -> None:
    for what, value in (("project name", test.project), ("file path", test.file)):
        if SEPARATOR in value or "\n" in value or value != value.strip():
            raise UsageError(f"{test.location}: the {what} {value!r} cannot be selected with Playwright's "
                             f"--test-list (it holds '{SEPARATOR}', a line break or edge spaces); rename it")


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)
