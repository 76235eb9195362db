"""Shared fixtures: paths of the example and fixture suites, a Chromium, a CLI runner, a private Docker daemon
with an offline Python base image and the runner base image built on it."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest
from referencing import Registry, Resource

from hypertest.cli import main
from runner import browser_server, warm_host

if TYPE_CHECKING:
    from hypertest.providers.runner_base import RunnerBase

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo"
SUITE = ROOT / "tests" / "fixtures" / "suite"
PYTHON_BASE = "hypertest-test-python:bookworm"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass(frozen=True)
class CliResult:
    """What one in-process CLI call printed and returned."""

    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def _no_warm_host_between_tests() -> Iterator[None]:
    """A test that runs units in this process (as a warm sandbox) may leave its warm Playwright host held;
    it ends with the test, so the next test starts as a cold sandbox does."""
    yield
    warm_host.stop_held()


# The test layers (pytest -m <layer>): `unit` runs in-process in well under a minute; `integration` starts real
# processes or services (Node, a moto server) but no browser; `e2e` runs real Playwright and Chromium; `docker`
# needs a Docker daemon; `aws` runs against a moto server (tests/aws). A test marks e2e or integration itself;
# docker and aws come from where it lives or the fixtures it uses; every test with no layer is a unit test.
LAYERS = ("unit", "integration", "e2e", "docker", "aws")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every collected test its layers."""
    for item in items:
        folder = item.path.relative_to(ROOT / "tests").parts[0]
        fixtures = getattr(item, "fixturenames", ())
        if folder == "docker" or "docker_host" in fixtures:
            item.add_marker(pytest.mark.docker)
        if folder == "aws":
            item.add_marker(pytest.mark.aws)
        if not any(marker.name in LAYERS for marker in item.iter_markers()):
            item.add_marker(pytest.mark.unit)


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
    """A private dockerd for this test session (overlay2, else vfs; own socket), as DOCKER_HOST.

    For working on the Docker tests, HT_TEST_DOCKER_HOST=unix:///path/docker.sock uses a daemon that is
    already running instead (it keeps its images and build cache between sessions)."""
    if os.environ.get("HT_TEST_DOCKER_HOST"):
        yield os.environ["HT_TEST_DOCKER_HOST"]
        return
    from tests.aws.services import docker_daemon

    with docker_daemon(tmp_path_factory.mktemp("dockerd")) as host:
        yield host


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses."""
    for path in [Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")]:
        if path.is_file():
            match = re.search(r"^(?:URIs:\s*|deb\s+)(\S+)", path.read_text(), re.MULTILINE)
            if match:
                return match.group(1)
    raise RuntimeError("no Debian mirror configured in /etc/apt")


@pytest.fixture(scope="session")
def python_base(docker_host: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Python image on the private daemon, made offline (no image registry is reachable here): see
    import_python_base. HT_TEST_PYTHON_BASE names one the daemon of HT_TEST_DOCKER_HOST already has instead."""
    if os.environ.get("HT_TEST_PYTHON_BASE"):
        return os.environ["HT_TEST_PYTHON_BASE"]
    return import_python_base(docker_host, tmp_path_factory.mktemp("python-base"))


def import_python_base(docker_host: str, folder: Path) -> str:
    """Debian bookworm with python3 and pip from debootstrap, imported into the daemon as PYTHON_BASE."""
    rootfs = folder / "rootfs"
    subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,python3-pip,ca-certificates",
                    "bookworm", str(rootfs), debian_mirror()], check=True, capture_output=True, timeout=600)
    shutil.copyfile(CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")  # this machine's registry proxy
    # Node.js has its own CA list: npm ci in image builds on this base trusts the proxy through this copy,
    # which apt's ca-certificates (installed later by the Dockerfiles) does not rewrite.
    (rootfs / "opt" / "build-ca").mkdir(parents=True)
    shutil.copyfile(CA_BUNDLE, rootfs / "opt" / "build-ca" / "ca.crt")
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    subprocess.run(["docker", "-H", docker_host, "import", "--change", "ENV PIP_BREAK_SYSTEM_PACKAGES=1",
                    "--change", "ENV NODE_EXTRA_CA_CERTS=/opt/build-ca/ca.crt",
                    "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "-",
                    PYTHON_BASE], stdin=tar.stdout, check=True, capture_output=True, timeout=600)
    tar.wait(timeout=60)
    shutil.rmtree(rootfs, ignore_errors=True)
    return PYTHON_BASE


@pytest.fixture(scope="session")
def runner_base(docker_host: str, python_base: str) -> RunnerBase:
    """The runner base image (runner/Dockerfile) built on python_base for linux/amd64, as deploy builds it
    (apt and pip reach their registries through the host's network)."""
    import docker

    from hypertest.providers.runner_base import ensure_runner_base

    started = time.monotonic()

    def say(text: str) -> None:
        print(f"[runner base +{time.monotonic() - started:.0f}s] {text}", flush=True)

    client = docker.DockerClient(base_url=docker_host, timeout=1200)
    base = ensure_runner_base(client, say, python_image=python_base, platform="linux/amd64", network="host")
    say(f"ready: {base.reference}")
    return base


@pytest.fixture
def private_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temp folder (TMPDIR) of this test's alone, so what is left in it is the runner's, whatever else runs on
    the machine; the warm host and browser of earlier tests (in the shared one) are stopped first."""
    warm_host.stop_held()
    browser_server.stop_held()
    folder = tmp_path_factory.mktemp("tmpdir")
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    warm_host.stop_held()
    browser_server.stop_held()


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
