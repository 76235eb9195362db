"""The action's image, built from the top-level Dockerfile with a real Docker daemon, and the same run
as GitHub's inside it: INPUT_* variables, the workspace mounted at /github/workspace, the summary and
outputs files, no network. No image registry is reachable here, so the Python base is the offline one
of tests/conftest.py (python_base: debootstrap, imported); the build itself installs Chromium and the
pinned Python packages from the package registries (--network host)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from hypertest.providers.runner_base import RunnerBase, content_hash, input_files
from tests.conftest import DEMO, ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def action_image(docker_host: str, python_base: str) -> Iterator[str]:
    client = docker.DockerClient(base_url=docker_host, timeout=1200)
    client.images.build(path=str(ROOT), tag="hypertest-action:test", network_mode="host", rm=True,
                        buildargs={"BASE": python_base})
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


def test_the_action_image_shares_the_runner_bases_chromium_layer(action_image: str, runner_base: RunnerBase,
                                                                 python_base: str, docker_host: str) -> None:
    client = docker.DockerClient(base_url=docker_host, timeout=120)
    [python] = client.images.get(python_base).attrs["RootFS"]["Layers"]
    action = client.images.get(action_image).attrs["RootFS"]["Layers"]
    runner = client.images.get(runner_base.reference).attrs["RootFS"]["Layers"]
    assert action[0] == runner[0] == python
    assert action[1] == runner[1]  # the apt layer: built once, kept once by the daemon
    assert action[2] != runner[2]


HASH_INSIDE = """
from hypertest.providers.runner_base import content_hash, input_files, source_root
files = input_files(source_root())
print(source_root())
print(content_hash(files, "sha256:" + "1" * 64, "linux/amd64"))
print("\\n".join(name for name, _ in files))
"""


def test_the_action_image_can_build_the_runner_base_from_its_own_sources(action_image: str,
                                                                         docker_host: str) -> None:
    client = docker.DockerClient(base_url=docker_host, timeout=120)
    # how entrypoint.py runs: /opt/hypertest first on sys.path
    output = client.containers.run(action_image, entrypoint=["python3", "-c", HASH_INSIDE], network_mode="none",
                                   working_dir="/opt/hypertest", remove=True).decode()
    root, digest, *names = output.split("\n")
    assert root == "/opt/hypertest"
    files = input_files(ROOT)
    assert [name for name in names if name] == [name for name, _ in files]
    assert digest == content_hash(files, "sha256:" + "1" * 64, "linux/amd64")  # the tag a checkout would build


def test_a_hostile_test_finds_no_secret_inside_the_action_container(action_image: str, docker_host: str,
                                                                     tmp_path: Path) -> None:
    """The action's real container (root, Docker's default capabilities): a test that walks /proc and the
    command files finds none of the secrets the workflow gave the action (tests/test_secrets_proc.py runs the
    same test on this machine, as the container's capabilities and as a normal user)."""
    from tests.test_secrets_proc import CONFIG, HOSTILE

    workspace = tmp_path / "workspace"
    project = workspace / "hostile"
    shutil.copytree(DEMO, project, symlinks=False,
                    ignore=shutil.ignore_patterns("hypertest-results", "test-results", "tests", "hypertest.yml"))
    (project / "playwright.config.ts").write_text(CONFIG)
    (project / "hypertest.yml").write_text("testRunner:\n  type: playwright\nprovider:\n  type: local\n")
    (project / "tests").mkdir()
    (project / "tests" / "hostile.spec.ts").write_text(HOSTILE)
    canaries = {name: f"canary-{name.lower()}-{index:04d}-in-the-container"
                for index, name in enumerate(("INPUT_GITHUB_TOKEN", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY",
                                              "AWS_SESSION_TOKEN", "ACTIONS_RUNTIME_TOKEN"))}
    (project / "canaries.json").write_text(json.dumps(sorted(canaries.values())))
    commands = tmp_path / "file_commands"
    commands.mkdir()
    for name in ("summary.md", "output", "env", "path"):
        (commands / name).touch()
    client = docker.DockerClient(base_url=docker_host, timeout=600)
    container = client.containers.run(
        action_image, detach=True, network_mode="none", working_dir="/github/workspace",
        volumes={str(workspace): {"bind": "/github/workspace", "mode": "rw"},
                 str(commands): {"bind": "/github/file_commands", "mode": "rw"}},
        environment={"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": "/github/workspace",
                     "GITHUB_REPOSITORY": "octo/shop", "GITHUB_SHA": "abc", "GITHUB_RUN_ID": "7",
                     "GITHUB_STEP_SUMMARY": "/github/file_commands/summary.md",
                     "GITHUB_OUTPUT": "/github/file_commands/output", "GITHUB_ENV": "/github/file_commands/env",
                     "GITHUB_PATH": "/github/file_commands/path", "INPUT_WORKING_DIRECTORY": "hostile",
                     "INPUT_COMMENT": "off", "INPUT_CONCURRENCY": "1", **canaries})
    try:
        status = container.wait(timeout=600)
        logs = container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)
    assert status["StatusCode"] == 0, logs
    report = json.loads((project / "hostile-report.json").read_text())
    assert report["found"] == [], report
    # hypertest's and its runner's Python processes hold the secrets; the Node processes below got none
    hypertest = [a for a in report["ancestors"] if Path(a["command"].split(" ")[0]).name.startswith("python")]
    assert hypertest and all(a["environ"] != "opened" and a["mem"] != "opened" for a in hypertest), report
    assert report["files"] == [], report  # no command file's name reached the test
    for name in ("env", "path"):
        assert (commands / name).read_text() == ""
