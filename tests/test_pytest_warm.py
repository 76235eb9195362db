"""The warm path of pytest units (issue 21 item 2): a serving runner (`python -m runner --serve-fd`, as the local
provider keeps one per slot) forks each unit's pytest from a server that imported pytest, its plugins and the
suite's modules ahead; every unit still ends exactly as its command line would have it end.

Real pytest, pytest-playwright and Chromium throughout; the yardstick is plain pytest's JUnit XML. Units go
through one RunnerProcess each, with HT_WARM_PYTEST on (the default) and off.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hypertest.providers.warm_runners import RunnerProcess
from runner import browser_server
from runner.artifacts import LocalDirectoryStore
from runner.pytest import warm
from runner.pytest.unit import run_pytest_unit
from runner.pytest.warm import PytestCommand, server_key
from tests.conftest import ROOT
from tests.test_pytest_plugin import (
    PASSING_PAGE,
    RESULT_SCHEMA,
    WAITING_PAGE,
    copy_pytest_suite,
    expected_record,
    junit_key,
    junit_outcomes,
    leftovers,
    plain_env,
    plain_node_ids,
    unit_payload,
)
from tests.test_pytest_toolchain import E2E_ARGS, copy_venv_suite, suite_virtualenv, toolchain_env

PASSING = "tests/test_outcomes.py::test_passes"
SUITE_OPTIONS = ["output", "reruns"]  # what discovery finds declared with hypertest's own pytest
# A project whose test says who imported its module and who forked it (a custom artifact), and fails when
# module state a previous unit left is there; and a test that describes its process. Run with -W error and
# filterwarnings = error.
STATE_FILES = {
    "pytest.ini": "[pytest]\nfilterwarnings =\n    error\n",
    "test_state.py": """import json, os
IMPORTED_BY = os.getpid()
SEEN = []


def test_state_is_its_units_own():
    SEEN.append(os.environ["HT_UNIT_ID"])
    with open(f"/proc/{os.getppid()}/cmdline", "rb") as handle:
        parent = handle.read().decode().split("\\0")
    with open(os.path.join(os.environ["HT_TEST_ARTIFACTS_OUTPUT_PATH"], "who.json"), "w") as handle:
        json.dump({"importedBy": IMPORTED_BY, "pid": os.getpid(), "parent": os.getppid(), "parentArgv": parent,
                   "seen": SEEN, "tmp": os.environ["TMPDIR"]}, handle)
    assert SEEN == [os.environ["HT_UNIT_ID"]]
""",
    "test_process.py": """import faulthandler, gc, json, os, resource, signal, sys, tempfile, threading, warnings


def test_describe_the_process():
    umask = os.umask(0)
    os.umask(umask)
    fds = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
    facts = {
        "fds": fds, "environ": dict(os.environ), "cwd": os.getcwd(), "path": sys.path, "argv": sys.argv,
        "origArgv": getattr(sys, "orig_argv", None), "umask": umask, "executable": sys.executable,
        "ownGroup": os.getpgid(0) == os.getpid(), "ownSession": os.getsid(0) == os.getpid(),
        "signals": {name: str(signal.getsignal(getattr(signal, name)))
                    for name in ("SIGINT", "SIGTERM", "SIGPIPE", "SIGCHLD", "SIGHUP", "SIGUSR1")},
        "flags": str(sys.flags), "tmp": tempfile.gettempdir(), "main": sys.modules["__main__"].__file__,
        "stdout": [sys.stdout.line_buffering, sys.stdout.write_through, sys.stdout.encoding],
        "metaPath": [type(finder).__name__ for finder in sys.meta_path], "warnings": len(warnings.filters),
        "threads": threading.active_count(), "gc": [gc.isenabled(), *gc.get_threshold()],
        "faulthandler": faulthandler.is_enabled(), "recursion": sys.getrecursionlimit(),
        "limits": [resource.getrlimit(limit) for limit in (resource.RLIMIT_CORE, resource.RLIMIT_NOFILE)],
    }
    with open(os.path.join(os.environ["HT_TEST_ARTIFACTS_OUTPUT_PATH"], "process.json"), "w") as handle:
        json.dump(facts, handle)
