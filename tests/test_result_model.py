"""One result model: runner/model.py's types agree with schema/*.json key by key, its error constructors
make schema-valid results, and what the runners really return (Playwright's and pytest's JS/Python
reporters, through the runner) uses no key the model does not have."""

from __future__ import annotations

import ast
import json
import os
import typing
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource

from runner import model
from tests.conftest import ROOT

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
    (model.TriageInfo, RUN_SCHEMA["properties"]["triage"], ()),
    (model.TriageCounts, RUN_SCHEMA["properties"]["triage"]["properties"]["counts"], ()),
    (model.HistoryUse, RUN_SCHEMA["properties"]["history"], ()),
    (model.Triage, RUN_SCHEMA["properties"]["tests"]["items"]["allOf"][1]["properties"]["triage"], ()),
], ids=["unit result", "attempt", "artifact", "error", "test record", "run result", "stats", "unit summary",
        "packing", "runner", "triage", "triage counts", "history", "test triage"])
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


MODEL = {"record": model.TestRecord, "attempt": model.Attempt, "error": model.ErrorInfo,
         "location": model.ErrorLocation, "artifact": model.Artifact}
ADDED_BY_HOST = {"record": {"tags", "unitId", "repeatEachIndex", "infra", "triage", "quarantined"},  # results.json's
                 "attempt": {"sandbox"},  # core copies the unit's sandbox into its attempts
                 "artifact": {"url"}}  # a link to the stored artifact, where the store has links
PYTEST_ONLY = {"attempt": {"setupMs", "teardownMs"}}  # pytest reports its phases; Playwright's reporter API does not


def keys_seen(result: dict[str, Any]) -> dict[str, set[str]]:
    """Every key a unit result's records, attempts, errors, error locations and artifacts use, by kind."""
    seen: dict[str, set[str]] = {kind: set() for kind in MODEL}
    for record in result["tests"]:
        seen["record"] |= set(record)
        for attempt in record["attempts"]:
            seen["attempt"] |= set(attempt)
            for error in [attempt["error"], *attempt.get("errors", [])]:
                seen["error"] |= set(error or {})
                seen["location"] |= set((error or {}).get("location") or {})
        for artifact in record["artifacts"]:
            seen["artifact"] |= set(artifact)
    return seen


def assert_within_model(result: dict[str, Any]) -> None:
    """Every key of a real unit result, record, attempt, error and artifact is one the model has."""
    assert set(result) <= keys_of(model.UnitResult)[1]
    for kind, keys in keys_seen(result).items():
        assert keys <= keys_of(MODEL[kind])[1], (kind, keys - keys_of(MODEL[kind])[1])


FAILING_CONFIG = """import { defineConfig } from '@playwright/test';
export default defineConfig({ testDir: './tests', retries: 1, use: { trace: 'on' }, projects: [{ name: 'chromium' }] });
"""
FAILING_TEST = """import { test, expect } from '@playwright/test';
test('fails with an attachment', async ({ page }, testInfo) => {
  await testInfo.attach('note', { body: 'hello', contentType: 'text/plain' });
  await page.setContent('<p>hi</p>');
  expect(1).toBe(2);
});
"""


@pytest.mark.e2e
def test_what_the_playwright_runner_returns_is_in_the_model(tmp_path: Path, chromium: str) -> None:
    from runner.handler import handler
    from tests.conftest import small_project
    from tests.test_runner import FakeContext, payload

    # A failing test retried once, with a trace per attempt and an attachment: errors, their locations,
    # retries and artifacts all reach the check, not only a passing test's keys.
    project = small_project(tmp_path / "project", FAILING_CONFIG, {"tests/a.spec.ts": FAILING_TEST})
    result = handler(payload(project, tmp_path / "store", [("a.spec.ts", ("fails with an attachment",))]),
                     FakeContext(120_000))
    jsonschema.Draft202012Validator(UNIT_SCHEMA, registry=_registry()).validate(result)
    [record] = result["tests"]
    assert [(a["retry"], a["status"]) for a in record["attempts"]] == [(0, "failed"), (1, "failed")]
    assert all(a["error"] and a["error"]["location"] for a in record["attempts"])
    assert {(a["name"], a["attempt"]) for a in record["artifacts"]} >= {("note", 0), ("note", 1), ("trace", 0),
                                                                        ("trace", 1)}
    assert result["resources"]["peakMemoryMb"] > 50  # Node.js and Chromium below the runner
    assert_within_model(result)
    assert keys_seen(result) == {kind: keys_of(typed)[1] - ADDED_BY_HOST.get(kind, set()) - PYTEST_ONLY.get(kind, set())
                                 for kind, typed in MODEL.items()}  # and the model has no key it never writes


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
    assert keys_seen(result)["attempt"] >= PYTEST_ONLY["attempt"]


