"""`provider: docker` end to end: the README's demo suite through the image deploy builds, run by the
image's own runtime client in emulated Lambda sandboxes on a real daemon; a fresh retry in a new sandbox; and a
warm-reuse soak of one sandbox through fifty invocations that pass, fail, time out and crash."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path
from typing import Any

import docker
import pytest

from hypertest.core.invoke import invoke
from hypertest.core.load import load_settings
from hypertest.providers.docker.provider import DockerProvider
from hypertest.providers.docker.sandbox import Sandbox
from hypertest.providers.docker.sandbox_spec import SandboxResult
from hypertest.providers.docker.settings import docker_settings
from hypertest.providers.runner_base import RunnerBase
from tests.conftest import DEMO, ROOT, CliResult, copy_suite, load_results

pytestmark = pytest.mark.e2e
SOAK = ROOT / "tests" / "fixtures" / "soak_suite"
MB = 1024 * 1024


def docker_config(project: Path, base: RunnerBase, concurrency: int, **docker: Any) -> Path:
    settings = {"baseImage": base.reference, "buildNetwork": "host", "memory": 2048, "timeout": 120, **docker}
    path = project / "hypertest.yml"
    path.write_text(json.dumps({"provider": {"type": "docker", "docker": settings}, "concurrency": concurrency}))
    return path


def test_invoke_with_provider_docker_runs_the_demo_suite(cli: Any, docker_host: str, runner_base: RunnerBase,
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = copy_suite(DEMO, tmp_path / "demo")
    docker_config(project, runner_base, 2)
    monkeypatch.setenv("DOCKER_HOST", docker_host)
    result: CliResult = cli("invoke", cwd=project)
    assert result.code == 0, result.out + result.err
    assert "PASSED: 8 passed" in result.out
    assert "building the test image hypertest-test:ht-" in result.out
    document = load_results(project / "hypertest-results")
    assert document["provider"] == "docker"
    details = document["providerDetails"]
    assert details["image"].startswith("hypertest-test:ht-") and details["memoryMb"] == 2048
    assert 1 <= details["coldStarts"] <= 2  # two sandboxes at most, reused warm for the eight units
    # What Lambda would bill: each invocation from its start to its answer, which holds the runner's unit.
    assert details["invocations"] == len(document["units"]) == 8
    assert details["billedDurationMs"] >= sum(unit["durationMs"] for unit in document["units"]) > 0
    assert {test["status"] for test in document["tests"]} == {"passed"}
    assert Path(document["reports"]["html"]).is_file()  # the units' blobs merged: one test folder in every sandbox
    client = docker.DockerClient(base_url=docker_host)
    assert not client.containers.list(all=True, filters={"label": "hypertest.emulator"})  # sandboxes removed
    again: CliResult = cli("invoke", cwd=project)
    assert again.code == 0 and "unchanged, reused" in again.out  # nothing rebuilt


FRESH_SPEC = """import { test, expect } from '@playwright/test';
import * as fs from 'fs';

