"""Run one unit of a pytest suite: pytest on exactly the requested node ids, then one record per test.

`run_pytest_unit` runs `PYTHON -m pytest [args] -p runner.pytest.result_plugin -p no:cacheprovider
--rootdir PROJECT [-c CONFIG] [--output DIR] [--reruns N] [-n 0] -- NODE_ID...` in the project folder (an
argv list, never a shell; node ids are arguments, never a -k expression), under the runner's deadline and
clean-up, and returns a unit result (schema/result.schema.json). PYTHON is the payload's interpreter (its
virtualenv activated), else the runner's own. Node ids are relative to the project folder (the rootdir
collection used). `--output` (pytest-playwright's artifacts folder) and `--reruns` (pytest-rerunfailures)
are passed only when those plugins declare them; `-n 0`, last, when pytest-xdist is there: whatever the
suite asks of it (`-n auto` in addopts, `--dist`, `--tx`), a unit runs its tests in its own process, as
xdist's `-n 0` means, since hypertest's units are the run's parallelism. In a process that runs unit after
unit, the same argv runs in a child forked from a warm server instead (runner/pytest/warm.py); the result's
runPath says which ("warm fork", "command line").
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.artifacts import ArtifactStore, store_custom_artifacts
from runner.bundle import bundle_overlay, lay_over, set_bundle_variables
from runner.cleanup import kill_descendants
from runner.environment import child_environment, project_folder, with_writable_home
from runner.model import error_unit_result, ran_unit_result
from runner.proc import descendants
from runner.process import stop_reason
from runner.project_state import task_root_copy, writable_copy
from runner.pytest.artifacts import store_output_artifacts
from runner.pytest.interpreter import activated
from runner.pytest.payload import PytestUnit, RequestedTest, UnitPayloadError, parse_unit
from runner.pytest.records import Reports, build_records, parse_result_lines, unrequested
from runner.pytest.result_plugin import OUTPUT_VARIABLE
from runner.pytest.warm import PytestCommand, held_pids, run_pytest

RUNNER_PACKAGE = Path(__file__).resolve().parent.parent
STOP_GRACE_S = 8.0
# pytest's exit codes (pytest.ExitCode): tests ran (all passed, or some failed).
RAN_EXIT_CODES = (0, 1)
NO_TESTS_COLLECTED = 5


def run_pytest_unit(unit: Mapping[str, Any], run_id: str, unit_id: str, store: ArtifactStore,  # noqa: PLR0917
                    deadline: float, environ: Mapping[str, str]) -> dict[str, Any]:
    """Run the unit's tests before the monotonic deadline and return the unit result (result.schema)."""
    started_at = dt.datetime.now(dt.UTC)
    started = time.monotonic()
    keep = frozenset(descendants())  # a web server the sandbox holds outlives the unit; nothing else does
    work = Path(tempfile.mkdtemp(prefix="ht-pytest-unit-"))
    try:
        try:
            request = parse_unit(unit)
        except UnitPayloadError as exc:
            result = failed_unit(run_id, unit_id, (), f"invalid pytest unit: {exc}")
        else:
            result = _run(request, run_id, unit_id, store=store, deadline=deadline, env=dict(environ), work=work)
    finally:
        kill_descendants(keep | held_pids())  # the warm server outlives the unit; what it forked does not
        shutil.rmtree(work, ignore_errors=True)
    result["startedAt"] = started_at.isoformat().replace("+00:00", "Z")
    result["durationMs"] = int((time.monotonic() - started) * 1000)
    return result


def pytest_argv(request: PytestUnit, project_dir: Path, output_dir: Path) -> list[str]:
    """The pytest command line of a unit: the suite's extra args, ours, then the node ids after `--`."""
    argv = [interpreter(request), "-m", "pytest", *_session_args(request, project_dir)]
    if _declares(request, "output", "pytest_playwright"):
        argv += ["--output", str(output_dir)]
    if request.retries is not None and _declares(request, "reruns", "pytest_rerunfailures"):
        argv += ["--reruns", str(request.retries)]
    if request.options is not None and "numprocesses" in request.options:
        argv += ["-n", "0"]  # last: over -n/--numprocesses/--dist/--tx of addopts and args (xdist's own rule)
    node_ids = list(dict.fromkeys(test.node_id for test in request.tests))
    return [*argv, "--", *node_ids]


