"""The Lambda emulator on a real Docker daemon: the image's own awslambdaric in a sandbox under Lambda's
contract, warm reuse, and every way an invocation goes wrong (a clear error, never a hang)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from hypertest.providers.docker.emulator import LambdaEmulator
from hypertest.providers.docker.sandbox_spec import SandboxSpec
from hypertest.providers.runner_base import RunnerBase
from tests.docker.images import build, handler_image

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def client(docker_host: str) -> docker.DockerClient:
    return docker.DockerClient(base_url=docker_host, timeout=300)


@pytest.fixture(scope="module")
def handlers(client: docker.DockerClient, runner_base: RunnerBase) -> str:
    return handler_image(client, runner_base.reference)


@pytest.fixture
def emulate(client: docker.DockerClient) -> Iterator[Any]:
    started: list[LambdaEmulator] = []

    def make(image: str, *, command: tuple[str, ...] = (), memory_mb: int = 512, timeout_s: float = 60,
             entry_point: tuple[str, ...] = (), concurrency: int = 1) -> LambdaEmulator:
        spec = SandboxSpec(image=image, function_name="shop", memory_mb=memory_mb, ephemeral_storage_mb=600,
                           timeout_s=timeout_s, region="eu-west-1", command=command, entry_point=entry_point,
                           environment={"ORDERS": "on"})
        emulator = LambdaEmulator(client, spec, concurrency)
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.close()
        assert not client.containers.list(all=True, filters={"label": f"hypertest.emulator={emulator.label}"})


def call(emulator: LambdaEmulator, event: dict[str, Any]) -> Any:
    return emulator.invoke(json.dumps(event).encode())


def test_the_sandbox_keeps_lambdas_contract(emulate: Any, handlers: str) -> None:
    emulator = emulate(handlers, command=("handlers.contract",), memory_mb=1024)
    result = call(emulator, {})
    assert result.error_type is None, result
    inside = json.loads(result.body)
    assert inside["uid"] == 993  # Lambda's user, not root
    assert not inside["rootWritable"] and not inside["taskWritable"] and inside["tmpWritable"]
    assert 590 <= inside["tmpMb"] <= 610  # /tmp is ephemeralStorage big
    assert inside["core"] == "0"  # core dumps off
    assert not inside["internet"]  # no network but its own loopback
    env = inside["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "shop" and env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "1024"
    assert env["AWS_REGION"] == "eu-west-1" and env["LAMBDA_TASK_ROOT"] == "/var/task" and env["TZ"] == ":UTC"


def test_a_warm_sandbox_serves_invocation_after_invocation(emulate: Any, handlers: str) -> None:
    emulator = emulate(handlers, command=("handlers.echo",))
    for order in range(4):
        result = call(emulator, {"order": order})
        assert result.error_type is None
        assert json.loads(result.body)["event"] == {"order": order}
        assert result.cold == (order == 0)
    assert emulator.started == 1
    answer = json.loads(call(emulator, {}).body)
    assert answer["function"] == "shop" and answer["memory"] == "512" and 50_000 < answer["remainingMs"] <= 60_000


def test_a_raised_error_is_a_function_error_and_the_sandbox_stays_warm(emulate: Any, handlers: str) -> None:
    emulator = emulate(handlers, command=("handlers.fail",))
    first = call(emulator, {"order": 7})
    assert first.error_type == "ValueError"
    assert json.loads(first.body)["errorMessage"] == "no such order: 7"
    assert call(emulator, {"order": 8}).error_type == "ValueError"
    assert emulator.started == 1


def test_an_init_error_names_the_error(emulate: Any, handlers: str) -> None:
    result = call(emulate(handlers, command=("no_such_module.handler",)), {})
    assert result.error_type == "Runtime.ImportModuleError"
    assert "no_such_module" in json.loads(result.body)["errorMessage"]


def test_a_response_over_six_megabytes_is_refused(emulate: Any, handlers: str) -> None:
    result = call(emulate(handlers, command=("handlers.huge",)), {})
    assert result.error_type == "Function.ResponseSizeTooLarge"
    assert "6291456 bytes" in result.message


def test_the_deadline_kills_the_sandbox(emulate: Any, handlers: str) -> None:
    emulator = emulate(handlers, command=("handlers.sleep",), timeout_s=4)
    result = call(emulator, {"seconds": 600})
    assert result.error_type == "Sandbox.Timedout"
    assert result.message == "Task timed out after 4.00 seconds"
    assert 4 <= result.duration_s < 15
    assert call(emulator, {"seconds": 0}).error_type is None  # a fresh sandbox
    assert emulator.started == 2


def test_an_image_whose_entry_point_never_asks_for_work_times_out_with_a_hint(emulate: Any, handlers: str) -> None:
    emulator = emulate(handlers, entry_point=("python3", "-c", "import time; time.sleep(600)"), timeout_s=3)
    result = call(emulator, {})
    assert result.error_type == "Sandbox.Timedout"
    assert "never asked the Runtime API for an invocation" in result.message and "awslambdaric" in result.message


def test_an_image_without_the_runtime_client_says_so(emulate: Any, client: docker.DockerClient,
                                                      python_base: str) -> None:
    image = build(client, "ht-emulator-no-ric:test", f'FROM {python_base}\nCMD ["python3", "-m", "awslambdaric", '
                                                      '"handlers.echo"]\n')
    result = call(emulate(image), {})
    assert result.error_type == "Runtime.ExitError"
    assert "exit status 1 before asking for an invocation" in result.message
    assert "No module named awslambdaric" in result.log_tail


def test_a_crashed_runtime_is_an_exit_error(emulate: Any, handlers: str) -> None:
    result = call(emulate(handlers, command=("handlers.exit_now",)), {})
    assert result.error_type == "Runtime.ExitError" and "exit status 3" in result.message


@pytest.mark.parametrize("handler", ["handlers.hog", "handlers.child_hog"])
def test_running_out_of_memory_is_reported_with_the_memory_setting(emulate: Any, handlers: str, handler: str) -> None:
    emulator = emulate(handlers, command=(handler,), memory_mb=256)
    result = call(emulator, {"mb": 600})
    assert result.error_type == "Runtime.OutOfMemory", result
    assert "256 MB" in result.message