LISTING = {"listing": "Listing", "test": "ListedTest", "project": "ListedProject", "runLevel": "ListedRunLevel",
           "webServer": "ListedWebServer", "error": "ListedError", "location": "ListedLocation"}


def listing_keys_seen(document: dict[str, Any]) -> dict[str, set[str]]:
    """Every key the list reporter's document uses, by kind."""
    run_level = document.get("runLevel") or {}
    errors = document.get("errors") or []
    return {"listing": set(document),
            "test": set().union(*map(set, document.get("tests") or [])),
            "project": set().union(*map(set, document.get("projects") or [])),
            "runLevel": set(run_level),
            "webServer": set().union(*map(set, run_level.get("webServers") or [])),
            "error": set().union(*map(set, errors)),
            "location": set().union(*(set(e.get("location") or {}) for e in errors))}


def listing_model() -> dict[str, set[str]]:
    """The keys of hypertest/plugins/playwright/listing.py's types, by kind."""
    from hypertest.plugins.playwright import listing

    return {kind: keys_of(getattr(listing, name))[1] for kind, name in LISTING.items()}


def keys_read(path: Path, functions: set[str]) -> set[str]:
    """The string keys the named functions of a module read: x.get("key") and x["key"]."""
    found: set[str] = set()
    for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(function, ast.FunctionDef) or function.name not in functions:
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
            elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                    and isinstance(node.slice.value, str):
                found.add(node.slice.value)
    return found


def test_the_discovery_readers_read_exactly_the_listing_model() -> None:
    plugin = ROOT / "hypertest" / "plugins" / "playwright"
    read = (keys_read(plugin / "discovery.py", {"_read_listing", "_render_error", "_build"})
            | keys_read(plugin / "run_level.py", {"parse_projects", "parse_run_level"}))
    assert read == set().union(*listing_model().values())


LISTED_CONFIG = """import { defineConfig } from '@playwright/test';
export default defineConfig({
  testDir: './tests',
  globalSetup: './setup.ts',
  webServer: { command: 'node -e "setInterval(() => {}, 1000)"', url: 'http://127.0.0.1:9/' },
  projects: [{ name: 'setup', testMatch: /auth\\.setup\\.ts/, teardown: 'cleanup' },
             { name: 'cleanup', testMatch: /clean\\.teardown\\.ts/ },
             { name: 'chromium', dependencies: ['setup'], testIgnore: /(setup|teardown)\\.ts/ }],
});
"""
LISTED_FILES = {
    "setup.ts": "export default async () => {};\n",
    "tests/auth.setup.ts": "import { test } from '@playwright/test';\ntest('log in', async () => {});\n",
    "tests/clean.teardown.ts": "import { test } from '@playwright/test';\ntest('log out', async () => {});\n",
    "tests/a.spec.ts": "import { test } from '@playwright/test';\n"
                       "test.describe.serial('in order', () => {\n  test('one @fast', async () => {});\n"
                       "  test('two', async () => {});\n});\n",
}


@pytest.mark.e2e
def test_what_the_list_reporter_writes_is_the_listing_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hypertest.core.config import TestRunnerSettings
    from hypertest.errors import UsageError
    from hypertest.plugins.playwright import discovery
    from tests.conftest import small_project

    documents: list[dict[str, Any]] = []
    read_listing = discovery._read_listing

    def capture(output: Path, *args: Any) -> Any:
        documents.append(json.loads(output.read_text(encoding="utf-8")))
        return read_listing(output, *args)

    monkeypatch.setattr(discovery, "_read_listing", capture)

    def discover(project: Path) -> Any:
        return discovery.discover(TestRunnerSettings(
            type="playwright", config=project / "playwright.config.ts", projects=(), granularity="test",
            retries=None, grep=None, grep_invert=None, tags=()), {**os.environ})

    found = discover(small_project(tmp_path / "good", LISTED_CONFIG, LISTED_FILES))
    assert len(found.tests) == 4 and found.run_level.web_servers and found.run_level.global_setups
    broken = small_project(tmp_path / "broken", "export default { testDir: './tests' };\n",
                           {"tests/b.spec.ts": "import { test } from '@playwright/test';\ntest('x', () => {\n"})
    with pytest.raises(UsageError, match="could not load the tests"):
        discover(broken)
    good, bad = (listing_keys_seen(document) for document in documents)
    seen = {kind: good[kind] | bad[kind] for kind in LISTING}
    assert seen == listing_model()