// RETRY_MARKER is a file in the run folder, which every sandbox of the run sees: made by the first attempt only.
test('fails on its first attempt only', () => {
  let first = true;
  try {
    fs.writeFileSync(process.env.RETRY_MARKER ?? '/nonexistent/marker', 'x', { flag: 'wx' });
  } catch {
    first = false;
  }
  expect(first, 'the first attempt fails').toBe(false);
});
"""


def test_a_fresh_retry_runs_in_a_new_sandbox(cli: Any, docker_host: str, runner_base: RunnerBase, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    project = copy_suite(DEMO, tmp_path / "demo")
    (project / "tests" / "fresh-retry.spec.ts").write_text(FRESH_SPEC)
    config = docker_config(project, runner_base, 2, environment={"RETRY_MARKER": "/opt/hypertest-run/marker"})
    config.write_text(json.dumps({**json.loads(config.read_text()),
                                  "testRunner": {"retryStrategy": "fresh", "retries": 1}}))
    monkeypatch.setenv("DOCKER_HOST", docker_host)
    result: CliResult = cli("invoke", "--grep", "first attempt only", cwd=project)
    assert result.code == 0, result.out + result.err
    document = load_results(project / "hypertest-results")
    [record] = document["tests"]
    assert (record["status"], record["outcome"]) == ("passed", "flaky")
    first, second = record["attempts"]
    assert (first["status"], second["status"]) == ("failed", "passed")
    assert first["sandbox"].startswith("lambda ") and first["sandbox"] != second["sandbox"]  # another container
    assert document["providerDetails"]["coldStarts"] == 2
    retry = [unit for unit in document["units"] if unit.get("retryOf")]
    assert len(retry) == 1 and retry[0]["sandbox"] == second["sandbox"]
    client = docker.DockerClient(base_url=docker_host)
    assert not client.containers.list(all=True, filters={"label": "hypertest.emulator"})  # both removed


def test_a_changed_test_file_runs_from_a_test_bundle_without_a_rebuild(
        cli: Any, docker_host: str, runner_base: RunnerBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 23: one test file changes, invoke lays a bundle of it over the built image's copy (no new image),
    and the changed test runs; a changed Playwright config builds the image again instead."""
    project = copy_suite(DEMO, tmp_path / "demo")
    docker_config(project, runner_base, 2)
    monkeypatch.setenv("DOCKER_HOST", docker_host)
    first: CliResult = cli("invoke", "--grep", "has a title", "--output", str(tmp_path / "first"), cwd=project)
    assert first.code == 0, first.out + first.err
    image = load_results(tmp_path / "first")["providerDetails"]["image"]
    client = docker.DockerClient(base_url=docker_host)
    images_before = {found.id for found in client.images.list(name="hypertest-test")}

    spec = project / "tests" / "page.spec.ts"
    spec.write_text(spec.read_text().replace("test('has a title'", "test('has a title, from a bundle'")
                    + f"// changed by {tmp_path.name} at {time.time_ns()}\n")  # no image on a kept daemon has it
    (project / "tests" / "todo.spec.ts").unlink()
    second: CliResult = cli("invoke", "--grep", "from a bundle", "--output", str(tmp_path / "second"), cwd=project)
    assert second.code == 0, second.out + second.err
    assert "2 test files changed since the deploy: tests/page.spec.ts, tests/todo.spec.ts (deleted)" in second.out
    assert "shipping them as test bundle" in second.out and "building the test image" not in second.out
    document = load_results(tmp_path / "second")
    [record] = document["tests"]
    assert record["titlePath"][-1] == "has a title, from a bundle" and record["status"] == "passed"
    details = document["providerDetails"]
    assert details["image"] == image  # the image built before, not a new one
    bundle = details["testBundle"]
    assert (bundle["files"], bundle["deleted"]) == (1, 1) and len(bundle["sha256"]) == 64
    assert [path.name for path in (tmp_path / "second").glob("*/bundles/*")] == [f"{bundle['sha256']}.tar.gz"]
    assert {found.id for found in client.images.list(name="hypertest-test")} == images_before

    config = project / "playwright.config.ts"
    # a change to the config's code (this test's own: a daemon kept between sessions has no image of it)
    config.write_text(config.read_text() + f"\n// changed by {tmp_path.name} at {time.time_ns()}\n")
    third: CliResult = cli("invoke", "--grep", "from a bundle", "--output", str(tmp_path / "third"), cwd=project)
    assert third.code == 0, third.out + third.err
    assert "the test image is built again: what the image is built from changed since the deploy " \
           "(playwright.config.ts)" in third.out
    assert "test bundle" not in third.out
    rebuilt = load_results(tmp_path / "third")
    assert rebuilt["providerDetails"]["image"] != image and "testBundle" not in rebuilt["providerDetails"]
    assert rebuilt["tests"][0]["titlePath"][-1] == "has a title, from a bundle"


