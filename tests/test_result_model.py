"""One result model: runner/model.py's types agree with schema/*.json key by key, its error constructors
make schema-valid results, and what the runners really return (Playwright's and pytest's JS/Python
reporters, through the runner) uses no key the model does not have."""

from __future__ import annotations

import ast
import json
import typing
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource

from runner import model
from tests.conftest import DEMO, ROOT

UNIT_SCHEMA = json.loads((ROOT / "schema" / "result.schema.json").read_text(encoding="utf-8"))
RUN_SCHEMA = json.loads((ROOT / "schema" / "run-result.schema.json").read_text(encoding="utf-8"))
RECORD_EXTENSION = RUN_SCHEMA["properties"]["tests"]["items"]["allOf"][1]  # what results.json adds to a record


def keys_of(typed: Any) -> tuple[set[str], set[str]]:
    """(required keys, all keys) of a TypedDict (NotRequired read from the hints: with postponed
    annotations Python 3.11's __required_keys__ cannot see it)."""
    hints = typing.get_type_hints(typed, include_extras=True)
    optional = {key for key, hint in hints.items() if typing.get_origin(hint) is typing.NotRequired}
    return set(hints) - optional, set(hints)


def keys_of_schema(schema: dict[str, Any], *extensions: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(required, all properties) of an object schema."""
    required = set(schema.get("required", []))
    return required, required | set(schema["properties"]).union(*(e["properties"] for e in extensions))


@pytest.mark.parametrize(("typed", "schema", "extensions"), [
    (model.UnitResult, UNIT_SCHEMA, ()),
    (model.Attempt, UNIT_SCHEMA["$defs"]["attempt"], ()),
    (model.Artifact, UNIT_SCHEMA["$defs"]["artifact"], ()),
    (model.ErrorInfo, UNIT_SCHEMA["$defs"]["error"], ()),
    (model.TestRecord, UNIT_SCHEMA["$defs"]["testRecord"], (RECORD_EXTENSION,)),
    (model.RunResult, RUN_SCHEMA, ()),
    (model.Stats, RUN_SCHEMA["properties"]["stats"], ()),
    (model.UnitSummary, RUN_SCHEMA["properties"]["units"]["items"], ()),
    (model.Packed, RUN_SCHEMA["properties"]["packing"], ()),
    (model.RunnerInfo, RUN_SCHEMA["properties"]["runner"], ()),
], ids=["unit result", "attempt", "artifact", "error", "test record", "run result", "stats", "unit summary",
        "packing", "runner"])
def test_the_model_and_the_schema_have_the_same_keys(typed: Any, schema: dict[str, Any],
                                                     extensions: tuple[dict[str, Any], ...]) -> None:
    assert keys_of(typed) == keys_of_schema(schema, *extensions)


def test_the_error_constructors_make_valid_results() -> None:
    record = model.error_test_record(test_id="t1", project="p", file="a.spec.ts", title_path=["a"],
                                     message="the unit crashed", status="interrupted", line=3, column=5)
    result = model.error_unit_result("the unit crashed", run_id="r", unit_id="u", tests=[record])
    jsonschema.validate(result, UNIT_SCHEMA)
    assert result["tests"][0]["attempts"][0]["error"] == {"message": "the unit crashed", "stack": "",
                                                         "location": None}
    jsonschema.validate(model.error_unit_result("lost"), UNIT_SCHEMA)


def spelled_out(keys: set[str]) -> list[str]:
    """Where Python code below hypertest/ and runner/ (runner/model.py aside) writes a dict literal with
    all of keys: an error or an attempt made by hand instead of by the model's constructors."""
    found = []
    for path in sorted([*(ROOT / "hypertest").rglob("*.py"), *(ROOT / "runner").rglob("*.py")]):
        if path == ROOT / "runner" / "model.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict) and keys <= {k.value for k in node.keys if isinstance(k, ast.Constant)}:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


@pytest.mark.parametrize("keys", [{"message", "location"}, {"retry", "status", "durationMs", "error"}],
                         ids=["error", "attempt"])
def test_errors_and_attempts_are_made_by_the_model_constructors(keys: set[str]) -> None:
    assert spelled_out(keys) == []


def test_the_attempt_constructor_takes_the_first_error() -> None:
    first, second = model.error_info("first"), model.error_info("second", stack="at x", location=None)
    made = model.make_attempt(status="failed", retry=1, duration_ms=7, errors=[first, second])
    assert made == {"retry": 1, "status": "failed", "durationMs": 7, "startTime": None, "error": first,
                    "errors": [first, second]}
    assert model.make_attempt(status="skipped")["error"] is None
    jsonschema.validate(made, {**UNIT_SCHEMA["$defs"]["attempt"], "$defs": UNIT_SCHEMA["$defs"]})


@pytest.mark.parametrize(("change", "runner"), [
    ({}, "playwright"),
    ({"runner": {"name": "pytest", "version": "8.4.2"}, "playwrightVersion": None}, "pytest"),
    ({"runner": None}, None),  # a results.json of a version before `runner`: playwrightVersion only
], ids=["playwright run", "pytest run", "older file"])
def test_results_name_their_runner_and_older_files_still_load(tmp_path: Path, change: dict[str, Any],
                                                             runner: str | None) -> None:
    from hypertest.github.results_file import load_result
    from tests.github.fixtures import hostile_result

    document = {**hostile_result(), **change}
    document = {key: value for key, value in document.items() if value is not None}
    (tmp_path / "results.json").write_text(json.dumps(document), encoding="utf-8")
    loaded = load_result(tmp_path / "results.json")
    assert (loaded.get("runner") or {}).get("name") == runner


def test_only_playwright_adds_playwright_version() -> None:
    from hypertest.plugins.playwright.discovery import Discovery as PlaywrightDiscovery
    from hypertest.plugins.pytest.discovery import PytestDiscovery

    where = {"tests": (), "root_dir": ROOT, "config_file": ROOT / "x", "project_dir": ROOT}
    playwright = PlaywrightDiscovery(**where, playwright_version="1.65.1")  # type: ignore[arg-type]
    assert (playwright.runner_version, playwright.result_fields()) == ("1.65.1", {"playwrightVersion": "1.65.1"})
    pytest_run = PytestDiscovery(**where, pytest_version="8.4.2")  # type: ignore[arg-type]
    assert (pytest_run.runner_version, pytest_run.result_fields()) == ("8.4.2", {})


def _registry() -> Registry:
    return Registry().with_resources([(UNIT_SCHEMA["$id"], Resource.from_contents(UNIT_SCHEMA)),
                                      (RUN_SCHEMA["$id"], Resource.from_contents(RUN_SCHEMA))])


def assert_within_model(result: dict[str, Any]) -> None:
    """Every key of a real unit result, record, attempt, error and artifact is one the model has."""
    assert set(result) <= keys_of(model.UnitResult)[1]
    for record in result["tests"]:
        assert set(record) <= keys_of(model.TestRecord)[1], set(record) - keys_of(model.TestRecord)[1]
        for attempt in record["attempts"]:
            assert set(attempt) <= keys_of(model.Attempt)[1]
            for error in [attempt["error"], *attempt.get("errors", [])]:
                assert error is None or set(error) <= keys_of(model.ErrorInfo)[1]
        for artifact in record["artifacts"]:
            assert set(artifact) <= keys_of(model.Artifact)[1]


@pytest.mark.e2e
def test_what_the_playwright_runner_returns_is_in_the_model(tmp_path: Path, chromium: str) -> None:
    from runner.handler import handler
    from tests.test_runner import FakeContext, payload

    result = handler(payload(DEMO, tmp_path, [("todo.spec.ts", ("completing", "marks a todo done"))]),
                     FakeContext(120_000))
    jsonschema.Draft202012Validator(UNIT_SCHEMA, registry=_registry()).validate(result)
    assert result["tests"] and result["tests"][0]["attempts"]
    assert result["resources"]["peakMemoryMb"] > 50  # Node.js and Chromium below the runner
    assert_within_model(result)


@pytest.mark.e2e
def test_what_the_pytest_runner_returns_is_in_the_model(tmp_path: Path, chromium: str) -> None:
    from tests.test_pytest_plugin import copy_pytest_suite, plain_env, run_unit_process, unit_payload

    project = copy_pytest_suite(tmp_path / "suite")
    (tmp_path / "work").mkdir()
    result = run_unit_process(tmp_path / "work", "u1", unit_payload(project, [
        "tests/test_outcomes.py::test_fails", "tests/test_outcomes.py::test_custom_artifact"]),
        tmp_path / "store", plain_env(HT_FIXTURE_STATE_DIR=str(tmp_path / "state")))
    jsonschema.validate(result, UNIT_SCHEMA)
    assert len(result["tests"]) == 2 and any(r["artifacts"] for r in result["tests"])
    assert_within_model(result)