def collect_args(request: PytestUnit, project_dir: Path) -> list[str]:
    """The pytest args of a warm server's import-only session: the unit's own options (not its tests, its
    artifacts folder or its reruns) with --collect-only; the test paths discovery collected, else those the
    suite's args and ini name."""
    args = [*_session_args(request, project_dir), "--collect-only", "-q"]
    if request.options is not None and "numprocesses" in request.options:
        args += ["-n", "0"]
    return [*args, "--", *request.paths] if request.paths else args


def _session_args(request: PytestUnit, project_dir: Path) -> list[str]:
    """The suite's args, then the options every session of the unit gets: our plugin, rootdir, config."""
    args = [*request.args, "-p", "runner.pytest.result_plugin", "-p", "no:cacheprovider", "--rootdir",
            str(project_dir)]
    if request.config_file is not None:
        args += ["-c", str(project_dir / request.config_file)]
    return args


def interpreter(request: PytestUnit) -> str:
    """The Python that runs the unit's pytest: the payload's, else the runner's own."""
    return request.python or sys.executable


def _declares(request: PytestUnit, option: str, module: str) -> bool:
    """Whether the suite's pytest has option: as discovery found it, else by the runner's own interpreter."""
    if request.options is not None:
        return option in request.options
    return request.python is None and importlib.util.find_spec(module) is not None


def unit_command(request: PytestUnit, run_id: str, unit_id: str, *, env: Mapping[str, str],
                 work: Path) -> tuple[PytestCommand, bool] | str:
    """The unit's pytest command, its files laid out in work, and whether it may fork from a warm server; a
    message instead when it cannot run. With a bundle (HT_BUNDLE_DIR, runner/bundle.py) the project is always
    copied and the bundle laid over the copy; the warm server is then keyed by the bundle."""
    project_dir = project_folder(env, request.project_dir)
    if not project_dir.is_dir():
        return f"the project folder does not exist: {project_dir}"
    # A per-unit copy (HT_COPY_PROJECT) is at another path in each unit: no module of it can be imported ahead.
    may_fork = env.get("HT_COPY_PROJECT") != "1"
    overlay = bundle_overlay(env)
    if env.get("HT_COPY_PROJECT") == "1" or overlay is not None or not os.access(project_dir, os.W_OK):
        # Lambda's task root is read-only: tests get a writable copy, as they would get their own folder.
        project_dir = (writable_copy(project_dir, work / "project") if env.get("HT_COPY_PROJECT") == "1"
                       else task_root_copy(project_dir))
        problem = lay_over(env, project_dir)
        if problem is not None:
            return problem
    python = interpreter(request)
    if not os.access(python, os.X_OK) or not Path(python).is_file():
        return f"the suite's Python interpreter {python} does not exist here (or cannot be run)"
    paths = _layout(work)
    command = PytestCommand(argv=tuple(pytest_argv(request, project_dir, paths["output"])),
                            collect_args=tuple(collect_args(request, project_dir)), cwd=project_dir,
                            env=activated(_child_env(env, run_id, unit_id, paths), Path(python)), unit_folder=work,
                            python_path=paths["pythonpath"], bundle=overlay.name if overlay is not None else "")
    return command, may_fork


def _run(request: PytestUnit, run_id: str, unit_id: str, *, store: ArtifactStore, deadline: float,
         env: dict[str, str], work: Path) -> dict[str, Any]:
    staged = unit_command(request, run_id, unit_id, env=env, work=work)
    if isinstance(staged, str):
        return failed_unit(run_id, unit_id, request.tests, staged)
    command, may_fork = staged
    python = interpreter(request)
    paths = _layout_paths(work)
    grace = min(STOP_GRACE_S, max(1.0, (deadline - time.monotonic()) * 0.25))
    completed = run_pytest(command, deadline=deadline - grace, grace_s=grace / 2, log_path=paths["log"],
                           may_fork=may_fork)
    reports = parse_result_lines(paths["results"])
    status, error = unit_status(completed.exit_code, completed.stopped_at_deadline, reports,
                                completed.output_tail, python)

    def missing_message(test: RequestedTest) -> str:
        if completed.stopped_at_deadline:
            return stop_reason() + " before this test finished"
        if reports.collected is not None and test.node_id not in reports.collected:
            return (f"pytest did not collect this test ({test.node_id}): it was not found, or the suite's own "
                    f"options deselected it{': ' + error if error else ''}")
        return f"pytest did not finish this test: {error or 'no result was reported'}"

    records = build_records(request.tests, reports,
                            unfinished_status="interrupted" if completed.stopped_at_deadline else "error",
                            missing_message=missing_message)
    store_output_artifacts(records, request.tests, unit_id=unit_id, reports=reports, output_dir=paths["output"],
                           store=store)
    store_custom_artifacts(records, [test.id for test in request.tests], unit_id, paths["artifacts"], store)
    result = dict(ran_unit_result(run_id=run_id, unit_id=unit_id, status=status, error=error,
                                  exit_code=completed.exit_code, tests=records, blob=None,
                                  unrequested=unrequested(request.tests, reports), output_tail=completed.output_tail))
    result["runPath"] = completed.path
    return result