""",
}
BROKEN_FILES = {
    "pytest.ini": "[pytest]\ntestpaths = tests\n",
    "tests/test_ok.py": "def test_ok():\n    pass\n",
    "tests/test_broken.py": "import a_module_that_is_not_there\n\n\ndef test_never():\n    pass\n",
}


def event(project: Path, unit_id: str, unit: dict[str, Any], store: Path, timeout_s: float = 120) -> dict[str, Any]:
    """The payload a serving runner reads for one pytest unit."""
    return {"runner": "pytest", "runId": "run1", "unitId": unit_id, "projectDir": str(project), "unit": unit,
            "artifacts": {"kind": "local", "root": str(store)}, "timeoutMs": int(timeout_s * 1000)}


@contextmanager
def serving_runner(folder: Path, env: dict[str, str]) -> Iterator[RunnerProcess]:
    """A `python -m runner --serve-fd` process, as the local provider starts one per slot."""
    folder.mkdir(parents=True)
    runner = RunnerProcess(sys.executable, {**env, "PYTHONPATH": str(ROOT)}, folder)
    try:
        yield runner
    finally:
        runner.close()


def run(runner: RunnerProcess, project: Path, unit_id: str, unit: dict[str, Any], store: Path,
        timeout_s: float = 120) -> dict[str, Any]:
    """One unit through the serving runner; its result, checked against the result schema."""
    result, _reusable = runner.run(event(project, unit_id, unit, store, timeout_s), time.monotonic() + timeout_s + 30)
    jsonschema.validate(dict(result), RESULT_SCHEMA)
    return dict(result)


def small_project(folder: Path, files: dict[str, str]) -> Path:
    """A project of these files."""
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def verdicts(result: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """(status, outcome) per node id of a unit's records."""
    return {"::".join([t["file"], *t["titlePath"]]): (t["status"], t["outcome"]) for t in result["tests"]}


@pytest.fixture(scope="module")
def suite_runs(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> dict[str, Any]:
    """Plain pytest's JUnit XML of the fixture suite; each of its tests as its own unit through two warm serving
    runners; and its files as units through one serving runner with HT_WARM_PYTEST=0. All at once."""
    base = tmp_path_factory.mktemp("pytest-warm")
    plain_dir = copy_pytest_suite(base / "plain")
    node_ids = plain_node_ids(plain_dir)

    def plain() -> None:
        subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--junitxml", str(base / "plain.xml"),
                        "--output", str(base / "plain-output")], cwd=plain_dir,
                       env=plain_env(FIXTURE_CHROMIUM=chromium, HT_FIXTURE_STATE_DIR=str(base / "plain-state")),
                       capture_output=True, text=True, timeout=600, check=False)

    def units(name: str, switch: str, groups: list[list[str]]) -> list[dict[str, Any]]:
        project = copy_pytest_suite(base / name)
        env = plain_env(HT_FIXTURE_STATE_DIR=str(base / f"{name}-state"), HT_WARM_PYTEST=switch)
        with serving_runner(base / f"{name}-runner", env) as runner:
            return [run(runner, project, f"{name}{n}", unit_payload(project, group, [f"t-{node}" for node in group],
                                                                     configFile="pytest.ini", options=SUITE_OPTIONS),
                        base / f"{name}-store")
                    for n, group in enumerate(groups)]

    files = sorted({node.split("::")[0] for node in node_ids})
    with ThreadPoolExecutor(max_workers=4) as pool:
        plain_run = pool.submit(plain)
        # Two slots, as `hypertest invoke` at concurrency 2 would have them: each test its own unit.
        warm_runs = [pool.submit(units, f"warm{slot}", "1", [[node] for node in node_ids[slot::2]]) for slot in (0, 1)]
        cold_run = pool.submit(units, "cold", "0", [[n for n in node_ids if n.startswith(f)] for f in files])
        plain_run.result()
        return {"node_ids": node_ids, "junit": junit_outcomes(base / "plain.xml"),
                "warm": [result for run in warm_runs for result in run.result()], "cold": cold_run.result()}


@pytest.mark.e2e
@pytest.mark.parametrize("path", ["warm", "cold"])
def test_every_unit_ends_as_plain_pytest_says_warm_or_cold(suite_runs: dict[str, Any], path: str) -> None:
    junit, node_ids = suite_runs["junit"], suite_runs["node_ids"]
    assert len(node_ids) == len(junit) == 25
    results = suite_runs[path]
    actual = {node: verdict for result in results for node, verdict in verdicts(result).items()}
    assert actual == {node: expected_record(*junit[junit_key(node)]) for node in node_ids}
    assert all(result["status"] == "ok" and result["unrequestedTests"] == 0 for result in results), results
    assert {result["runPath"] for result in results} == {"warm fork" if path == "warm" else "command line"}


