"""Discover tests with the user's own Playwright config: `playwright test --list` and our list reporter."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from hypertest.core.config import TestRunnerSettings
from hypertest.core.contracts import Discovery as CoreDiscovery
from hypertest.core.limits import RunLimits
from hypertest.core.suite import TestCase, make_test_id
from hypertest.errors import InfrastructureError, UsageError
from hypertest.plugins.playwright.listing import ListedError, Listing
from hypertest.plugins.playwright.run_level import ProjectInfo, RunLevel, parse_projects, parse_run_level, run_limits
from runner.environment import child_environment
from runner.model import RunnerFields
from runner.node import NodeChoice, ToolMissingError, choose_node, find_playwright_cli

LIST_REPORTER = Path(__file__).resolve().parent / "list_reporter.cjs"
LIST_TIMEOUT_S = 300
OLDEST = (1, 40)  # the oldest Playwright of tests/test_playwright_matrix.py


@dataclass(frozen=True)
class Discovery(CoreDiscovery):
    """What `--list` found: the tests, and the facts about the project that units and the runner need."""

    playwright_version: str = ""
    chromium_projects: tuple[tuple[str, str | None], ...] = ()
    project_timeouts_ms: tuple[tuple[str, int], ...] = ()
    projects: tuple[ProjectInfo, ...] = ()
    run_level: RunLevel = field(default_factory=RunLevel)
    node: NodeChoice | None = None  # the Node.js discovery ran, which every part of the run takes

    @property
    def runner_version(self) -> str:
        """Playwright's version."""
        return self.playwright_version

    def result_fields(self) -> RunnerFields:
        """playwrightVersion, which results.json had before runner.version (kept for its readers); node."""
        fields: RunnerFields = {"playwrightVersion": self.playwright_version}
        if self.node is not None:
            fields["node"] = self.node.result_field()
        return fields

    def projects_needing_chromium(self) -> tuple[str, ...]:
        """Chromium projects with tests and no executablePath of their own."""
        used = {test.project for test in self.tests}
        return tuple(name for name, executable in self.chromium_projects if name in used and not executable)

    def test_timeout_ms(self, project: str) -> int:
        """The project's per-test timeout (Playwright's default 30 s applies when the config sets none)."""
        return dict(self.project_timeouts_ms).get(project, 0)

    def project(self, name: str) -> ProjectInfo | None:
        """The project of that name, if the config has one."""
        return next((p for p in self.projects if p.name == name), None)

    def limits(self) -> RunLimits:
        """Projects' `workers` and the config's `maxFailures` (run_level.run_limits)."""
        return run_limits(self.projects, self.run_level)


