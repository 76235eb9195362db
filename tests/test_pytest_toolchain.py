"""The user's toolchain for pytest suites: the suite's own Python (testRunner.python, VIRTUAL_ENV, a .venv
beside hypertest.yml, hypertest's own), testRunner.args and testRunner.paths in discovery and every unit,
and pytest-xdist's whole-run parallelism set aside in units (-n 0), said once.

The yardstick is real: a virtualenv made with `python -m venv` (no system site-packages) and pip from the
fixture's requirements.txt (pytest, pytest-playwright, pytest-xdist, none of which but pytest and
pytest-playwright hypertest's own environment has), cached across test sessions, and plain
`pytest -n 2` in it, compared test by test through its JUnit XML.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hypertest.core.load import load_settings
from hypertest.errors import UsageError
from hypertest.plugins.pytest.interpreter import choose_python
from runner.artifacts import LocalDirectoryStore
from runner.pytest.payload import parse_unit
from runner.pytest.unit import pytest_argv, run_pytest_unit
from tests.conftest import ROOT, load_results, validate_run_result
from tests.test_pytest_plugin import expected_record, junit_key, junit_outcomes, plain_env

SUITE = ROOT / "tests" / "fixtures" / "pytest_venv_suite"
INSTALL_TIMEOUT_S = 600
E2E_ARGS = ["-m", "not slow"]
E2E_TESTS = 7  # e2e/ less the slow test -m "not slow" leaves out


def venv_cache_root() -> Path:
    """The folder holding the suite's virtualenvs, one per requirements (HT_TEST_PYTEST_VENV_CACHE)."""
    configured = os.environ.get("HT_TEST_PYTEST_VENV_CACHE", "").strip()
    return Path(configured) if configured else Path.home() / ".cache" / "hypertest-tests" / "pytest-venv"


def suite_virtualenv() -> Path:
    """The interpreter of a virtualenv with the fixture's requirements, made once (under a lock) and kept."""
    requirements = (SUITE / "requirements.txt").read_bytes()
    key = hashlib.sha256(requirements + f"{sys.version_info[:2]}".encode()).hexdigest()[:16]
    folder = venv_cache_root() / key
    python, done = folder / "bin" / "python", folder / ".hypertest-installed"
    if done.is_file():
        return python
    folder.parent.mkdir(parents=True, exist_ok=True)
    with (folder.parent / f".{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.is_file():
            return python
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, capture_output=True, timeout=120)
        (folder / "requirements.txt").write_bytes(requirements)
        installed = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r",
                                    str(folder / "requirements.txt")], capture_output=True, text=True,
                                   timeout=INSTALL_TIMEOUT_S, check=False)
        assert installed.returncode == 0, installed.stdout + installed.stderr
        done.write_text(requirements.decode(), encoding="utf-8")
    return python


def toolchain_env(**extra: str) -> dict[str, str]:
    """A plain environment with no virtualenv active (each test says which Python it wants)."""
    env = {k: v for k, v in plain_env().items() if k != "VIRTUAL_ENV"}
    return {**env, **extra}


def copy_venv_suite(target: Path) -> Path:
    """A copy of the fixture suite (its own rootdir), without caches."""
    shutil.copytree(SUITE, target, ignore=shutil.ignore_patterns("__pycache__", "test-results", "hypertest-results"))
    return target