@pytest.mark.e2e
def test_warm_units_keep_retries_artifacts_and_details(suite_runs: dict[str, Any]) -> None:
    warm_records = {t["titlePath"][-1]: t for r in suite_runs["warm"] for t in r["tests"]}
    cold_records = {t["titlePath"][-1]: t for r in suite_runs["cold"] for t in r["tests"]}

    def shape(record: dict[str, Any]) -> list[Any]:
        """What must not differ between the paths: attempts, their errors' messages, annotations, Playwright's
        artifacts (a custom artifact belongs to every test of its unit: the cold units hold a file each)."""
        kept = sorted(a["name"] for a in record["artifacts"] if a["attempt"] is not None)
        return [record["status"], record["annotations"], kept,
                [(a["retry"], a["status"], str((a.get("error") or {}).get("message")).splitlines()[:1])
                 for a in record["attempts"]]]  # a page's call log says how often it polled: its first line

    assert {name: shape(r) for name, r in warm_records.items()} == {name: shape(r) for name, r in cold_records.items()}
    failing_page = warm_records["test_page_heading_fails[chromium]"]
    assert {a["name"] for a in failing_page["artifacts"]} == {"test-failed-1.png", "trace.zip"}
    assert [a["status"] for a in warm_records["test_flaky_first_attempt"]["attempts"]] == ["failed", "passed"]
    assert [a["name"] for a in warm_records["test_custom_artifact"]["artifacts"]] == ["notes.txt"]


@pytest.mark.e2e
def test_a_warm_unit_is_forked_from_the_server_that_imported_its_module_and_sees_no_earlier_units_state(
        tmp_path: Path) -> None:
    project = small_project(tmp_path / "state", STATE_FILES)
    node, described = "test_state.py::test_state_is_its_units_own", "test_process.py::test_describe_the_process"
    store = tmp_path / "store"

    def unit(test: str, test_id: str) -> dict[str, Any]:
        return unit_payload(project, [test], [test_id], configFile="pytest.ini", args=["-W", "error"], options=[])

    with serving_runner(tmp_path / "runner", plain_env()) as runner:
        results = [run(runner, project, f"u{n}", unit(node, f"t{n}"), store) for n in range(3)]
        results.append(run(runner, project, "warm", unit(described, "warm"), store))
    with serving_runner(tmp_path / "cold-runner", plain_env(HT_WARM_PYTEST="0")) as runner:
        cold = run(runner, project, "cold", unit(described, "cold"), store)
    assert [(r["runPath"], r["status"], *verdicts(r).values()) for r in results] == [
        ("warm fork", "ok", ("passed", "expected"))] * 4
    assert (cold["runPath"], *verdicts(cold).values()) == ("command line", ("passed", "expected"))
    who = [json.loads((store / f"t{n}" / "custom" / "who.json").read_text(encoding="utf-8")) for n in range(3)]
    server = who[0]["parent"]
    assert {w["parent"] for w in who} == {server} and len({w["pid"] for w in who}) == 3  # one server, three forks
    assert "runner.pytest.fork_server" in who[0]["parentArgv"]
    assert {w["importedBy"] for w in who} == {server}  # the module was imported once, ahead, by the server
    assert [w["seen"] for w in who] == [["u0"], ["u1"], ["u2"]]
    assert all("ht-pytest-unit-" in w["tmp"] for w in who) and len({w["tmp"] for w in who}) == 3  # each its own

    def facts(test_id: str) -> dict[str, Any]:
        """What the test said of its process, but the unit's own folder and pids."""
        text = (store / test_id / "custom" / "process.json").read_text(encoding="utf-8")
        text = re.sub(r"ht-pytest-unit-[^/\"]+", "UNIT", re.sub(r"#\d+", "#", text))
        found: dict[str, Any] = json.loads(text.replace('"warm"', '"ID"').replace('"cold"', '"ID"'))
        found["environ"].pop("HT_WARM_PYTEST", None)  # the cold runner's switch
        return found

    # The forked pytest is the command line's process: environment, folders, sys.path, argv, open files,
    # signal handlers, its own session, interpreter flags, buffering, import hooks, warning filters...
    assert facts("warm") == facts("cold")
    assert not any(target.startswith("socket:") for target in facts("warm")["fds"].values())


