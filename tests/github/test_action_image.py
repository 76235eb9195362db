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


# The secrets the workflow gives the action: one test of the run is hostile (tests/test_secrets_proc.py): it walks
# /proc and the command files looking for them, from inside the real container (root, Docker's default
# capabilities), and must find none.
CANARIES = {name: f"canary-{name.lower()}-{index:04d}-in-the-container"
            for index, name in enumerate(("INPUT_GITHUB_TOKEN", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY",
                                          "AWS_SESSION_TOKEN", "ACTIONS_RUNTIME_TOKEN"))}


def test_the_action_image_runs_the_suite_like_github_does(action_image: str, docker_host: str,
                                                         tmp_path: Path) -> None:
    from tests.test_secrets_proc import HOSTILE

    workspace = tmp_path / "workspace"
    shutil.copytree(DEMO, workspace / "e2e", symlinks=False,
                    ignore=shutil.ignore_patterns("hypertest-results", "test-results"))
    (workspace / "e2e" / "tests" / "zz-hostile.spec.ts").write_text(HOSTILE)
    (workspace / "e2e" / "canaries.json").write_text(json.dumps(sorted(CANARIES.values())))
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
                     "GITHUB_PATH": "/github/file_commands/path", "INPUT_WORKING_DIRECTORY": "e2e",
                     "INPUT_COMMENT": "off", "INPUT_CONCURRENCY": "2", **CANARIES})
    try:
        status = container.wait(timeout=600)
        logs = container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)
    assert status["StatusCode"] == 0, logs
    assert "::group::hypertest invoke" in logs and "PASSED: 9 passed" in logs
    summary = (commands / "summary.md").read_text()
    assert summary.startswith("## ✅ hypertest passed: 9 passed of 9 tests")
    hostile = json.loads((workspace / "e2e" / "hostile-report.json").read_text())
    assert hostile["found"] == [] and hostile["files"] == [], hostile  # no secret, no command file's name
    # hypertest's and its runner's Python processes hold the secrets: their environ and memory stay closed
    pythons = [a for a in hostile["ancestors"] if Path(a["command"].split(" ")[0]).name.startswith("python")]
    assert pythons and all(a["environ"] != "opened" and a["mem"] != "opened" for a in pythons), hostile
    assert (commands / "env").read_text() == (commands / "path").read_text() == ""
    assert "https://github.com/octo/shop/blob/abc/e2e/tests/todo.spec.ts#L" in summary
    outputs = (commands / "output").read_text()
    assert re.search(r"conclusion<<(\S+)\npassed\n\1\n", outputs)
    [run] = [p for p in (workspace / "e2e" / "hypertest-results").iterdir() if (p / "results.json").is_file()]
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