def hypertest(project: Path, *argv: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`hypertest ARGV` in project."""
    return subprocess.run([sys.executable, str(ROOT / "entrypoint.py"), *argv], cwd=project, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def write_config(project: Path, body: str) -> Path:
    """project/hypertest.yml with body."""
    config = project / "hypertest.yml"
    config.write_text(body, encoding="utf-8")
    return config


def fake_venv(folder: Path) -> Path:
    """A folder shaped like a virtualenv whose bin/python is hypertest's own interpreter (a link)."""
    (folder / "bin").mkdir(parents=True)
    (folder / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    (folder / "bin" / "python").symlink_to(sys.executable)
    return folder / "bin" / "python"


def test_the_interpreter_is_the_configured_one_else_the_active_venv_else_dot_venv_else_our_own(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    chosen_one = fake_venv(tmp_path / "chosen")
    active = fake_venv(tmp_path / "active")
    write_config(project, "testRunner:\n  type: pytest\n")
    runner = load_settings(project / "hypertest.yml", project, {}).test_runner
    own = choose_python(runner, {})
    assert (own.path, own.source) == (Path(sys.executable), "hypertest")
    beside = fake_venv(project / ".venv")
    assert (choose_python(runner, {}).path, choose_python(runner, {}).source) == (beside, ".venv")
    by_env = choose_python(runner, {"VIRTUAL_ENV": str(active.parent.parent)})
    assert (by_env.path, by_env.source) == (active, "VIRTUAL_ENV")
    assert str(active.parent.parent) in by_env.why
    with pytest.raises(UsageError, match="VIRTUAL_ENV names a virtualenv without an interpreter"):
        choose_python(runner, {"VIRTUAL_ENV": str(tmp_path / "gone")})
    write_config(project, "testRunner:\n  type: pytest\n  python: ../chosen/bin/python\n")
    runner = load_settings(project / "hypertest.yml", project, {}).test_runner
    configured = choose_python(runner, {"VIRTUAL_ENV": str(active.parent.parent)})
    # The path as written, its links kept: resolving it would leave the virtualenv for its base Python.
    assert (configured.path, configured.source) == (chosen_one, "testRunner.python")
    assert "hypertest.yml:3:11: testRunner.python" in configured.why


@pytest.mark.parametrize(("body", "expected"), [
    ("  python: .venv/bin/python\n", "hypertest.yml:3:11: testRunner.python: .venv/bin/python does not exist"),
    ("  python: pytest.ini\n", "hypertest.yml:3:11: testRunner.python: pytest.ini is not an executable file"),
    ("  paths: [e2e, nowhere]\n", "hypertest.yml:3:16: testRunner.paths[1]: nowhere not found"),
    ("  args: -n 2\n", "hypertest.yml:3:9: testRunner.args: expected array, got a string"),
    ("  args: [--maxfail, 1]\n", "hypertest.yml:3:21: testRunner.args[1]: expected string, got an integer"),
])
def test_a_bad_python_args_or_paths_is_a_one_screen_error_naming_the_place(tmp_path: Path, body: str,
                                                                          expected: str) -> None:
    project = tmp_path / "project"
    (project / "e2e").mkdir(parents=True)
    (project / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    write_config(project, "testRunner:\n  type: pytest\n" + body)
    done = hypertest(project, "validate", env=toolchain_env())
    assert done.returncode == 2, done.stdout + done.stderr
    assert expected in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.splitlines()) < 12


def test_python_args_and_paths_belong_to_pytest_suites_only(tmp_path: Path) -> None:
    (tmp_path / "playwright.config.ts").write_text("export default {};\n", encoding="utf-8")
    write_config(tmp_path, "testRunner:\n  args: [--headed]\n")
    done = hypertest(tmp_path, "validate", env=toolchain_env())
    assert done.returncode == 2
    assert "hypertest.yml:2:9: testRunner.args: only a pytest suite has it (testRunner.type is playwright)" in (
        done.stderr), done.stderr


def test_testrunner_args_reach_every_units_payload_as_read_once_at_discovery(tmp_path: Path) -> None:
    """testRunner.args are read (and checked) once, when the tests are listed; every unit's part carries them."""
    from hypertest.plugins.pytest import PLUGIN
    from hypertest.plugins.pytest.discovery import _build
    from hypertest.plugins.pytest.interpreter import Interpreter
    from hypertest.plugins.pytest.settings import pytest_settings

    (tmp_path / "e2e").mkdir()
    write_config(tmp_path, "testRunner:\n  type: pytest\n  args: [-m, not slow]\n  paths: [e2e]\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    settings = load_settings(tmp_path / "hypertest.yml", tmp_path, {})
    document = {"items": [{"nodeId": "e2e/test_a.py::test_a", "file": "e2e/test_a.py", "line": 1,
                           "titlePath": ["test_a"]}]}
    discovery = _build(document, settings.test_runner, pytest_settings(settings.test_runner), tmp_path,
                       Interpreter(Path(sys.executable), "hypertest's own", "hypertest"))
    [unit] = PLUGIN.plan(discovery, "test").units
    assert PLUGIN.unit_part(unit, discovery, settings)["args"] == ["-m", "not slow"]


def test_a_unit_sets_xdist_aside_last_and_only_where_xdist_is(tmp_path: Path) -> None:
    test = {"id": "t", "nodeId": "e2e/test_a.py::test_a", "file": "e2e/test_a.py", "titlePath": ["test_a"]}
    unit = {"projectDir": str(tmp_path), "tests": [test],
            "retries": 1, "args": ["-n", "4", "--dist", "load"], "python": "/opt/suite/bin/python",
            "options": ["numprocesses", "output", "reruns"]}
    argv = pytest_argv(parse_unit(unit), tmp_path, tmp_path / "out")
    assert argv[:5] == ["/opt/suite/bin/python", "-m", "pytest", "-n", "4"]
    assert argv[-6:] == ["--reruns", "1", "-n", "0", "--", "e2e/test_a.py::test_a"]  # after the suite's own
    # Without pytest-xdist (or with -p no:xdist), -n would be an unknown option: it is not given.
    argv = pytest_argv(parse_unit({**unit, "options": ["output"], "args": []}), tmp_path, tmp_path / "out")
    assert "-n" not in argv and "--reruns" not in argv and "--output" in argv


def test_validate_speaks_of_pytest_truthfully(tmp_path: Path) -> None:
    project = copy_venv_suite(tmp_path / "suite")
    write_config(project, f"testRunner:\n  type: pytest\n  python: {sys.executable}\n  args: [-m, not slow]\n"
                          "  paths: [e2e]\n  retries: 2\n")
    done = hypertest(project, "validate", env=toolchain_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "from the test config" not in done.stdout
    assert "retries: 2 (pytest-rerunfailures' --reruns)" in done.stdout
    assert f"python: {sys.executable} (set by {project}/hypertest.yml:3:11: testRunner.python)" in done.stdout
    assert 'args: ["-m", "not slow"]' in done.stdout and f"paths: {project}/e2e" in done.stdout
    assert "reporters: console, junit (results.json is always written); html: no report for a pytest suite" in (
        done.stdout)
    schema = json.loads((ROOT / "schema" / "hypertest.schema.json").read_text(encoding="utf-8"))
    runner = schema["properties"]["testRunner"]["properties"]
    assert "Python one" in runner["grep"]["description"] and "pytest-rerunfailures" in runner["retries"]["description"]


@pytest.fixture(scope="module")
def suite_python() -> Path:
    """The suite's own virtualenv (made once per requirements, cached across sessions)."""
    return suite_virtualenv()


@pytest.mark.e2e
def test_hypertests_own_python_or_a_dot_venv(tmp_path: Path, suite_python: Path) -> None:
    project = copy_venv_suite(tmp_path / "suite")
    write_config(project, "testRunner:\n  type: pytest\n  paths: [e2e]\n")
    # hypertest's own Python has no pytest-xdist: -n auto in addopts cannot even be parsed; the error says
    # which Python ran pytest, why, and what to set.
    done = hypertest(project, "list", env=toolchain_env())
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"with the Python {sys.executable} (hypertest's own: no testRunner.python, VIRTUAL_ENV or .venv)" in (
        done.stderr)
    assert "set testRunner.python" in done.stderr
    # A unit run by that Python says the same when the suite's conftest cannot import what it needs.
    unit = {"projectDir": str(project), "configFile": "pytest.ini", "retries": None, "args": ["-o", "addopts="],
            "tests": [{"id": "t", "nodeId": "e2e/test_shop.py::test_runs_in_the_suites_virtualenv",
                       "file": "e2e/test_shop.py", "titlePath": ["test_runs_in_the_suites_virtualenv"]}]}
    result = run_pytest_unit(unit, "run1", "own", LocalDirectoryStore(tmp_path / "store"), time.monotonic() + 120,
                             toolchain_env())
    assert result["status"] == "error", result
    assert f"(with the Python {sys.executable})" in result["error"] and "xdist" in result["error"], result["error"]
    # A .venv beside hypertest.yml is taken without a word in the config.
    (project / ".venv").symlink_to(suite_python.parent.parent, target_is_directory=True)
    listed = hypertest(project, "list", "--grep", "virtualenv", env=toolchain_env())
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert f"python: {project}/.venv/bin/python (.venv beside hypertest.yml)" in listed.stdout
    assert listed.stdout.rstrip().endswith("1 tests in 1 units")


@pytest.mark.e2e
def test_doctor_names_the_suites_python_and_checks_its_packages(tmp_path: Path, suite_python: Path) -> None:
    project = copy_venv_suite(tmp_path / "suite")
    write_config(project, f"testRunner:\n  type: pytest\n  python: {suite_python}\n  retries: 1\n")
    done = hypertest(project, "doctor", env=toolchain_env())
    lines = done.stdout.splitlines()
    assert any(line.startswith(f"ok     python: {suite_python} (set by ") and ", Python 3." in line for line in lines)
    for package in ("pytest", "pytest-playwright", "pytest-xdist"):
        assert any(line.startswith(f"ok     {package}: ") and str(suite_python) in line for line in lines), done.stdout
    # retries need pytest-rerunfailures, which this virtualenv does not have: doctor says so, listing refuses.
    assert any(line.startswith("error  pytest-rerunfailures: does not import with") for line in lines), done.stdout
    assert done.returncode == 3
    listed = hypertest(project, "list", env=toolchain_env())
    assert listed.returncode == 2 and "pytest-rerunfailures (--reruns) is not installed" in listed.stderr


@pytest.mark.e2e
def test_a_suite_in_its_own_virtualenv_matches_plain_pytest_n2(tmp_path: Path, suite_python: Path,
                                                              chromium: str) -> None:
    plain_dir = copy_venv_suite(tmp_path / "plain")
    plain_workers, unit_workers = tmp_path / "plain-workers", tmp_path / "unit-workers"
    plain_workers.mkdir()
    unit_workers.mkdir()
    plain = subprocess.run([str(suite_python), "-m", "pytest", "-n", "2", *E2E_ARGS, "-p", "no:cacheprovider",
                            "--junitxml", str(tmp_path / "plain.xml"), "--output", str(tmp_path / "plain-output"),
                            "e2e"], cwd=plain_dir,
                           env=toolchain_env(FIXTURE_CHROMIUM=chromium, FIXTURE_WORKER_LOG=str(plain_workers)),
                           capture_output=True, text=True, timeout=600, check=False)
    junit = junit_outcomes(tmp_path / "plain.xml")
    assert len(junit) == E2E_TESTS, plain.stdout[-3000:]
    assert {path.name.split("-", 1)[1] for path in plain_workers.iterdir()} <= {"gw0", "gw1"}  # xdist did run

    project = copy_venv_suite(tmp_path / "hyper")
    write_config(project, f"testRunner:\n  type: pytest\n  python: {suite_python}\n  args: {json.dumps(E2E_ARGS)}\n"
                          "  paths: [e2e]\nconcurrency: 2\n")
    completed = hypertest(project, "invoke", "--output", str(tmp_path / "out"),
                          env=toolchain_env(FIXTURE_WORKER_LOG=str(unit_workers)), timeout=900)
    result = load_results(tmp_path / "out")
    validate_run_result(result)
    records = {"::".join([record["file"], *record["titlePath"]]): (record["status"], record["outcome"])
               for record in result["tests"]}
    expected = {}
    for node_id in records:
        assert junit_key(node_id) in junit, f"{node_id} is not in plain pytest's run"
        expected[node_id] = expected_record(*junit[junit_key(node_id)])
    assert len(records) == E2E_TESTS and records == expected
    assert sorted(set(expected.values())) == [("failed", "unexpected"), ("passed", "expected"), ("skipped", "skipped")]
    assert plain.returncode == completed.returncode == 1, completed.stdout[-3000:] + completed.stderr
    # Every unit ran its tests in its own process: pytest-xdist's controller started no worker.
    assert {path.name.split("-", 1)[1] for path in unit_workers.iterdir()} == {"master"}
    said = [line for line in completed.stdout.splitlines() if line.startswith("pytest-xdist:")]
    assert said == ["pytest-xdist: the suite asks for -n auto, --dist loadgroup; each unit runs with -n 0 (its tests "
                    "in its own process): hypertest's units are the run's parallelism"]
    assert result["python"]["path"] == str(suite_python) and result["python"]["source"] == "testRunner.python"
    assert result["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