@pytest.mark.e2e
def test_a_warm_unit_past_its_deadline_gives_interrupted_records_and_leaves_no_process(tmp_path: Path) -> None:
    project = copy_pytest_suite(tmp_path / "suite")
    pids = tmp_path / "pids.txt"
    env = plain_env(HT_FIXTURE_SLEEP="120", HT_FIXTURE_PIDS=str(pids))
    store = tmp_path / "store"
    with serving_runner(tmp_path / "runner", env) as runner:
        first = run(runner, project, "before", unit_payload(project, [PASSING], configFile="pytest.ini",
                                                            options=SUITE_OPTIONS), store)
        stopped = run(runner, project, "stopped", unit_payload(project, [WAITING_PAGE, PASSING_PAGE],
                                                               configFile="pytest.ini", options=SUITE_OPTIONS),
                      store, timeout_s=12)
        child, grandchild = (int(pid) for pid in pids.read_text(encoding="utf-8").split())
        assert not _running(child) and not _running(grandchild)  # the forked pytest and what its test started
        assert leftovers("HT_UNIT_ID=stopped") == []
        after = run(runner, project, "after", unit_payload(project, [PASSING], configFile="pytest.ini",
                                                           options=SUITE_OPTIONS), store)
    assert (first["runPath"], stopped["runPath"], after["runPath"]) == ("warm fork",) * 3
    assert stopped["status"] == "deadline" and "deadline" in stopped["error"]
    assert [(t["status"], t["outcome"]) for t in stopped["tests"]] == [("interrupted", "unexpected")] * 2
    assert after["status"] == "ok" and verdicts(after)[PASSING] == ("passed", "expected")  # the server still serves


def _running(pid: int) -> bool:
    """Whether pid is a live process (not a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.mark.e2e
def test_units_run_their_command_line_when_no_server_can_serve_them_with_the_same_outcome(tmp_path: Path) -> None:
    broken = small_project(tmp_path / "broken", BROKEN_FILES)
    bare = tmp_path / "bare-venv"  # an interpreter without pytest
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    units = [(broken, "tests/test_ok.py::test_ok", None), (broken, "tests/test_broken.py::test_never", None),
             (broken, "tests/test_ok.py::test_ok", str(bare / "bin" / "python"))]
    seen: dict[str, list[dict[str, Any]]] = {}
    said: dict[str, list[str]] = {}
    for switch in ("1", "0"):
        with serving_runner(tmp_path / f"runner-{switch}", plain_env(HT_WARM_PYTEST=switch)) as runner:
            seen[switch] = [run(runner, project, f"u{n}", {**unit_payload(project, [node], configFile="pytest.ini",
                                                                           options=[]), "python": python},
                                tmp_path / "store")
                            for n, (project, node, python) in enumerate(units)]
            log = (tmp_path / f"runner-{switch}" / "runner.log").read_text(encoding="utf-8")
        said[switch] = [line for line in log.splitlines() if "no warm pytest server" in line]
    assert said["0"] == [] and len(said["1"]) == 2, said  # once per refused key: the broken module, no pytest
    assert "a_module_that_is_not_there" in said["1"][0] and "pytest does not import" in said["1"][1]

    def outcome(result: dict[str, Any]) -> tuple[Any, ...]:
        return (result["runPath"], result["status"], result["error"], result["exitCode"],
                [(t["status"], t["attempts"][0].get("error")) for t in result["tests"]])

    assert [outcome(r) for r in seen["1"]] == [outcome(r) for r in seen["0"]]
    assert [(r["runPath"], r["status"]) for r in seen["1"]] == [("command line", "ok"), ("command line", "error"),
                                                                ("command line", "error")]
    assert "a_module_that_is_not_there" in seen["1"][1]["error"]
    assert "pytest is not installed" in seen["1"][2]["error"]


@pytest.mark.e2e
def test_the_virtualenv_suite_runs_warm_in_its_own_interpreter(tmp_path: Path) -> None:
    python = suite_virtualenv()
    project = copy_venv_suite(tmp_path / "suite")
    nodes = ["e2e/test_shop.py::test_runs_in_the_suites_virtualenv", "e2e/test_shop.py::test_checkout[chromium]",
             "e2e/test_shop.py::test_home_page_title[chromium]"]
    with serving_runner(tmp_path / "runner", toolchain_env()) as runner:
        results = [run(runner, project, f"u{n}", unit_payload(project, [node], configFile="pytest.ini",
                                                              args=E2E_ARGS, python=str(python),
                                                              options=["numprocesses", "output"]), tmp_path / "store")
                   for n, node in enumerate(nodes)]
    assert [(r["runPath"], r["status"]) for r in results] == [("warm fork", "ok")] * 3, results
    assert [verdicts(r)[node] for r, node in zip(results, nodes, strict=True)] == [
        ("passed", "expected"), ("skipped", "skipped"), ("passed", "expected")]


@pytest.mark.e2e
def test_a_per_unit_copy_of_the_project_runs_its_command_line(tmp_path: Path) -> None:
    project = copy_pytest_suite(tmp_path / "suite")
    browser_server.hold_between_invocations()  # as a serving runner: only the copy keeps the unit cold
    try:
        result = run_pytest_unit(unit_payload(project, [PASSING], configFile="pytest.ini", options=SUITE_OPTIONS),
                                 "run1", "copied", LocalDirectoryStore(tmp_path / "store"), time.monotonic() + 120,
                                 {**plain_env(), "HT_COPY_PROJECT": "1"})
    finally:
        warm.stop_held()
        browser_server.stop_held()
    assert (result["runPath"], result["status"], verdicts(result)[PASSING]) == (
        "command line", "ok", ("passed", "expected"))
    assert warm.held_pids() == frozenset()


def command(tmp_path: Path, unit_name: str = "ht-pytest-unit-1", **env: str) -> PytestCommand:
    """A unit's command with the variables the runner sets per unit, and env."""
    unit = tmp_path / unit_name
    variables = {"PATH": "/usr/bin", "HT_RUN_ID": "run1", "HT_UNIT_ID": "u1", "_X_AMZN_TRACE_ID": "Root=1",
                 "HT_PYTEST_RESULTS_OUTPUT": str(unit / "results.jsonl"), "HT_TEST_ARTIFACTS_OUTPUT_PATH":
                 str(unit / "artifacts"), "TMPDIR": str(unit / "tmp"), "HOME": str(unit / "home"),
                 "PYTHONPATH": os.pathsep.join([str(unit / "pythonpath"), "/opt/lib"]), **env}
    return PytestCommand(argv=("/venv/bin/python", "-m", "pytest", "-x", "--", "t.py::a"),
                         collect_args=("-x", "--collect-only"), cwd=tmp_path / "project", env=variables,
                         unit_folder=unit, python_path=unit / "pythonpath")


