"""The pytest runner plugin on a real pytest-playwright suite: collection, fidelity against plain pytest,
deadlines, missing tests, artifacts and the Chromium it launches.

Everything is real: pytest and pytest-playwright in subprocesses, the system Chromium. The yardstick is
plain pytest's own JUnit XML (and its own `--collect-only -q` list), never our plugins' output.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from runner.artifacts import LocalDirectoryStore
from runner.cleanup import become_subreaper
from runner.pytest.unit import run_pytest_unit
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

SUITE = ROOT / "tests" / "fixtures" / "pytest_suite"
RESULT_SCHEMA = json.loads((ROOT / "schema" / "result.schema.json").read_text(encoding="utf-8"))
PASSING_PAGE = "tests/test_pages.py::test_page_title[chromium]"
FAILING_PAGE = "tests/test_pages.py::test_page_heading_fails[chromium]"
WAITING_PAGE = "tests/test_pages.py::test_page_then_wait[chromium]"
CUSTOM_ARTIFACT = "tests/test_outcomes.py::test_custom_artifact"

# Each unit in its own process, as in a sandbox: a unit kills every process it leaves, which would
# include a neighbour unit's when two ran in one process.
UNIT_SCRIPT = """
import json, os, sys, time
from pathlib import Path
from runner.artifacts import LocalDirectoryStore
from runner.cleanup import become_subreaper
from runner.pytest.unit import run_pytest_unit
become_subreaper()
request = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
result = run_pytest_unit(request["unit"], "run1", request["unitId"], LocalDirectoryStore(Path(request["store"])),
                         time.monotonic() + request["seconds"], os.environ)
Path(sys.argv[2]).write_text(json.dumps(result), encoding="utf-8")
"""


def copy_pytest_suite(target: Path) -> Path:
    """A copy of the fixture suite (its own rootdir), without caches."""
    shutil.copytree(SUITE, target, ignore=shutil.ignore_patterns("__pycache__", ".state", "test-results"))
    return target


def plain_env(**extra: str) -> dict[str, str]:
    """The environment of a plain pytest run of the suite."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HT_", "PYTEST_"))}
    return {**env, **extra}


def plain_node_ids(project: Path) -> list[str]:
    """The node ids plain `pytest --collect-only -q` prints."""
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
                          cwd=project, env=plain_env(), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return [line for line in done.stdout.splitlines() if "::" in line and not line.startswith(" ")]


