"""Shared fixtures: paths of the example and fixture suites, a Chromium, and a CLI runner."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource

from hypertest.cli import main

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo"
SUITE = ROOT / "tests" / "fixtures" / "suite"


@dataclass(frozen=True)
class CliResult:
    """What one in-process CLI call printed and returned."""

    code: int
    out: str
    err: str


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliResult]:
    """Run `hypertest ARGS` in-process from a working folder; returns exit code and output."""

    def run(*args: str, cwd: Path = ROOT) -> CliResult:
        monkeypatch.chdir(cwd)
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse
                code = int(exc.code or 0)
        return CliResult(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture(scope="session")
def docker_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private dockerd for this test session (vfs, own socket), as DOCKER_HOST."""
    from tests.aws.services import docker_daemon

    with docker_daemon(tmp_path_factory.mktemp("dockerd")) as host:
        yield host


@pytest.fixture(scope="session")
def chromium() -> str:
    """The system Chromium the suites run on."""
    found = shutil.which("chromium")
    assert found, "Debian's chromium package is required (scripts/bootstrap.sh installs it)"
    return found


def copy_suite(source: Path, target: Path) -> Path:
    """A copy of a suite whose node_modules is a link to the original's (fast, and writable)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("node_modules", "hypertest-results",
                                                                  "test-results"))
    (target / "node_modules").symlink_to(source / "node_modules")
    return target


def small_project(folder: Path, config: str, files: dict[str, str] | None = None) -> Path:
    """A Playwright project using the demo's node_modules: the given config, and files below the folder."""
    (folder / "tests").mkdir(parents=True)
    (folder / "node_modules").symlink_to(DEMO / "node_modules")
    (folder / "playwright.config.ts").write_text(config)
    for name, text in (files or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def load_results(output: Path) -> dict[str, Any]:
    """The results.json of the only run in an output folder."""
    runs = [p for p in output.iterdir() if (p / "results.json").is_file()]
    assert len(runs) == 1, runs
    document: dict[str, Any] = json.loads((runs[0] / "results.json").read_text(encoding="utf-8"))
    return document


def validate_run_result(document: dict[str, Any]) -> None:
    """Assert that a results.json document follows schema/run-result.schema.json."""
    unit_schema = json.loads((ROOT / "schema" / "result.schema.json").read_text(encoding="utf-8"))
    run_schema = json.loads((ROOT / "schema" / "run-result.schema.json").read_text(encoding="utf-8"))
    registry = Registry().with_resources([(unit_schema["$id"], Resource.from_contents(unit_schema)),
                                          (run_schema["$id"], Resource.from_contents(run_schema))])
    jsonschema.Draft202012Validator(run_schema, registry=registry).validate(document)
