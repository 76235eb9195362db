"""A loopback stand-in for the Lambda Invoke data plane.

moto cannot run container-image functions (its Invoke of one answers 500), so this HTTP server on
127.0.0.1 implements the Invoke API itself: it runs the real runner handler (real Playwright, real
Chromium) in a fresh process per invocation, as Lambda would, and answers with the handler's result,
the log tail and the function-error header. Like a Lambda sandbox, each invocation gets its own copy
of the project, seen at one fixed path, and its own network (tests/aws/sandbox.py): two invocations at
the same time can both start a web server on one fixed port. Every other Lambda API call is passed to
moto. Faults can be scripted (throttling, service errors, function errors, Lambda timeouts, malformed
and oversized responses, hangs), and executions are counted per unit.
"""

from __future__ import annotations

import base64
import collections
import http.client
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tests.aws.sandbox import invocation_endpoints, namespaces_available, project_copy
from tests.loopback_http import StatefulServer, serve

WORKER = Path(__file__).with_name("lambda_worker.py")
ROOT = Path(__file__).resolve().parents[2]


REFUSALS = {
    "throttle": (429, "TooManyRequestsException", "Rate Exceeded."),
    "service": (500, "ServiceException", "Lambda was unable to run the function."),
    "missing": (404, "ResourceNotFoundException", "Function not found"),
}
FUNCTION_ERRORS = {
    "crash": ("Runtime.ExitError", "RequestId: 1 Error: Runtime exited with error: signal: killed"),
    "timeout": ("Sandbox.Timedout", "Task timed out after 120.00 seconds"),
    "oversized": ("Function.ResponseSizeTooLarge",
                  "Response payload size exceeded maximum allowed payload size (6291556 bytes)."),
}


