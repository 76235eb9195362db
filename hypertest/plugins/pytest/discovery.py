"""Discover a pytest suite: `pytest --collect-only` with our collection plugin, which writes JSON, run by the
suite's Python (interpreter.py) with testRunner.args and testRunner.paths."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import runner
from hypertest.core.config import TestRunnerSettings
from hypertest.core.contracts import Discovery
from hypertest.core.suite import TestCase, make_test_id
from hypertest.errors import InfrastructureError, UsageError
from hypertest.plugins.pytest.interpreter import Interpreter, choose_python
from hypertest.plugins.pytest.settings import PytestSettings, pytest_settings
from runner.environment import child_environment
from runner.model import RunnerFields
from runner.pytest.interpreter import activated

COLLECT_TIMEOUT_S = 300
RUNNER_PACKAGE = Path(runner.__file__).resolve().parent


@dataclass(frozen=True)
class PytestDiscovery(Discovery):
    """What collection found; `groups` maps a test id to the group that must share its unit."""

    pytest_version: str = ""
    node_ids: tuple[tuple[str, str], ...] = ()  # (test id, node id)
    groups: tuple[tuple[str, str], ...] = ()  # (test id, group)
    python: str = ""  # the interpreter that collected (and, on this machine, runs) the tests
    python_version: str = ""
    python_why: str = ""
    python_source: str = ""
    options: tuple[str, ...] = ()  # the unit options the suite's plugins declare (output, reruns, numprocesses)
    parallel: tuple[str, ...] = ()  # what the suite asks of pytest-xdist for the whole run (`-n auto`)
    args: tuple[str, ...] = ()  # testRunner.args, which every unit's pytest gets too
    paths: tuple[str, ...] = ()  # testRunner.paths as pytest was given them (what a warm server imports ahead)

    @property
    def runner_version(self) -> str:
        """pytest's version."""
        return self.pytest_version

    def result_fields(self) -> RunnerFields:
        """results.json's `python`: which interpreter listed the tests (and runs them on this machine), and why."""
        if not self.python:
            return {}
        return {"python": {"path": self.python, "version": self.python_version, "source": self.python_source,
                           "reason": self.python_why}}

    def projects_needing_chromium(self) -> tuple[str, ...]:
        """pytest-playwright launches Chromium for the tests that use a page."""
        return ("",) if self.tests else ()


