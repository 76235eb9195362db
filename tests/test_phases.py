"""Phases of a run: dependencies first, teardowns last, dependents of a failed setup held back; repeatEach."""

from __future__ import annotations

import pytest

from hypertest.core.plan import Gate, group_of
from hypertest.core.suite import TestCase, make_test_id
from hypertest.errors import UsageError
from hypertest.plugins.playwright.phases import plan_phases, project_role
from hypertest.plugins.playwright.run_level import ProjectInfo, RunLevel, WebServerInfo, with_overrides
from hypertest.plugins.playwright.units import build_units
from runner.payload import PayloadError, parse_payload


def project(name: str, *deps: str, teardown: str | None = None) -> ProjectInfo:
    return ProjectInfo(name=name, dependencies=deps, teardown=teardown, repeat_each=1, retries=0, output_dir=None)


def case(project_name: str, title: str, repeat: int | None = None) -> TestCase:
    return TestCase(id=make_test_id(project_name, "a.spec.ts", (title,), repeat), project=project_name,
                    file="a.spec.ts", line=1, column=1, title_path=(title,), tags=(), expected_status="passed",
                    serial_group=None, repeat_each_index=repeat)


def phase_projects(projects: list[ProjectInfo], tests: list[TestCase]) -> list[list[str]]:
    plan = plan_phases(projects, build_units(tests, "test"))
    return [sorted({group_of(unit) for unit in phase.units}) for phase in plan.phases]


def test_setup_first_teardown_after_every_dependent() -> None:
    projects = [project("setup", teardown="cleanup"), project("cleanup"), project("app", "setup"),
                project("deep", "app"), project("alone")]
    tests = [case(p.name, "t") for p in projects]
    assert phase_projects(projects, tests) == [["alone", "setup"], ["app"], ["deep"], ["cleanup"]]


def test_a_project_without_dependencies_shares_the_first_phase() -> None:
    projects = [project("a"), project("b")]
    plan = plan_phases(projects, build_units([case("a", "x"), case("b", "y")], "test"))
    assert len(plan.phases) == 1 and plan.requires == {}


def test_phases_skip_projects_with_no_tests() -> None:
    projects = [project("setup"), project("app", "setup"), project("other", "app")]
    assert phase_projects(projects, [case("app", "t"), case("other", "u")]) == [["app"], ["other"]]


def test_a_dependency_cycle_and_an_unknown_project_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="cycle: 'a', 'b'"):
        plan_phases([project("a", "b"), project("b", "a")], [])
    with pytest.raises(UsageError, match="names 'nope'"):
        plan_phases([project("a", "nope")], [])
    with pytest.raises(UsageError, match="names 'gone'"):
        plan_phases([project("a", teardown="gone")], [])


def test_project_roles_for_listing() -> None:
    projects = [project("setup", teardown="cleanup"), project("cleanup"), project("app", "setup")]
    assert [project_role(p.name, projects) for p in projects] == [" (setup)", " (teardown)", ""]


def record(project_name: str, outcome: str, status: str = "passed") -> dict[str, str]:
    return {"project": project_name, "outcome": outcome, "status": status}


def test_gate_blocks_dependents_of_a_failed_setup_and_their_dependents() -> None:
    gate = Gate({"app": ("setup",), "deep": ("app",), "other": ("fine",)})
    gate.record([record("setup", "expected"), record("setup", "unexpected", "failed"), record("fine", "flaky")])
    assert gate.blocking("app") == ("setup",)
    assert gate.blocking("deep") == ("app",)  # app did not pass: it did not run at all
    assert gate.blocking("other") == ()
    assert gate.blocking("setup") == ()


def test_gate_treats_skipped_and_flaky_as_passed_but_not_errors() -> None:
    gate = Gate({"app": ("setup",), "b": ("crashed",)})
    gate.record([record("setup", "skipped", "skipped"), record("setup", "flaky"),
                 record("crashed", "unexpected", "error")])
    assert gate.blocking("app") == ()
    assert gate.blocking("b") == ("crashed",)


def test_repetitions_share_a_unit_and_have_ids_of_their_own() -> None:
    tests = [case("r", "t", 0), case("r", "t", 1), case("r", "u", 0)]
    units = build_units(tests, "test")
    assert [[t.repeat_each_index for t in u.tests] for u in units] == [[0, 1], [0]]
    assert len({t.id for t in tests}) == 3
    assert tests[1].id.startswith("r-t-r1-")
    assert make_test_id("r", "a.spec.ts", ("t",)) != make_test_id("r", "a.spec.ts", ("t",), 0)


def test_payload_carries_run_level_choices() -> None:
    event = {"configFile": "c.ts",
             "tests": [{"id": "i", "project": "p", "file": "f", "titlePath": ["t"], "repeatEachIndex": 2}],
             "selectors": [{"project": "p", "file": "f", "titlePath": ["t"]}],
             "noDeps": True, "omit": ["webServer"], "env": {"A": "1"}, "use": {"baseURL": "http://x"},
             "webServer": False, "maxFailures": 2}
    envelope = {"runner": "playwright", "runId": "r", "unitId": "u", "projectDir": "/p", "unit": event}
    payload = parse_payload(envelope)
    assert (payload.max_failures, parse_payload({**envelope, "unit": {**event, "maxFailures": None}}).max_failures) \
        == (2, None)
    assert payload.tests[0].key == ("p", "f", ("t",), 2)
    assert (payload.no_deps, payload.omit, payload.env) == (True, frozenset({"webServer"}), {"A": "1"})
    assert (payload.use_override, payload.web_server_override) == ({"baseURL": "http://x"}, False)
    for bad, where in (({"omit": ["everything"]}, "omit"), ({"env": {"A": 1}}, "env"),
                       ({"use": "x"}, "use"), ({"webServer": "node x"}, "webServer"),
                       ({"maxFailures": 0}, "maxFailures"), ({"maxFailures": True}, "maxFailures"),
                       ({"retries": -1}, "retries")):
        with pytest.raises(PayloadError, match=f"unit.{where}"):
            parse_payload({**envelope, "unit": {**event, **bad}})
    with pytest.raises(PayloadError, match="unit: expected an object"):
        parse_payload({**envelope, "unit": None})


def test_web_server_override_replaces_or_removes_the_configs() -> None:
    configured = RunLevel(web_servers=(WebServerInfo("npm start", None, 3000),), global_setups=("g.ts",))
    assert with_overrides(configured, None) == configured
    assert with_overrides(configured, False).web_servers == ()
    replaced = with_overrides(configured, {"command": "node s.js", "url": "http://127.0.0.1:1/health"})
    assert [(s.command, s.address) for s in replaced.web_servers] == [("node s.js", "http://127.0.0.1:1/health")]
    assert replaced.global_setups == ("g.ts",)
