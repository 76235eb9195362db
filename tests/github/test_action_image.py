"""The action's image, built from the top-level Dockerfile with a real Docker daemon, and the same run
as GitHub's inside it: INPUT_* variables, the workspace mounted at /github/workspace, the summary and
outputs files, no network. No image registry is reachable here, so the Python base is made offline
with debootstrap (Debian bookworm with python3) and imported; the build itself installs Chromium
and the pinned Python packages from the package registries (--network host)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.conftest import DEMO, ROOT

pytestmark = pytest.mark.e2e
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def debian_mirror() -> str:
    for path in [Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")]:
        if path.is_file():
            match = re.search(r"^(?:URIs:\s*|deb\s+)(\S+)", path.read_text(), re.MULTILINE)
            if match:
                return match.group(1)
    raise RuntimeError("no Debian mirror configured in /etc/apt")


@pytest.fixture(scope="session")
def action_image(docker_host: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("python-base")
    rootfs = folder / "rootfs"
    subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,python3-pip,ca-certificates",
                    "bookworm", str(rootfs), debian_mirror()], check=True, capture_output=True, timeout=600)
    shutil.copyfile(CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")  # this machine's registry proxy
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    subprocess.run(["docker", "-H", docker_host, "import", "--change", "ENV PIP_BREAK_SYSTEM_PACKAGES=1",
                    "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "-",
                    "hypertest-test-python:bookworm"], stdin=tar.stdout, check=True, capture_output=True, timeout=600)
    tar.wait()
    shutil.rmtree(rootfs, ignore_errors=True)
    client = docker.DockerClient(base_url=docker_host, timeout=1200)
    client.images.build(path=str(ROOT), tag="hypertest-action:test", network_mode="host", rm=True,
                        buildargs={"BASE": "hypertest-test-python:bookworm"})
    yield "hypertest-action:test"


def test_the_action_image_runs_the_suite_like_github_does(action_image: str, docker_host: str,
                                                         tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    shutil.copytree(DEMO, workspace / "e2e", symlinks=False,
                    ignore=shutil.ignore_patterns("hypertest-results", "test-results"))
    commands = tmp_path / "file_commands"
    commands.mkdir()
    (commands / "summary.md").touch()
    (commands / "output").touch()
    client = docker.DockerClient(base_url=docker_host, timeout=600)
    container = client.containers.run(
        action_image, detach=True, network_mode="none", working_dir="/github/workspace",
        volumes={str(workspace): {"bind": "/github/workspace", "mode": "rw"},
                 str(commands): {"bind": "/github/file_commands", "mode": "rw"}},
        environment={"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": "/github/workspace",
                     "GITHUB_REPOSITORY": "octo/shop", "GITHUB_SHA": "abc", "GITHUB_RUN_ID": "7",
                     "GITHUB_STEP_SUMMARY": "/github/file_commands/summary.md",
                     "GITHUB_OUTPUT": "/github/file_commands/output", "INPUT_WORKING_DIRECTORY": "e2e",
                     "INPUT_COMMENT": "off", "INPUT_CONCURRENCY": "2"})
    try:
        status = container.wait(timeout=600)
        logs = container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)
    assert status["StatusCode"] == 0, logs
    assert "::group::hypertest invoke" in logs and "PASSED: 8 passed" in logs
    summary = (commands / "summary.md").read_text()
    assert summary.startswith("## ✅ hypertest passed: 8 passed of 8 tests")
    assert "https://github.com/octo/shop/blob/abc/e2e/tests/todo.spec.ts#L" in summary
    outputs = (commands / "output").read_text()
    assert re.search(r"conclusion<<(\S+)\npassed\n\1\n", outputs)
    [run] = [p for p in (workspace / "e2e" / "hypertest-results").iterdir() if p.is_dir()]
    assert (run / "report" / "index.html").is_file() and (run / "results.json").is_file()
