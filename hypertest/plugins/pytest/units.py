"""Units of a pytest suite: one test each, the tests of a group (xdist_group, hypertest_together) together,
or one file each with granularity file."""

from __future__ import annotations

from collections.abc import Sequence

from hypertest.core.plan import Phase, RunPlan
from hypertest.core.suite import TestCase, Unit, make_unit_id


def plan_units(tests: Sequence[TestCase], granularity: str) -> RunPlan:
    """One phase of units, in the order pytest collected the tests."""
    keyed: dict[str, list[TestCase]] = {}
    for test in tests:
        key = f"file:{test.file}" if granularity == "file" else (
            f"group:{test.serial_group}" if test.serial_group else f"test:{test.id}")
        keyed.setdefault(key, []).append(test)
    units = tuple(Unit(id=make_unit_id(index, tuple(group)), tests=tuple(group))
                  for index, group in enumerate(keyed.values()))
    return RunPlan(phases=(Phase(units),) if units else ())