class StandIn:
    """Shared state of the server: scripted faults and counters.

    By default the handler runs in a process on the host (fast). After `run_images(docker_client)`, every
    Invoke runs the function's deployed image instead: pulled from the registry its ImageUri names and
    run by its own runtime client in the docker provider's Lambda emulator, with the function's memory,
    timeout, /tmp size and environment.
    """

    def __init__(self, moto_url: str, project_root: Path, env: Mapping[str, str], timeout_s: float) -> None:
        self.moto = urllib.parse.urlsplit(moto_url)
        self.project_root = project_root
        self.env = dict(env)
        self.timeout_s = timeout_s
        self.faults: collections.deque[str] = collections.deque()
        self.executions: collections.Counter[str] = collections.Counter()
        self.requests = 0
        self.refuse_all: tuple[int, str] | None = None  # (status, error code) for every proxied call
        self.lock = threading.Lock()
        self.url = ""
        self.handler = "runner.handler:handler"  # MODULE:FUNCTION the worker calls (tests may substitute one)
        self.own_network = namespaces_available()  # else invocations share the host's network
        self.task_root: Path | None = None  # the fixed path where every invocation sees its project copy
        self.copies: list[Path] = []  # the project copies made so far (each removed after its invocation)
        self.in_flight = 0
        self.peak_in_flight = 0  # the most handlers that ran at the same time
        # Scripted control-plane states (moto's functions are always Active): each GetFunctionConfiguration
        # shows the next one; an Inactive function stays so until an Invoke wakes it (that Invoke fails).
        self.lifecycle: collections.deque[dict[str, str]] = collections.deque()
        self.wake_invokes = 0
        self.early_invokes = 0  # units invoked while the function was not Active/Successful
        self.docker: Any = None  # set by run_images
        self.emulator: Any = None  # the LambdaEmulator of the image deployed now
        self.emulated_image = ""

    def run_images(self, docker_client: Any) -> None:
        """From now on, run the deployed image for every Invoke (see the class's docstring)."""
        self.docker = docker_client

    def close(self) -> None:
        """Remove the emulator's sandboxes."""
        with self.lock:
            emulator, self.emulator = self.emulator, None
        if emulator is not None:
            emulator.close()

    def invoke_image(self, body: bytes, function_name: str) -> Any:
        """Run body through the deployed image in the emulator; its SandboxResult."""
        import boto3

        from hypertest.providers.docker.emulator import LambdaEmulator
        from hypertest.providers.docker.sandbox_spec import Endpoint, SandboxSpec

        moto = urllib.parse.urlunsplit(self.moto)
        client = boto3.client("lambda", endpoint_url=moto, region_name=self.env.get("AWS_REGION", "us-east-1"))
        function = client.get_function(FunctionName=function_name)
        configuration = function["Configuration"]
        image = function["Code"]["ImageUri"]
        with self.lock:
            if self.emulator is not None and self.emulated_image != image:
                self.emulator.close()
                self.emulator = None
            if self.emulator is None:
                self.docker.images.pull(image)  # the pushed image, from the registry
                credentials = {key: self.env[key] for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                              "AWS_SESSION_TOKEN") if key in self.env}
                spec = SandboxSpec(
                    image=image, function_name=configuration["FunctionName"],
                    memory_mb=int(configuration["MemorySize"]), timeout_s=float(configuration["Timeout"]),
                    ephemeral_storage_mb=int(configuration.get("EphemeralStorage", {}).get("Size", 512)),
                    region=client.meta.region_name,
                    environment={**credentials, **configuration.get("Environment", {}).get("Variables", {})},
                    endpoints=(Endpoint(self.moto.hostname or "127.0.0.1", int(self.moto.port or 80)),))
                self.emulator = LambdaEmulator(self.docker, spec, concurrency=4)
                self.emulated_image = image
            emulator = self.emulator
        return emulator.invoke(body)

    def lifecycle_view(self, advance: bool) -> dict[str, str] | None:
        """The scripted state a configuration read shows now (advancing past it unless it is Inactive)."""
        with self.lock:
            if not self.lifecycle:
                return None
            head = self.lifecycle[0]
            if advance and head.get("State") != "Inactive":
                self.lifecycle.popleft()
            return head

    def script(self, *faults: str) -> None:
        """Faults for the next Invoke requests, in order ("ok" lets one through)."""
        with self.lock:
            self.faults.extend(faults)

    def next_fault(self) -> str:
        with self.lock:
            self.requests += 1
            return self.faults.popleft() if self.faults else "ok"

    def ran(self, event: Mapping[str, Any]) -> None:
        with self.lock:
            self.executions[str(event.get("unitId"))] += 1

    def run_handler(self, event: Mapping[str, Any]) -> tuple[bytes, str, int]:
        """Run the handler in a new process, in its own sandbox; its stdout, its log (stderr) and exit code.

        The sandbox is a fresh copy of the project folder (cwd and HT_PROJECT_ROOT) and, where
        namespaces are available, a network of its own that reaches only moto and the loopback
        endpoints the invocation is given; the copy is then seen at task_root, the same path for
        every invocation, as Lambda's /var/task is.
        """
        argv = [sys.executable, str(WORKER), str(self.timeout_s), "--handler", self.handler]
        if self.own_network:
            argv.append("--own-network")
            moto = urllib.parse.urlunsplit(self.moto)
            for endpoint in invocation_endpoints(event, self.env, extra=[moto]):
                argv += ["--relay", endpoint.text()]
            if self.task_root is not None:
                argv += ["--project-at", str(self.task_root)]
        with self.lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            with project_copy(self.project_root) as project:
                with self.lock:
                    self.copies.append(project)
                completed = subprocess.run(argv, input=json.dumps(event), capture_output=True, text=True, cwd=project,
                                           timeout=self.timeout_s + 60, check=False,
                                           env={**self.env, "HT_PROJECT_ROOT": str(project), "PYTHONPATH": str(ROOT)})
        finally:
            with self.lock:
                self.in_flight -= 1
        return completed.stdout.encode(), completed.stderr, completed.returncode