def discover(settings: TestRunnerSettings, environ: Mapping[str, str] | None = None) -> Discovery:
    """List every test the settings select, using the project's Playwright and config."""
    env = child_environment(os.environ if environ is None else environ)  # the config is the user's code
    project_dir = settings.config.parent
    try:
        choice = choose_node(env, project_dir)
        node, cli = choice.path, find_playwright_cli(project_dir)
    except ToolMissingError as exc:
        raise UsageError(str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="ht-list-") as scratch:
        output = Path(scratch) / "list.json"
        argv = [node, str(cli), "test", "--list", "--pass-with-no-tests", "-c", str(settings.config),
                f"--reporter={LIST_REPORTER}"]
        for project in settings.projects:
            argv += ["--project", project]
        if settings.grep:
            argv += ["--grep", settings.grep]
        if settings.grep_invert:
            argv += ["--grep-invert", settings.grep_invert]
        env.update({"HT_LIST_OUTPUT": str(output), "FORCE_COLOR": "0"})
        try:
            completed = subprocess.run(argv, cwd=project_dir, env=env, capture_output=True, text=True,
                                       timeout=LIST_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise InfrastructureError(f"listing tests took more than {LIST_TIMEOUT_S} s") from None
        except OSError as exc:
            raise InfrastructureError(f"cannot run Node.js ({node}): {exc.strerror}") from None
        _check_patterns(settings, completed)
        document = _read_listing(output, completed, settings.config)
    _check_supported(str(document.get("playwrightVersion") or ""))
    return dataclasses.replace(_build(document, settings, project_dir), node=choice)


def _read_listing(output: Path, completed: subprocess.CompletedProcess[str], config: Path) -> Listing:
    failed = f"Playwright could not list the tests of {config} (exit code {completed.returncode}):\n"
    if not output.is_file():
        raise UsageError(failed + _tail(completed.stderr or completed.stdout))
    try:
        document = cast(Listing, json.loads(output.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        raise InfrastructureError(f"the test listing is not valid JSON: {exc}") from None
    if document.get("errors"):
        raise UsageError(f"Playwright could not load the tests of {config}:\n" + "\n".join(
            _render_error(error) for error in document["errors"][:5]))
    if completed.returncode != 0:
        raise UsageError(failed + _tail(completed.stderr or completed.stdout))
    return document


def _check_supported(version: str) -> None:
    """Refuse a Playwright older than the oldest release hypertest checks its units, results and report on."""
    parts = version.split(".")[:2]
    if len(parts) == 2 and all(part.isdigit() for part in parts) and (int(parts[0]), int(parts[1])) < OLDEST:
        raise UsageError(
            f"@playwright/test {version} is older than {OLDEST[0]}.{OLDEST[1]}, the oldest Playwright hypertest "
            "supports: how units select their tests, the results and the merged report are checked on "
            f"{OLDEST[0]}.{OLDEST[1]} and newer only. Upgrade it: npm install -D @playwright/test@latest")


def _check_patterns(settings: TestRunnerSettings, completed: subprocess.CompletedProcess[str]) -> None:
    """Playwright refuses an invalid --grep as a SyntaxError of 'the tests'; name the pattern's origin instead."""
    said = completed.stdout + completed.stderr
    if completed.returncode == 0 or "Invalid regular expression" not in said:
        return
    reason = next(line for line in said.splitlines() if "Invalid regular expression" in line)
    reason = reason.split("Invalid regular expression:", 1)[1].strip()
    for pattern, origin in ((settings.grep, settings.grep_origin),
                            (settings.grep_invert, settings.grep_invert_origin)):
        if pattern and _escaped(pattern) in reason:
            raise UsageError(f"{origin} {pattern!r}: not a valid JavaScript regular expression ({reason})")


def _escaped(pattern: str) -> str:
    """How Playwright shows a pattern in its error: the text between slashes, or the whole text."""
    return pattern[1:pattern.rindex("/")] if pattern.startswith("/") and pattern.count("/") > 1 else pattern


def _render_error(error: ListedError) -> str:
    location = error.get("location")
    where = f"{location.get('file')}:{location.get('line')}:{location.get('column')}: " if location else ""
    message = str(error.get("message") or "").strip()
    return "  " + where + "\n  ".join(message.splitlines()[:12])


def _tail(text: str, lines: int = 20) -> str:
    kept = [line for line in text.strip().splitlines()
            if line.strip() and not line.strip().startswith("at ")][-lines:]  # no Node.js stack frames
    return "\n".join("  " + line for line in kept) or "  (no output)"


def _build(document: Listing, settings: TestRunnerSettings, project_dir: Path) -> Discovery:
    wanted_tags = set(settings.tags)
    projects = parse_projects(document.get("projects", []))
    repeating = {p.name for p in projects if p.repeat_each > 1}
    tests = []
    for raw in document.get("tests", []):
        tags = tuple(raw.get("tags") or ())
        if wanted_tags and not wanted_tags.intersection(tags):
            continue
        title_path = tuple(raw["titlePath"])
        repeat = int(raw.get("repeatEachIndex") or 0) if raw["project"] in repeating else None
        tests.append(TestCase(
            id=make_test_id(raw["project"], raw["file"], title_path, repeat),
            project=raw["project"],
            file=raw["file"],
            line=int(raw["line"]),
            column=int(raw["column"]),
            title_path=title_path,
            tags=tags,
            expected_status=raw.get("expectedStatus", "passed"),
            serial_group=raw.get("serialGroup"),
            repeat_each_index=repeat,
        ))
    ids = [t.id for t in tests]
    if len(ids) != len(set(ids)):
        seen: set[str] = set()
        twice = next(t for t in tests if t.id in seen or seen.add(t.id))  # type: ignore[func-returns-value]
        raise UsageError(f"two tests share the project, file and title {twice.title!r} ({twice.location}); "
                         "Playwright runs them both, but hypertest cannot tell them apart")
    return Discovery(
        tests=tuple(tests),
        root_dir=Path(document.get("rootDir") or project_dir),
        config_file=Path(document.get("configFile") or settings.config),
        project_dir=project_dir,
        playwright_version=str(document.get("playwrightVersion", "")),
        chromium_projects=tuple((str(p.get("name", "")), p.get("executablePath"))
                                for p in document.get("projects", []) if p.get("browserName") == "chromium"),
        project_timeouts_ms=tuple((str(p.get("name", "")), int(p.get("timeout") or 0))
                                  for p in document.get("projects", [])),
        projects=projects,
        run_level=parse_run_level(document.get("runLevel")),
    )