def unit_status(exit_code: int | None, stopped: bool, reports: Reports, tail: str,
                python: str = sys.executable) -> tuple[str, str | None]:
    """ok when pytest ran the tests and reported its end; deadline when stopped; else error and why (naming
    the interpreter when pytest could not import something)."""
    if stopped:
        return "deadline", stop_reason() + "; pytest was stopped"
    if reports.collect_errors:
        first = reports.collect_errors[0]
        message = str(first.get("message") or "pytest could not collect the tests").strip()
        return "error", _with_interpreter(message, python)
    if exit_code in RAN_EXIT_CODES and reports.ended:
        return "ok", None
    last_lines = "\n".join(tail.strip().splitlines()[-15:])
    if exit_code == NO_TESTS_COLLECTED:
        return "error", f"pytest collected none of the requested tests:\n{last_lines}"
    if not reports.started and "No module named pytest" in tail:
        return "error", f"pytest is not installed for the suite's Python, {python}"
    return "error", _with_interpreter(
        f"pytest exited with code {exit_code} before running the tests to their end:\n{last_lines}", python)


def _with_interpreter(message: str, python: str) -> str:
    """message, with the interpreter named when something did not import (the suite's packages are elsewhere)."""
    if re.search(r"\b(ModuleNotFoundError|ImportError)\b", message):
        first, _, rest = message.partition("\n")
        return f"{first} (with the Python {python})\n{rest}".rstrip()
    return message


def failed_unit(run_id: str, unit_id: str, tests: tuple[RequestedTest, ...], message: str) -> dict[str, Any]:
    """A unit result in which every requested test is an error with message."""
    records = build_records(tests, Reports(), unfinished_status="error", missing_message=lambda _test: message)
    return dict(error_unit_result(message, run_id=run_id, unit_id=unit_id, tests=records))


def _layout_paths(work: Path) -> dict[str, Path]:
    """Where a unit's files are in its folder."""
    return {
        "results": work / "results.jsonl",
        "log": work / "pytest.log",
        "output": work / "test-results",
        "artifacts": work / "artifacts",
        "home": work / "home",
        "tmp": work / "tmp",
        "pythonpath": work / "pythonpath",
    }


def _layout(work: Path) -> dict[str, Path]:
    """The unit's folder laid out: its folders made, the runner package linked."""
    paths = _layout_paths(work)
    for key in ("artifacts", "home", "tmp", "pythonpath"):
        paths[key].mkdir()
    # The plugin must be importable in the project folder, whatever the sandbox's sys.path: only the
    # runner package is added (a link to it), not the folder it lives in.
    (paths["pythonpath"] / "runner").symlink_to(RUNNER_PACKAGE, target_is_directory=True)
    return paths


def _child_env(env: Mapping[str, str], run_id: str, unit_id: str, paths: Mapping[str, Path]) -> dict[str, str]:
    child = child_environment(env)  # the function's credentials stay with the runner
    set_bundle_variables(child, env)  # HT_BUNDLE_SHA for the tests, not the runner's HT_BUNDLE_DIR
    python_path = [str(paths["pythonpath"]), *filter(None, child.get("PYTHONPATH", "").split(os.pathsep))]
    child.update({
        "HT_RUN_ID": run_id,
        "HT_UNIT_ID": unit_id,
        OUTPUT_VARIABLE: str(paths["results"]),
        "HT_TEST_ARTIFACTS_OUTPUT_PATH": str(paths["artifacts"]),
        "PYTHONPATH": os.pathsep.join(python_path),
        "PYTHONUNBUFFERED": "1",
        # Chromium's profiles and pytest-playwright's temporary artifacts go into the unit's folder,
        # removed afterwards, even when they were killed.
        "TMPDIR": str(paths["tmp"]),
    })
    return with_writable_home(child, paths["home"])
