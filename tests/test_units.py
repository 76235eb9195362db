"""Splitting tests into units that --test-list selects exactly."""

from __future__ import annotations

import pytest

from hypertest.core.suite import TestCase, make_test_id
from hypertest.errors import UsageError
from hypertest.plugins.playwright.units import build_units, selectors_of


def case(*titles: str, project: str = "p", file: str = "a.spec.ts", serial: str | None = None) -> TestCase:
    return TestCase(id=make_test_id(project, file, titles), project=project, file=file, line=1, column=1,
                    title_path=titles, tags=(), expected_status="passed", serial_group=serial)


def test_one_unit_per_test_with_exact_selectors() -> None:
    tests = [case("a"), case("d", "b"), case("a", file="b.spec.ts")]
    units = build_units(tests, "test")
    assert [len(u.tests) for u in units] == [1, 1, 1]
    assert [(s.file, s.title_path) for u in units for s in selectors_of(u.tests)] == [
        ("a.spec.ts", ("a",)), ("a.spec.ts", ("d", "b")), ("b.spec.ts", ("a",))]


def test_serial_groups_stay_together() -> None:
    tests = [case("s", "1", serial="g"), case("x"), case("s", "2", serial="g"),
             case("s", "1", project="q", serial="g")]
    units = build_units(tests, "test")
    assert [[t.title for t in u.tests] for u in units] == [["s › 1", "s › 2"], ["x"], ["s › 1"]]
    assert units[2].tests[0].project == "q"


def test_a_title_that_prefixes_another_shares_its_unit() -> None:
    tests = [case("dup"), case("dup", "inner"), case("other")]
    units = build_units(tests, "test")
    assert [[t.title for t in u.tests] for u in units] == [["dup", "dup › inner"], ["other"]]


def test_inexpressible_titles_select_the_whole_file() -> None:
    tests = [case(" padded "), case("fine"), case("a › b"), case("elsewhere", file="b.spec.ts")]
    units = build_units(tests, "test")
    assert len(units) == 2
    assert [s.title_path for s in selectors_of(units[0].tests)] == [()]
    assert len(units[0].tests) == 3


def test_file_granularity_keeps_exact_selectors() -> None:
    tests = [case("a"), case("b"), case("a", project="q")]
    units = build_units(tests, "file")
    assert [[t.title for t in u.tests] for u in units] == [["a", "b"], ["a"]]
    assert [s.title_path for s in selectors_of(units[0].tests)] == [("a",), ("b",)]


def test_ids_are_stable_and_distinct() -> None:
    assert make_test_id("p", "a.ts", ("x", "y")) == make_test_id("p", "a.ts", ("x", "y"))
    assert make_test_id("p", "a.ts", ("x", "y")) != make_test_id("p", "a.ts", ("x y",))
    assert make_test_id("p", "a.ts", ("x",)) != make_test_id("q", "a.ts", ("x",))
    unit_ids = {u.id for u in build_units([case("a"), case("b")], "test")}
    assert len(unit_ids) == 2


def test_unselectable_project_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="project name"):
        build_units([case("a", project="x › y")], "test")


def test_titles_one_grep_pattern_cannot_tell_apart_share_a_unit() -> None:
    # Where the runner selects by grep (Playwright before 1.58), titles are joined by spaces and tags may
    # follow each title: these pairs look the same to one pattern, so they run together.
    tests = [case("joined", "a b"), case("joined a", "b"), case("login"), case("login @smoke"),
             case("x", "@tag y"), case("x y"), case("joined a b", file="b.spec.ts")]
    units = build_units(tests, "test")
    assert [[t.title for t in u.tests] for u in units] == [
        ["joined › a b", "joined a › b"], ["login", "login @smoke"], ["x › @tag y", "x y"], ["joined a b"]]


def test_a_playwright_older_than_the_matrix_is_refused_with_its_version() -> None:
    from hypertest.plugins.playwright.discovery import _check_supported

    for version in ("1.40.0", "1.56.1", "1.65.2", "2.0.0", ""):
        _check_supported(version)
    with pytest.raises(UsageError, match=r"@playwright/test 1\.39\.0 is older than 1\.40") as raised:
        _check_supported("1.39.0")
    assert raised.value.exit_code == 2