def test_no_docker_daemon_is_a_clear_error(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = copy_suite(DEMO, tmp_path / "demo")
    (project / "hypertest.yml").write_text("provider:\n  type: docker\n")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-daemon.sock")
    result: CliResult = cli("invoke", cwd=project)
    assert result.code == 3, result.out + result.err
    assert "the Docker daemon is not reachable" in result.err and "Traceback" not in result.err


def sandbox_tmp_bytes(sandbox: Sandbox) -> int:
    """Bytes in use on a running sandbox's /tmp (observe runs before the sandbox is frozen)."""
    assert sandbox.container is not None
    code, output = sandbox.container.exec_run(
        ["python3", "-c", "import os; s = os.statvfs('/tmp'); print((s.f_blocks - s.f_bfree) * s.f_frsize)"],
        user=sandbox.spec.user)
    assert code == 0, output.decode(errors="replace")
    return int(output.decode().strip())


def sandbox_processes(sandbox: Sandbox) -> list[str]:
    """The whole command lines of the processes in a running sandbox (ps cuts them to a width unless -ww)."""
    assert sandbox.container is not None
    found = sandbox.container.top(ps_args="-ww -o pid,args")
    return [" ".join(str(part) for part in row[1:]) for row in found.get("Processes") or []]


def test_one_warm_sandbox_runs_fifty_invocations_and_stays_clean(docker_host: str, runner_base: RunnerBase,
                                                                 tmp_path: Path) -> None:
    project = copy_suite(SOAK, tmp_path / "soak")
    config = docker_config(project, runner_base, 1, memory=2048, ephemeralStorage=1024)
    environ = {**os.environ, "DOCKER_HOST": docker_host}
    settings = load_settings(config, project, environ)
    seen: list[tuple[str, int, list[str]]] = []

    def observe(sandbox: Sandbox, result: SandboxResult) -> None:
        seen.append((sandbox.name, sandbox_tmp_bytes(sandbox), sandbox_processes(sandbox)))

    out = io.StringIO()
    provider = DockerProvider(docker_settings(settings.provider.options_of("docker")), settings, 1, out, environ,
                              observe=observe)
    state = invoke(settings, stream=out, environ=environ, provider=provider)
    assert state.result is not None, out.getvalue()
    statuses = {tuple(test["titlePath"])[-1]: test["status"] for test in state.result["tests"]}
    assert len(statuses) == 50 and len(seen) == 50, out.getvalue()
    # What plain Playwright reports for each kind (a killed renderer hangs the test to its timeout; a
    # killed test process fails its test), except fonts: this machine has no CJK or emoji font, the image has.
    verdicts = {"passes": "passed", "fails": "failed", "times": "timedOut", "crashes the renderer": "timedOut",
                "crashes the worker": "failed", "renders": "passed"}
    for title, status in statuses.items():
        expected = next(verdict for kind, verdict in verdicts.items() if title.startswith(kind))
        assert status == expected, (title, status, out.getvalue())
    assert {name for name, _, _ in seen} == {seen[0][0]}  # one sandbox, warm for all fifty
    assert state.result["providerDetails"]["coldStarts"] == 1
    tmp = [used for _, used, _ in seen]
    assert max(tmp[5:]) - tmp[4] < 4 * MB, tmp  # /tmp stays flat once warm
    for _, _, processes in seen:  # nothing an invocation started outlives it, but the one warm Playwright host
        # and the clean workers it keeps for the next unit, with their browsers
        kept = [line for line in processes if any(name in line for name in ("warm_host.cjs", "warm_worker.cjs",
                                                                             "chrom"))]
        others = [line for line in processes if line not in kept]
        assert all("agent.py" in line or "awslambdaric" in line for line in others), processes
        assert sum("warm_host.cjs" in line for line in kept) <= 1, processes
        workers = sum("warm_worker.cjs" in line for line in kept)
        assert workers <= 2 and (workers or not any("chrom" in line for line in kept)), processes
    assert any("warm_host.cjs" in line for line in seen[-1][2])  # kept between invocations
    assert any("warm_worker.cjs" in line for _, _, processes in seen for line in processes)  # after passed units
    [run] = [path for path in (project / "hypertest-results").iterdir() if (path / "results.json").is_file()]
    for test in state.result["tests"]:  # the fonts tests' screenshots came back from the sandbox
        if test["titlePath"][-1].startswith("renders"):
            script = test["titlePath"][-1].split()[1]
            [shot] = [artifact for artifact in test["artifacts"] if artifact["name"] == script]
            assert (run / shot["path"]).read_bytes().startswith(b"\x89PNG")