@pytest.mark.unit
def test_a_server_serves_units_that_differ_only_in_their_own_variables(tmp_path: Path) -> None:
    first = server_key(command(tmp_path))
    assert server_key(command(tmp_path, "ht-pytest-unit-2")) == first  # other per-unit paths
    assert server_key(command(tmp_path, HT_UNIT_ID="u2", _X_AMZN_TRACE_ID="Root=2", HT_WARM_BROWSER="1")) == first
    assert dict(first.environment)["PYTHONPATH"] == "/opt/lib" and "HOME" not in dict(first.environment)
    assert server_key(command(tmp_path, HOME="/home/user")) != first  # the user's own HOME counts
    assert server_key(command(tmp_path, APP_URL="http://localhost:1")) != first
    assert server_key(command(tmp_path, PYTHONPATH="/elsewhere")) != first
    assert server_key(command(tmp_path, HT_RUN_ID="run2")) != first


@pytest.mark.unit
def test_the_switch_is_on_unless_ht_warm_pytest_says_off() -> None:
    assert warm.enabled({}) and warm.enabled({"HT_WARM_RUNNER": "0"})
    assert not warm.enabled({"HT_WARM_PYTEST": "0"}) and not warm.enabled({"HT_WARM_PYTEST": "off"})
    assert warm.max_rss_mb({"HT_WARM_PYTEST_MAX_RSS_MB": "10"}) == 64


@pytest.mark.unit
def test_the_server_ends_the_status_thread_pytest_rerunfailures_leaves_with_xdist_installed() -> None:
    """With pytest-xdist installed, pytest-rerunfailures' pytest_configure starts a thread that serves failure
    counts on a socket, and never ends it: a server whose import session left it could not fork. The server
    ends it (each unit's own session starts its own), and leaves other threads alone."""
    import threading

    from pytest_rerunfailures import ServerStatusDB

    from runner.pytest import fork_server

    status = ServerStatusDB()
    [served] = [t for t in threading.enumerate() if getattr(t, "_target", None) == status.run_server]
    other_stop = threading.Event()
    other = threading.Thread(target=other_stop.wait, daemon=True)
    other.start()
    try:
        fork_server._end_known_threads()
        served.join(timeout=5)
        assert not served.is_alive()
        assert other.is_alive()  # not a thread the server knows how to end
    finally:
        other_stop.set()
        other.join(timeout=5)
