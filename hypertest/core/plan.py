"""A run in phases: units of one phase run together; a group runs only when the groups it requires passed.

A group is a project. This is how Playwright runs setup projects (their dependents wait for them, and
do not run when one of their tests failed) and teardown projects (after everything that depends on
their setup).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from hypertest.core.suite import Unit
from runner.model import TestRecord

OK_OUTCOMES = ("expected", "flaky", "skipped")


@dataclass(frozen=True)
class Phase:
    """Units that may run at the same time; a phase starts when the one before it has finished."""

    units: tuple[Unit, ...]


@dataclass(frozen=True)
class RunPlan:
    """The phases of a run, and which groups each group requires to have passed."""

    phases: tuple[Phase, ...]
    requires: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def units(self) -> list[Unit]:
        """Every unit of every phase, in phase order."""
        return [unit for phase in self.phases for unit in phase.units]


def group_of(unit: Unit) -> str:
    """The group (project) a unit belongs to."""
    return unit.tests[0].project if unit.tests else ""


class Gate:
    """Decides from finished records whether a group may run: every group it requires passed."""

    def __init__(self, requires: Mapping[str, tuple[str, ...]]) -> None:
        self._requires = requires
        self._failed_groups: set[str] = set()

    def record(self, records: Iterable[TestRecord]) -> None:
        """Note finished records; a group with a record that is not ok has not passed."""
        for record in records:
            if record["outcome"] not in OK_OUTCOMES or record["status"] == "error":
                self._failed_groups.add(record["project"])

    def blocking(self, group: str) -> tuple[str, ...]:
        """The required groups (direct or further up) that did not pass; empty: the group may run."""
        return tuple(required for required in self._requires.get(group, ()) if not self._passed(required, 0))

    def _passed(self, group: str, depth: int) -> bool:
        if depth > len(self._requires) or group in self._failed_groups:
            return False
        return all(self._passed(required, depth + 1) for required in self._requires.get(group, ()))
