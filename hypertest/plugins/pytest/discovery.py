"""Discover a pytest suite: `pytest --collect-only` with our collection plugin, which writes JSON."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import runner
from hypertest.core.config import TestRunnerSettings
from hypertest.core.contracts import Discovery
from hypertest.core.models import TestCase, make_test_id
from hypertest.errors import InfrastructureError, UsageError
from runner.environment import child_environment

COLLECT_TIMEOUT_S = 300
RUNNER_PACKAGE = Path(runner.__file__).resolve().parent


@dataclass(frozen=True)
class PytestDiscovery(Discovery):
    """What collection found; `groups` maps a test id to the group that must share its unit."""

    pytest_version: str = ""
    node_ids: tuple[tuple[str, str], ...] = ()  # (test id, node id)
    groups: tuple[tuple[str, str], ...] = ()  # (test id, group)

    @property
    def runner_version(self) -> str:
        """pytest's version."""
        return self.pytest_version

    def projects_needing_chromium(self) -> tuple[str, ...]:
        """pytest-playwright launches Chromium for the tests that use a page."""
        return ("",) if self.tests else ()


def discover(settings: TestRunnerSettings, environ: Mapping[str, str], python: str = sys.executable) -> PytestDiscovery:
    """Every test pytest collects in the project of settings.config."""
    project_dir = settings.config.parent
    env = child_environment(environ)
    with tempfile.TemporaryDirectory(prefix="ht-collect-") as scratch:
        # the user's pytest sees our `runner` package (its plugins), and nothing else of this repository
        (Path(scratch) / "path").mkdir()
        (Path(scratch) / "path" / "runner").symlink_to(RUNNER_PACKAGE, target_is_directory=True)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(scratch) / "path"), env.get("PYTHONPATH")]))
        output = Path(scratch) / "collect.json"
        env["HT_PYTEST_COLLECT_OUTPUT"] = str(output)
        argv = [python, "-m", "pytest", "--collect-only", "-q", "-p", "runner.pytest.collect_plugin",
                "-p", "no:cacheprovider", "-c", str(settings.config), "--rootdir", str(project_dir)]
        try:
            completed = subprocess.run(argv, cwd=project_dir, env=env, capture_output=True, text=True,
                                       timeout=COLLECT_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise InfrastructureError(f"collecting the tests took more than {COLLECT_TIMEOUT_S} s") from None
        document = _read(output, completed, settings.config)
    return _build(document, settings, project_dir)


def _read(output: Path, completed: subprocess.CompletedProcess[str], config: Path) -> dict[str, Any]:
    said = "\n".join(line for line in (completed.stdout + completed.stderr).strip().splitlines()[-20:])
    if not output.is_file():
        raise UsageError(f"pytest could not collect the tests of {config} (exit code {completed.returncode}):\n"
                         + (said or "(no output)"))
    document: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    if document.get("errors"):
        raise UsageError(f"pytest could not collect the tests of {config}:\n" + "\n".join(
            f"  {error.get('nodeId')}: " + "\n  ".join(str(error.get("message", "")).splitlines()[:12])
            for error in document["errors"][:5]))
    if completed.returncode not in (0, 5):  # 5: no tests collected
        raise UsageError(f"pytest could not collect the tests of {config} (exit code {completed.returncode}):\n"
                         + said)
    return document


def _pattern(text: str | None, origin: str) -> re.Pattern[str] | None:
    """grep for a pytest suite: a Python regular expression searched in `file title... tags`."""
    if not text:
        return None
    try:
        return re.compile(text)
    except re.error as exc:
        raise UsageError(f"{origin} {text!r}: not a valid Python regular expression ({exc})") from None


def _build(document: Mapping[str, Any], settings: TestRunnerSettings, project_dir: Path) -> PytestDiscovery:
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
                           groups=tuple(groups))