def collect(project: Path, output: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run the collect plugin on a project; its JSON document."""
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "runner.pytest.collect_plugin",
                           "-p", "no:cacheprovider"], cwd=project,
                          env=plain_env(HT_PYTEST_COLLECT_OUTPUT=str(output)),
                          capture_output=True, text=True, timeout=120, check=False)
    return done, json.loads(output.read_text(encoding="utf-8"))


def junit_key(node_id: str) -> tuple[str, str]:
    """(classname, name) of a node id in pytest's JUnit XML (as _pytest.junitxml mangles it)."""
    path, bracket, params = node_id.partition("[")
    names = path.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    return ".".join(names[:-1]), names[-1]


def junit_outcomes(xml_path: Path) -> dict[tuple[str, str], tuple[str, int]]:
    """Per (classname, name): what the last testcase element says, and how many there were (reruns)."""
    found: dict[tuple[str, str], tuple[str, int]] = {}
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        key = (case.get("classname", ""), case.get("name", ""))
        kind = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                kind = child.tag
            elif child.tag == "skipped":
                kind = "xfail" if child.get("type") == "pytest.xfail" else "skipped"
        found[key] = (kind, found.get(key, ("", 0))[1] + 1)
    return found


def expected_record(kind: str, attempts: int) -> tuple[str, str]:
    """The (status, outcome) a record must have for plain pytest's JUnit verdict (records.py's mapping)."""
    if kind == "passed":
        return ("passed", "flaky" if attempts > 1 else "expected")
    if kind in ("failure", "error"):
        return ("failed", "unexpected")
    if kind == "skipped":
        return ("skipped", "skipped")
    return ("failed", "expected")  # xfail


def unit_payload(project: Path, node_ids: list[str], ids: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """The plugin-owned part of a unit's payload for these node ids."""
    tests = [{"id": test_id, "nodeId": node_id, "file": node_id.split("::")[0], "line": 1,
              "titlePath": node_id.split("::")[1:]}
             for test_id, node_id in zip(ids or [f"t{n}" for n in range(len(node_ids))], node_ids, strict=True)]
    return {"projectDir": str(project), "tests": tests, "retries": None, "args": [], **extra}


def run_unit_process(work: Path, unit_id: str, unit: dict[str, Any], store: Path, env: dict[str, str],
                     seconds: float = 120.0) -> dict[str, Any]:
    """Run one unit through run_pytest_unit in its own Python process; its result."""
    request, output = work / f"{unit_id}.json", work / f"{unit_id}.result.json"
    request.write_text(json.dumps({"unit": unit, "unitId": unit_id, "store": str(store), "seconds": seconds}),
                       encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", UNIT_SCRIPT, str(request), str(output)], env=env,
                          capture_output=True, text=True, timeout=seconds + 60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    return result


@pytest.fixture(scope="module")
def fidelity(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> dict[str, Any]:
    """The suite run by plain pytest (JUnit XML), and each of its tests as its own unit (2 at a time)."""
    base = tmp_path_factory.mktemp("pytest-fidelity")
    plain_dir = copy_pytest_suite(base / "plain")
    node_ids = plain_node_ids(plain_dir)
    plain = subprocess.run([sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider",
                            "--junitxml", str(base / "plain.xml"), "--output", str(base / "plain-output")],
                           cwd=plain_dir, env=plain_env(FIXTURE_CHROMIUM=chromium,
                                                        HT_FIXTURE_STATE_DIR=str(base / "plain-state")),
                           capture_output=True, text=True, timeout=600, check=False)
    unit_dir = copy_pytest_suite(base / "units")
    work, store = base / "work", base / "store"
    work.mkdir()
    env = plain_env(HT_FIXTURE_STATE_DIR=str(base / "unit-state"))  # no FIXTURE_CHROMIUM: the runner's Chromium
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {node_id: pool.submit(run_unit_process, work, f"u{n}", unit_payload(unit_dir, [node_id], [f"t{n}"]),
                                        store, env)
                   for n, node_id in enumerate(node_ids)}
        results = {node_id: future.result() for node_id, future in futures.items()}
    return {"node_ids": node_ids, "plain": plain, "junit": junit_outcomes(base / "plain.xml"), "results": results,
            "store": store, "units_s": time.monotonic() - started}


def record_of(fidelity: dict[str, Any], node_id: str) -> dict[str, Any]:
    """The only record of the unit that ran node_id."""
    tests: list[dict[str, Any]] = fidelity["results"][node_id]["tests"]
    assert len(tests) == 1
    return tests[0]


def test_collection_lists_every_test_with_its_place_tags_and_group(tmp_path: Path) -> None:
    project = copy_pytest_suite(tmp_path / "suite")
    done, document = collect(project, tmp_path / "collected.json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert document["rootdir"] == str(project)
    assert document["pytestVersion"] == pytest.__version__
    assert document["errors"] == []
    items = {item["nodeId"]: item for item in document["items"]}
    assert list(items) == plain_node_ids(project)  # the same tests, in pytest's order, hostile ids intact
    tree = ast.parse((project / "tests" / "test_ids.py").read_text(encoding="utf-8"))

    def line_of(name: str) -> int:
        """Where pytest places a test: the first line of its definition, decorators included."""
        node = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name)
        return min([node.lineno, *(d.lineno for d in node.decorator_list)])

    hostile = {node_id: item for node_id, item in items.items() if "test_hostile[" in node_id}
    assert [item["titlePath"] for item in hostile.values()] == [
        ["test_hostile[with space]"], ["test_hostile[a::b]"], ["test_hostile[[bracket]]"],
        ["test_hostile[\\xfcn\\xef\\u2603]"], ["test_hostile[line\\nbreak]"]]
    assert {item["line"] for item in hostile.values()} == {line_of("test_hostile")}
    assert {item["file"] for item in hostile.values()} == {"tests/test_ids.py"}
    assert all(item["tags"] == [] and item["group"] is None for item in hostile.values())

    count = items["tests/test_ids.py::TestCart::test_count[one [item]]"]
    assert count["titlePath"] == ["TestCart", "test_count[one [item]]"]
    assert count["line"] == line_of("test_count")
    assert count["tags"] == ["slow"]  # the class's marker; parametrize is not a tag
    assert count["group"] is None
    assert items["tests/test_outcomes.py::test_passes"]["tags"] == ["smoke"]
    assert items["tests/test_outcomes.py::test_xpass_strict"]["tags"] == ["xfail"]
    for name in ("test_first", "test_second"):
        assert items[f"tests/test_ids.py::TestCheckout::{name}"]["group"] == "tests/test_ids.py::TestCheckout"
    assert items["tests/test_ids.py::test_grouped"]["group"] == "database"
    page = items[PASSING_PAGE]
    assert (page["file"], page["titlePath"]) == ("tests/test_pages.py", ["test_page_title[chromium]"])


def test_collection_reports_errors_with_file_and_line_and_accepts_the_together_marker(tmp_path: Path) -> None:
    project = tmp_path / "broken"
    (project / "tests").mkdir(parents=True)
    (project / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers -p no:playwright\n")
    (project / "tests" / "test_broken.py").write_text("def test_a():\n    pass\n\n\ndef test_b(:\n    pass\n")
    (project / "tests" / "test_ok.py").write_text(
        "import pytest\n\n\n@pytest.mark.hypertest_together\nclass TestKept:\n    def test_one(self):\n"
        "        pass\n")
    done, document = collect(project, tmp_path / "collected.json")
    assert done.returncode == 2  # pytest's own verdict on a collection error is unchanged
    assert [(e["nodeId"], e["message"].splitlines()[0]) for e in document["errors"]] == [
        ("tests/test_broken.py", "tests/test_broken.py:5: SyntaxError: invalid syntax")]
    assert [(i["nodeId"], i["group"], i["line"]) for i in document["items"]] == [
        ("tests/test_ok.py::TestKept::test_one", "tests/test_ok.py::TestKept", 6)]


def test_each_test_as_its_own_unit_ends_as_plain_pytest_says(fidelity: dict[str, Any]) -> None:
    junit = fidelity["junit"]
    node_ids = fidelity["node_ids"]
    assert len(node_ids) == 25 and len(junit) == 25, (node_ids, junit)
    expected = {node_id: expected_record(*junit[junit_key(node_id)]) for node_id in node_ids}
    actual = {}
    for node_id in node_ids:
        result = fidelity["results"][node_id]
        jsonschema.validate(result, RESULT_SCHEMA)
        assert result["status"] == "ok" and result["unrequestedTests"] == 0, result
        record = record_of(fidelity, node_id)
        actual[node_id] = (record["status"], record["outcome"])
    assert actual == expected
    # The suite has every kind of verdict, so the comparison above means something.
    assert set(expected.values()) == {("passed", "expected"), ("passed", "flaky"), ("failed", "unexpected"),
                                      ("skipped", "skipped"), ("failed", "expected")}
    # Would plain pytest exit 0 <=> no record is unexpected.
    unexpected = [n for n, (_status, outcome) in actual.items() if outcome == "unexpected"]
    assert (fidelity["plain"].returncode == 0) == (not unexpected)
    assert fidelity["plain"].returncode == 1 and len(unexpected) == 5


def test_records_carry_pytest_details(fidelity: dict[str, Any]) -> None:
    setup = record_of(fidelity, "tests/test_outcomes.py::test_setup_error")
    assert setup["attempts"][0]["error"]["message"] == "error in setup: RuntimeError: the database is not reachable"
    teardown = record_of(fidelity, "tests/test_outcomes.py::test_teardown_error")
    assert teardown["attempts"][0]["error"]["message"] == (
        "error in teardown: RuntimeError: could not release the resource")
    skipped = record_of(fidelity, "tests/test_outcomes.py::test_skipif")
    assert (skipped["expectedStatus"], skipped["annotations"]) == (
        "skipped", [{"type": "skip", "description": "needs another platform"}])
    xfail = record_of(fidelity, "tests/test_outcomes.py::test_xfail_fails")
    assert (xfail["expectedStatus"], xfail["annotations"]) == (
        "failed", [{"type": "xfail", "description": "known bug 12"}])
    lenient = record_of(fidelity, "tests/test_outcomes.py::test_xpass_lenient")
    assert (lenient["status"], lenient["outcome"], lenient["annotations"]) == (
        "passed", "expected", [{"type": "xpass", "description": "maybe fixed"}])
    strict = record_of(fidelity, "tests/test_outcomes.py::test_xpass_strict")
    assert (strict["status"], strict["outcome"]) == ("failed", "unexpected")
    flaky = record_of(fidelity, "tests/test_outcomes.py::test_flaky_first_attempt")
    assert [(a["retry"], a["status"]) for a in flaky["attempts"]] == [(0, "failed"), (1, "passed")]
    assert "the first attempt fails" in flaky["attempts"][0]["error"]["message"]
    failed = record_of(fidelity, "tests/test_outcomes.py::test_fails")
    assert failed["attempts"][0]["error"]["location"]["line"] == 15
    assert (failed["project"], failed["column"], failed["file"]) == ("", 0, "tests/test_outcomes.py")
    first = record_of(fidelity, PASSING_PAGE)["attempts"][0]
    # of the attempt's time, its setup (the browser, context and page fixtures) and teardown phases
    assert first["setupMs"] > 0 and first["teardownMs"] >= 0
    assert first["setupMs"] + first["teardownMs"] <= first["durationMs"]


def test_the_runner_makes_pytest_playwright_launch_its_chromium(tmp_path: Path, fidelity: dict[str, Any]) -> None:
    # No browser was downloaded: plain pytest (without FIXTURE_CHROMIUM) cannot launch one ...
    project = copy_pytest_suite(tmp_path / "suite")
    plain = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--output",
                            str(tmp_path / "out"), PASSING_PAGE], cwd=project, env=plain_env(),
                           capture_output=True, text=True, timeout=120, check=False)
    assert plain.returncode == 1 and "Executable doesn't exist" in plain.stdout, plain.stdout
    # ... the unit, with the runner's Chromium, can; and HT_CHROMIUM_PATH wins over everything.
    assert record_of(fidelity, PASSING_PAGE)["status"] == "passed"
    forced = run_pytest_unit(unit_payload(project, [PASSING_PAGE]), "run1", "forced", LocalDirectoryStore(tmp_path),
                             time.monotonic() + 120, {**plain_env(), "HT_CHROMIUM_PATH": "/nonexistent/chromium"})
    assert forced["tests"][0]["status"] == "failed"
    assert "/nonexistent/chromium" in forced["tests"][0]["attempts"][0]["error"]["message"]


def test_artifacts_of_a_failing_page_and_custom_artifacts_are_stored(fidelity: dict[str, Any]) -> None:
    store: Path = fidelity["store"]
    failing = record_of(fidelity, FAILING_PAGE)
    test_id = failing["id"]
    kept = {a["name"]: a for a in failing["artifacts"]}
    assert set(kept) == {"test-failed-1.png", "trace.zip"}
    assert kept["test-failed-1.png"] == {"name": "test-failed-1.png", "contentType": "image/png", "attempt": 0,
                                         "path": f"{test_id}/attempt-0/00-test-failed-1.png"}
    assert kept["trace.zip"]["path"] == f"{test_id}/attempt-0/01-trace.zip"
    assert (store / kept["test-failed-1.png"]["path"]).read_bytes().startswith(b"\x89PNG")
    with zipfile.ZipFile(store / kept["trace.zip"]["path"]) as trace:
        assert any(name.endswith(".trace") for name in trace.namelist())
    assert record_of(fidelity, PASSING_PAGE)["artifacts"] == []  # only on failure, as the suite asks
    custom = record_of(fidelity, CUSTOM_ARTIFACT)
    assert custom["artifacts"] == [{"name": "notes.txt", "path": f"{custom['id']}/custom/notes.txt",
                                    "contentType": "text/plain", "attempt": None}]
    assert (store / custom["id"] / "custom" / "notes.txt").read_text(encoding="utf-8") == "written by the test\n"


def leftovers(marker: str) -> list[int]:
    """Live processes whose environment holds marker (a unit's unique id)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_a_unit_past_its_deadline_gives_interrupted_records_and_leaves_no_process(tmp_path: Path) -> None:
    become_subreaper()  # as the runner's entry does: orphans (the browser) come back to be killed
    project = copy_pytest_suite(tmp_path / "suite")
    unit_id = f"deadline-{uuid.uuid4().hex}"
    pids = tmp_path / "pids.txt"
    env = {**plain_env(), "HT_FIXTURE_SLEEP": "120", "HT_FIXTURE_PIDS": str(pids)}
    started = time.monotonic()
    result = run_pytest_unit(unit_payload(project, [WAITING_PAGE, PASSING_PAGE]), "run1", unit_id,
                             LocalDirectoryStore(tmp_path / "store"), time.monotonic() + 15, env)
    assert time.monotonic() - started < 40
    jsonschema.validate(result, RESULT_SCHEMA)
    assert result["status"] == "deadline" and "deadline" in result["error"]
    assert [(t["status"], t["outcome"]) for t in result["tests"]] == [("interrupted", "unexpected")] * 2
    assert "deadline" in result["tests"][1]["attempts"][0]["error"]["message"]
    assert pids.is_file()  # the test really was running, with a child process and a browser
    assert leftovers(f"HT_UNIT_ID={unit_id}") == []


def test_a_requested_test_that_does_not_exist_is_an_error_record(tmp_path: Path) -> None:
    project = copy_pytest_suite(tmp_path / "suite")
    missing = "tests/test_outcomes.py::test_that_was_renamed"
    result = run_pytest_unit(unit_payload(project, [missing]), "run1", "missing", LocalDirectoryStore(tmp_path),
                             time.monotonic() + 120, plain_env())
    jsonschema.validate(result, RESULT_SCHEMA)
    assert result["status"] == "error" and result["exitCode"] == 4
    [record] = result["tests"]
    assert (record["status"], record["outcome"]) == ("error", "unexpected")
    message = record["attempts"][0]["error"]["message"]
    assert "not found" in message and missing in message, message


def test_an_unrequested_test_is_left_out_and_counted(tmp_path: Path) -> None:
    project = copy_pytest_suite(tmp_path / "suite")
    # A whole class requested by one of its tests' ids would not do: request the class's first test, but
    # ask pytest (through the suite's args) for the second too.
    unit = unit_payload(project, ["tests/test_ids.py::TestCheckout::test_first"], configFile="pytest.ini",
                        args=["tests/test_ids.py::TestCheckout::test_second"])
    result = run_pytest_unit(unit, "run1", "extra", LocalDirectoryStore(tmp_path), time.monotonic() + 120, plain_env())
    assert result["status"] == "ok", result
    assert [(t["titlePath"], t["status"]) for t in result["tests"]] == [(["TestCheckout", "test_first"], "passed")]
    assert result["unrequestedTests"] == 1


def test_an_invalid_unit_is_an_error_result_naming_the_field(tmp_path: Path) -> None:
    result = run_pytest_unit({"projectDir": str(tmp_path), "tests": [{"id": "t0", "nodeId": "tests/test_a.py::t"}]},
                             "run1", "bad", LocalDirectoryStore(tmp_path), time.monotonic() + 10, plain_env())
    jsonschema.validate(result, RESULT_SCHEMA)
    assert (result["status"], result["error"]) == ("error", "invalid pytest unit: tests[0].file: expected a string")