def discover(settings: TestRunnerSettings, environ: Mapping[str, str]) -> PytestDiscovery:
    """Every test pytest collects in the project of settings.config, with the suite's Python, testRunner.args
    and testRunner.paths."""
    project_dir, own = settings.config.parent, pytest_settings(settings)
    chosen = choose_python(settings, environ)
    env = activated(child_environment(environ), chosen.path)
    with tempfile.TemporaryDirectory(prefix="ht-collect-") as scratch:
        # the user's pytest sees our `runner` package (its plugins), and nothing else of this repository
        (Path(scratch) / "path").mkdir()
        (Path(scratch) / "path" / "runner").symlink_to(RUNNER_PACKAGE, target_is_directory=True)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(scratch) / "path"), env.get("PYTHONPATH")]))
        output = Path(scratch) / "collect.json"
        env["HT_PYTEST_COLLECT_OUTPUT"] = str(output)
        argv = [str(chosen.path), "-m", "pytest", *own.args, "--collect-only", "-q",
                "-p", "runner.pytest.collect_plugin", "-p", "no:cacheprovider", "-c", str(settings.config),
                "--rootdir", str(project_dir)]
        if own.paths:
            argv += ["--", *test_paths(own, project_dir)]
        try:
            completed = subprocess.run(argv, cwd=project_dir, env=env, capture_output=True, text=True,
                                       timeout=COLLECT_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise InfrastructureError(f"collecting the tests took more than {COLLECT_TIMEOUT_S} s") from None
        except OSError as exc:
            raise UsageError(f"the suite's Python {chosen.describe()} cannot be run: {exc.strerror or exc}",
                             hint=PYTHON_HINT) from None
        document = _read(output, completed, settings, own, chosen)
    return _build(document, settings, own, project_dir, chosen)


PYTHON_HINT = ("set testRunner.python in hypertest.yml to the interpreter of the virtualenv the suite is installed "
               "in (for example .venv/bin/python), or install pytest and pytest-playwright where hypertest runs")


def _importing(text: str) -> bool:
    """Whether pytest's words say something did not import (the suite's packages may be in another Python)."""
    return "ModuleNotFoundError" in text or "ImportError" in text


def test_paths(own: PytestSettings, project_dir: Path) -> tuple[str, ...]:
    """testRunner.paths as pytest is given them."""
    return tuple(_relative(path, project_dir) for path in own.paths)


def _relative(path: Path, project_dir: Path) -> str:
    """A test path as pytest is given it: relative to the project folder when below it."""
    try:
        return path.relative_to(project_dir).as_posix() or "."
    except ValueError:
        return str(path)


def _read(output: Path, completed: subprocess.CompletedProcess[str], settings: TestRunnerSettings,
          own: PytestSettings, chosen: Interpreter) -> dict[str, Any]:
    config = settings.config
    said = "\n".join(line for line in (completed.stdout + completed.stderr).strip().splitlines()[-20:])
    with_args = f" (with {own.args_origin}: {' '.join(own.args)})" if own.args else ""
    if not output.is_file():
        if "No module named pytest" in said:
            raise UsageError(f"pytest is not installed for the suite's Python, {chosen.describe()}",
                             hint=PYTHON_HINT)
        raise UsageError(f"pytest could not collect the tests of {config} with the Python {chosen.describe()}"
                         f"{with_args} (exit code {completed.returncode}):\n" + (said or "(no output)"),
                         hint=PYTHON_HINT if _importing(said) else "")
    document: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    if document.get("errors"):
        messages = [str(error.get("message", "")) for error in document["errors"][:5]]
        importing = any(_importing(message) for message in messages)
        raise UsageError(f"pytest could not collect the tests of {config} with the Python {chosen.describe()}:\n"
                         + "\n".join(f"  {error.get('nodeId')}: " + "\n  ".join(message.splitlines()[:12])
                                     for error, message in zip(document["errors"], messages, strict=False)),
                         hint=PYTHON_HINT if importing else "")
    if completed.returncode not in (0, 5):  # 5: no tests collected
        raise UsageError(f"pytest could not collect the tests of {config} with the Python {chosen.describe()}"
                         f"{with_args} (exit code {completed.returncode}):\n" + said)
    return document


def _pattern(text: str | None, origin: str) -> re.Pattern[str] | None:
    """grep for a pytest suite: a Python regular expression searched in `file title... tags`."""
    if not text:
        return None
    try:
        return re.compile(text)
    except re.error as exc:
        raise UsageError(f"{origin} {text!r}: not a valid Python regular expression ({exc})") from None


def _build(document: Mapping[str, Any], settings: TestRunnerSettings, own: PytestSettings, project_dir: Path,
           chosen: Interpreter) -> PytestDiscovery:
    options = tuple(str(option) for option in document.get("options") or ())
    if settings.retries and settings.retry_strategy != "fresh" and "reruns" not in options:
        raise UsageError(f"testRunner.retries is {settings.retries}, but pytest-rerunfailures (--reruns) is not "
                         f"installed for the suite's Python, {chosen.describe()}",
                         hint=f"{chosen.path} -m pip install pytest-rerunfailures, or remove testRunner.retries")
    if settings.projects:
        raise UsageError("testRunner.projects (--project): a pytest suite has no projects; select with "
                         "grep, grepInvert or tags (markers)")
    wanted_tags = {tag.removeprefix("@") for tag in settings.tags}
    grep = _pattern(settings.grep, settings.grep_origin)
    grep_invert = _pattern(settings.grep_invert, settings.grep_invert_origin)
    tests, node_ids, groups = [], [], []
    for item in document.get("items", []):
        tags = tuple(f"@{tag}" for tag in item.get("tags") or ())
        if wanted_tags and not wanted_tags.intersection(tag.removeprefix("@") for tag in tags):
            continue
        title_path = tuple(str(title) for title in item["titlePath"])
        full_title = " ".join([str(item["file"]), *title_path, *tags])
        if (grep and not grep.search(full_title)) or (grep_invert and grep_invert.search(full_title)):
            continue
        test = TestCase(id=make_test_id("", item["file"], title_path), project="", file=item["file"],
                        line=int(item["line"]), column=0, title_path=title_path, tags=tags,
                        expected_status="passed", serial_group=item.get("group"))
        tests.append(test)
        node_ids.append((test.id, str(item["nodeId"])))
        if item.get("group"):
            groups.append((test.id, str(item["group"])))
    root = Path(document.get("rootdir") or project_dir)
    return PytestDiscovery(tests=tuple(tests), root_dir=root, config_file=settings.config, project_dir=project_dir,
                           pytest_version=str(document.get("pytestVersion", "")), node_ids=tuple(node_ids),
                           groups=tuple(groups), python=str(chosen.path),
                           python_version=str((document.get("python") or {}).get("version", "")),
                           python_why=chosen.why, python_source=chosen.source, options=options,
                           parallel=tuple(str(asked) for asked in document.get("parallel") or ()), args=own.args,
                           paths=test_paths(own, project_dir))