class _Handler(BaseHTTPRequestHandler):
    server: StatefulServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.split("?")[0].endswith("/invocations"):
            self._invoke(body)
        else:
            self._proxy("POST", body)

    def do_GET(self) -> None:
        configuration = re.fullmatch(r"/2015-03-31/functions/[^/]+/configuration", self.path.split("?")[0])
        self._proxy("GET", b"", overlay=self.server.state.lifecycle_view(True) if configuration else None)

    def do_PUT(self) -> None:
        self._proxy("PUT", self.rfile.read(int(self.headers.get("Content-Length", 0))))

    def do_DELETE(self) -> None:
        self._proxy("DELETE", b"")

    def _proxy(self, method: str, body: bytes, overlay: Mapping[str, str] | None = None) -> None:
        if self.server.state.refuse_all:
            status, code = self.server.state.refuse_all
            return self._error(status, code, f"{code} (scripted by the test)")
        moto = self.server.state.moto
        connection = http.client.HTTPConnection(moto.hostname or "127.0.0.1", moto.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        connection.request(method, self.path, body=body or None, headers=headers)
        response = connection.getresponse()
        data = response.read()
        if overlay and response.status == 200:
            data = json.dumps({**json.loads(data), **overlay}).encode()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        connection.close()
        return None

    def _reply(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, kind: str, message: str) -> None:
        self._reply(status, json.dumps({"Type": "Service", "message": message}).encode(),
                    {"x-amzn-ErrorType": kind})

    def _invoke(self, body: bytes) -> None:
        state = self.server.state
        fault = state.next_fault()
        event = json.loads(body)
        current = state.lifecycle_view(False)
        if current and current.get("State") == "Inactive":  # this Invoke wakes it, and fails
            with state.lock:
                state.wake_invokes += 1
                state.lifecycle.popleft()
            self._error(502, "ResourceNotReadyException", "The function is inactive and its VPC connection is "
                        "no longer available. Retry the request.")
            return
        if current and (current.get("State"), current.get("LastUpdateStatus")) != ("Active", "Successful"):
            with state.lock:
                state.early_invokes += 1
        if fault in REFUSALS:  # refused before the function ran
            status, kind, message = REFUSALS[fault]
            self._error(status, kind, message)
            return
        state.ran(event)
        log = "START RequestId: 1\n"
        if fault in FUNCTION_ERRORS:
            kind, message = FUNCTION_ERRORS[fault]
            self._function_error({"errorType": kind, "errorMessage": message}, log + f"{kind}: {message}\n")
            return
        if fault == "hang":  # runs (counted above) but answers only after the client gave up
            time.sleep(float(state.env.get("STANDIN_HANG_S", "5")))
            self._reply(200, json.dumps({"status": "ok", "tests": []}).encode())
            return
        if state.docker is not None:
            name = urllib.parse.unquote(self.path.split("?")[0].split("/functions/")[1].split("/")[0])
            result = state.invoke_image(body, name)
            tail = log + result.log_tail
            if result.error_type is not None:
                self._function_error(json.loads(result.body), tail)
            else:
                self._reply(200, result.body, {"X-Amz-Executed-Version": "$LATEST",
                                               "X-Amz-Log-Result": base64.b64encode(tail[-4000:].encode()).decode()})
            return
        stdout, stderr, code = state.run_handler(event)
        log += stderr[-3000:]
        if code != 0:
            self._function_error({"errorType": "Runtime.ExitError", "errorMessage": f"exit status {code}"}, log)
        elif fault == "malformed":
            self._reply(200, b"<html>502 Bad Gateway</html>", {"X-Amz-Executed-Version": "$LATEST"})
        else:
            self._reply(200, stdout, {"X-Amz-Executed-Version": "$LATEST",
                                      "X-Amz-Log-Result": base64.b64encode(log[-4000:].encode()).decode()})

    def _function_error(self, error: Mapping[str, str], log: str) -> None:
        self._reply(200, json.dumps(error).encode(), {
            "X-Amz-Function-Error": "Unhandled", "X-Amz-Executed-Version": "$LATEST",
            "X-Amz-Log-Result": base64.b64encode(log[-4000:].encode()).decode()})


@contextmanager
def lambda_standin(moto_url: str, project_root: Path, env: Mapping[str, str], timeout_s: float = 120
                   ) -> Iterator[StandIn]:
    """Serve the stand-in on a free loopback port for the duration of the block."""
    state = StandIn(moto_url, project_root, env, timeout_s)
    mount_point = Path(tempfile.mkdtemp(prefix="ht-task-root-")) if state.own_network else None
    if mount_point is not None:  # an empty folder: each invocation shows its copy there, to itself only
        state.task_root = mount_point / project_root.name
        state.task_root.mkdir()
    try:
        with serve(_Handler, state) as url:
            state.url = url
            yield state
    finally:
        state.close()
        if mount_point is not None:
            shutil.rmtree(mount_point, ignore_errors=True)
