"""The emulator's Lambda Runtime API against the real runtime interface client (awslambdaric) in a plain
process on loopback: invocations and their answers, the Lambda headers, errors, init errors and
responses over 6 MB. As in a sandbox, the API serves a Unix socket and the emulator agent's relay joins a
loopback port to it. The container around it is tested in test_docker_provider.py."""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hypertest.providers.docker.agent import relay_connections
from hypertest.providers.docker.runtime_api import Invocation, RuntimeApi, RuntimeOutcome

HANDLERS = '''
import json, os

def echo(event, context):
    return {"event": event, "remainingMs": context.get_remaining_time_in_millis(),
            "requestId": context.aws_request_id, "arn": context.invoked_function_arn,
            "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME")}

def fail(event, context):
    raise ValueError("no such order: " + str(event.get("order")))

def huge(event, context):
    return "x" * (7 * 1024 * 1024)
'''


class Runtime:
    """A RuntimeApi (on a Unix socket, relayed from a loopback port) with awslambdaric serving one handler in a
    process."""

    def __init__(self, api: RuntimeApi, process: subprocess.Popen[str]) -> None:
        self.api = api
        self.process = process

    def call(self, event: object, timeout_s: float = 30) -> RuntimeOutcome | None:
        request_id = str(uuid.uuid4())
        self.api.offer(Invocation(request_id, json.dumps(event).encode(), int((time.time() + 60) * 1000),
                                  "arn:aws:lambda:eu-west-1:000000000000:function:shop"))
        return self.api.wait(request_id, time.monotonic() + timeout_s, lambda: self.process.poll() is None)


Start = Callable[[str], "Runtime"]


def unix_connection(path: Path) -> socket.socket:
    """A new connection to the Unix socket at path."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(path))
    except OSError:
        connection.close()
        raise
    return connection


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[str], Runtime]]:
    (tmp_path / "handlers.py").write_text(HANDLERS)
    sockets = Path(tempfile.mkdtemp(prefix="ht-rt-"))  # short: a Unix socket's path has at most 107 bytes
    started: list[Runtime] = []
    listeners: list[socket.socket] = []

    def run(handler: str) -> Runtime:
        api = RuntimeApi()
        path = sockets / f"{len(started)}.sock"
        api.serve_unix(path)
        listener = socket.create_server(("127.0.0.1", 0))  # the relay ends when the listener is closed
        threading.Thread(target=relay_connections, args=(listener, functools.partial(unix_connection, path)),
                         daemon=True).start()
        listeners.append(listener)
        port = listener.getsockname()[1]
        env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}", "AWS_LAMBDA_FUNCTION_NAME": "shop",
               "PYTHONPATH": str(tmp_path)}
        process = subprocess.Popen([sys.executable, "-m", "awslambdaric", handler], cwd=tmp_path, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        runtime = Runtime(api, process)
        started.append(runtime)
        return runtime

    yield run
    for runtime in started:
        runtime.process.kill()
        runtime.process.wait(timeout=10)
        runtime.api.close()
    for listener in listeners:
        listener.close()
    shutil.rmtree(sockets, ignore_errors=True)


def test_the_runtime_gets_the_event_and_lambdas_headers_and_answers(start: Start) -> None:
    runtime = start("handlers.echo")
    for order in range(3):  # warm: one runtime process, invocation after invocation
        outcome = runtime.call({"order": order})
        assert outcome is not None and outcome.kind == "response"
        answer = json.loads(outcome.body)
        assert answer["event"] == {"order": order}
        assert 50_000 < answer["remainingMs"] <= 60_000  # from Lambda-Runtime-Deadline-Ms
        assert answer["arn"] == "arn:aws:lambda:eu-west-1:000000000000:function:shop"
        assert answer["function"] == "shop"
        uuid.UUID(answer["requestId"])
    assert runtime.api.asked_next >= 3


def test_a_raised_error_comes_back_with_its_type_and_message(start: Start) -> None:
    runtime = start("handlers.fail")
    outcome = runtime.call({"order": 7})
    assert outcome is not None and outcome.kind == "error"
    assert outcome.error_type == "ValueError"
    assert json.loads(outcome.body)["errorMessage"] == "no such order: 7"
    again = runtime.call({"order": 8})
    assert again is not None and again.kind == "error"  # the runtime goes on


def test_a_handler_that_cannot_load_is_an_init_error(start: Start) -> None:
    runtime = start("missing_module.handler")
    assert runtime.call({}) is None
    assert runtime.api.init_error is not None
    assert runtime.api.init_error.error_type == "Runtime.ImportModuleError"
    assert "missing_module" in json.loads(runtime.api.init_error.body)["errorMessage"]


def test_a_response_over_six_megabytes_is_refused(start: Start) -> None:
    runtime = start("handlers.huge")
    outcome = runtime.call({})
    assert outcome is not None and outcome.kind == "oversized"
    assert outcome.error_type == "Function.ResponseSizeTooLarge"
