"""Order units into phases the way Playwright orders projects: dependencies first, teardowns last."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from hypertest.core.plan import Phase, RunPlan, group_of
from hypertest.core.suite import Unit
from hypertest.errors import UsageError
from hypertest.plugins.playwright.discovery import Discovery
from hypertest.plugins.playwright.run_level import ProjectInfo
from hypertest.plugins.playwright.units import build_units


def plan_phases(projects: Sequence[ProjectInfo], units: Sequence[Unit]) -> RunPlan:
    """Phases of units: a project runs after its dependencies, a teardown project after every project
    that depends on its setups. Projects in one phase run together, as in Playwright."""
    by_name = {project.name: project for project in projects}
    _check(projects, by_name)
    level = _levels(projects, by_name)
    grouped: dict[int, list[Unit]] = defaultdict(list)
    for unit in units:
        grouped[level.get(group_of(unit), 0)].append(unit)
    phases = [Phase(tuple(grouped[number])) for number in sorted(grouped)]
    requires = {project.name: project.dependencies for project in projects if project.dependencies}
    return RunPlan(phases=tuple(phases), requires=requires)


def _check(projects: Sequence[ProjectInfo], by_name: dict[str, ProjectInfo]) -> None:
    for project in projects:
        for name in (*project.dependencies, *([project.teardown] if project.teardown else [])):
            if name not in by_name:
                raise UsageError(f"project {project.name!r} names {name!r} as a dependency or teardown, "
                                 "but the Playwright config has no project of that name")


def _dependents(setups: Sequence[ProjectInfo], projects: Sequence[ProjectInfo]) -> set[str]:
    """The projects that depend on any of the setups, directly or further down (with their teardowns)."""
    reverse: dict[str, list[str]] = defaultdict(list)
    for project in projects:
        for dependency in project.dependencies:
            reverse[dependency].append(project.name)
    by_name = {project.name: project for project in projects}
    found: set[str] = set()
    pending = [setup.name for setup in setups]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        pending.extend(reverse[name])
        teardown = by_name[name].teardown
        if teardown:
            pending.append(teardown)
    return found


def _levels(projects: Sequence[ProjectInfo], by_name: dict[str, ProjectInfo]) -> dict[str, int]:
    teardown_setups: dict[str, list[ProjectInfo]] = defaultdict(list)
    for project in projects:
        if project.teardown:
            teardown_setups[project.teardown].append(project)
    wait_for = {project.name: set(project.dependencies) for project in projects}
    for teardown, setups in teardown_setups.items():
        wait_for[teardown] |= _dependents(setups, projects) - {teardown}
    level: dict[str, int] = {}
    for number in range(len(projects)):
        ready = [name for name, needs in wait_for.items() if name not in level and needs <= level.keys()]
        if not ready:
            break
        for name in ready:
            level[name] = number
    stuck = sorted(set(by_name) - level.keys())
    if stuck:
        raise UsageError("the Playwright projects' dependencies form a cycle: " + ", ".join(repr(s) for s in stuck))
    return level


def plan_run(discovery: Discovery, granularity: str) -> RunPlan:
    """The run's units, in the phases their projects' dependencies and teardowns put them in."""
    return plan_phases(discovery.projects, build_units(discovery.tests, granularity))


def project_role(name: str, projects: Sequence[ProjectInfo]) -> str:
    """' (setup)' or ' (teardown)' for a project others depend on or that tears a setup down, else ''."""
    if any(project.teardown == name for project in projects):
        return " (teardown)"
    if any(name in project.dependencies for project in projects):
        return " (setup)"
    return ""
