"""One Lambda sandbox: a container of the function's image under Lambda's contract, warm between invocations.

The container runs the image's own entry point (awslambdaric) as a non-root user, on a read-only
root with `/tmp` a tmpfs of the ephemeral storage size, under the function's memory limit and CPU in
proportion, with Lambda's environment variables, core dumps off and no network but its own loopback:
the emulator agent (agent.py) relays the Runtime API and the services the run needs from there to Unix
sockets of the host. Between invocations the container is paused, as Lambda freezes a sandbox; at the
deadline it is killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from hypertest.providers.docker.agent import relay_connections
from hypertest.providers.docker.runtime_api import Invocation, RuntimeApi, RuntimeOutcome
from hypertest.providers.docker.sandbox_spec import (
    MB_PER_VCPU,
    RUNTIME_API_ADDRESS,
    Endpoint,
    SandboxError,
    SandboxResult,
    SandboxSpec,
    lambda_environment,
)

AGENT = Path(__file__).with_name("agent.py")
AGENT_IN_SANDBOX = "/opt/hypertest-emulator/agent.py"
SOCKETS_IN_SANDBOX = "/opt/hypertest-emulator/sockets"
ALIVE_CHECK_S = 1.0
LOG_TAIL_BYTES = 4096


class Sandbox:
    """One warm container and its Runtime API; `invoke` runs one event in it at a time."""

    def __init__(self, client: Any, spec: SandboxSpec, label: str, number: int) -> None:
        self.client = client
        self.spec = spec
        self.label = label
        self.name = f"ht-{spec.function_name[:40]}-{number}-{uuid.uuid4().hex[:6]}"
        self.api = RuntimeApi()
        self.folder = Path(tempfile.mkdtemp(prefix="ht-sandbox-"))
        self.container: Any = None
        self.invocations = 0
        self.oom = threading.Event()
        self.dead = False  # killed or exited: not to be reused
        self._listeners: list[socket.socket] = []
        self._stopping = threading.Event()
        self._paused = False
        self._last_alive_check = 0.0
        self.socket_mode = 0o600

    # --- life ----------------------------------------------------------------------------------------

    def start(self) -> None:
        """Create and start the container; its runtime starts and asks for work."""
        import docker.errors

        # The sockets are the sandbox's way out: only its user may use them (when that is not this user, as
        # when root runs the sandbox as Lambda's user, the folder lies in this user's private temporary folder).
        shared = not self.spec.user.startswith(f"{os.getuid()}:")
        self.socket_mode = 0o777 if shared else 0o600
        self.folder.chmod(0o755 if shared else 0o700)
        sockets = self.folder / "sockets"
        sockets.mkdir(mode=0o755 if shared else 0o700)
        self.api.serve_unix(sockets / "runtime.sock", self.socket_mode)
        forwards = [f"{RUNTIME_API_ADDRESS}={SOCKETS_IN_SANDBOX}/runtime.sock"]
        for index, endpoint in enumerate(self.spec.endpoints):
            path = sockets / f"{index}.sock"
            self._forward(path, endpoint)
            forwards.append(f"{endpoint.host}:{endpoint.port}={SOCKETS_IN_SANDBOX}/{index}.sock")
        try:
            config = self.client.images.get(self.spec.image).attrs.get("Config") or {}
        except docker.errors.ImageNotFound:
            raise SandboxError(f"the image {self.spec.image} is not on the Docker daemon") from None
        command = [*(self.spec.entry_point or config.get("Entrypoint") or []),
                   *(self.spec.command or config.get("Cmd") or [])]
        argv = [AGENT_IN_SANDBOX, *(item for forward in forwards for item in ("--forward", forward)), "--", *command]
        volumes = {str(AGENT): {"bind": AGENT_IN_SANDBOX, "mode": "ro"},
                   str(sockets): {"bind": SOCKETS_IN_SANDBOX, "mode": "ro"},
                   **{host: {"bind": inside, "mode": "rw"} for host, inside in self.spec.mounts.items()}}
        cpus = min(self.spec.cpus, max(0.1, self.spec.memory_mb / MB_PER_VCPU))
        try:
            self.container = self.client.containers.create(
                self.spec.image, entrypoint=["python3"], command=argv, name=self.name, user=self.spec.user,
                environment=lambda_environment(self.spec), read_only=True, network_mode="none",
                tmpfs={"/tmp": f"size={self.spec.ephemeral_storage_mb}m,mode=1777,exec"},  # noqa: S108 - in the sandbox
                mem_limit=f"{self.spec.memory_mb}m", memswap_limit=f"{self.spec.memory_mb}m",
                nano_cpus=int(cpus * 1e9), pids_limit=1024, volumes=volumes, labels={"hypertest.emulator": self.label},
                ulimits=[docker.types.Ulimit(name="core", soft=0, hard=0),
                         docker.types.Ulimit(name="nofile", soft=1024, hard=1024)],
                working_dir=config.get("WorkingDir") or "/var/task", detach=True)
            self.container.start()
        except docker.errors.APIError as exc:
            self.close()
            raise SandboxError(f"the Docker daemon cannot start a sandbox of {self.spec.image}: "
                               f"{exc.explanation or exc}") from None

    def _forward(self, path: Path, endpoint: Endpoint) -> None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        path.chmod(self.socket_mode)
        listener.listen(64)
        listener.settimeout(0.5)
        self._listeners.append(listener)

        def connect() -> socket.socket:
            return socket.create_connection((endpoint.host, endpoint.port), timeout=10)

        threading.Thread(target=relay_connections, args=(listener, connect, self._stopping), daemon=True,
                         name=f"sandbox-forward-{endpoint.port}").start()

    def alive(self) -> bool:
        """Whether the container still runs (asked of the daemon at most once a second)."""
        if self.dead or self.container is None:
            return False
        now = time.monotonic()
        if now - self._last_alive_check < ALIVE_CHECK_S:
            return True
        self._last_alive_check = now
        try:
            self.container.reload()
        except Exception:
            self.dead = True
            return False
        running = self.container.status in ("running", "paused")
        if not running:
            self.dead = True
        return running

    def kill(self) -> None:
        """Kill the container now (a timeout, an out-of-memory, a cancelled run); it is not reused."""
        self.dead = True
        if self.container is not None:
            with contextlib.suppress(Exception):
                self.container.kill()

    def close(self) -> None:
        """Remove the container and stop serving its sockets."""
        self.dead = True
        self._stopping.set()
        if self.container is not None:
            with contextlib.suppress(Exception):
                self.container.remove(force=True)
        self.api.close()
        for listener in self._listeners:
            with contextlib.suppress(OSError):
                listener.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- one invocation ------------------------------------------------------------------------------

    def invoke(self, event: bytes) -> SandboxResult:
        """Run event in this sandbox, as Lambda runs an Invoke; errors come back as a result, not raised."""
        cold = self.invocations == 0
        self.invocations += 1
        began = time.monotonic()
        since = time.time()
        self._resume()
        request_id = str(uuid.uuid4())
        until = began + self.spec.timeout_s
        self.api.offer(Invocation(request_id=request_id, event=event, function_arn=self.spec.function_arn,
                                  deadline_ms=int((time.time() + self.spec.timeout_s) * 1000)))
        outcome = self.api.wait(request_id, until, self.alive)
        elapsed = time.monotonic() - began
        if outcome is not None and outcome.kind == "response" and not self.oom.is_set():
            return SandboxResult(outcome.body, None, "", "", cold, elapsed)
        if self.oom.is_set():  # Lambda ends the whole sandbox when any of its processes runs out of memory
            outcome = None
        return self._failure(outcome, cold, elapsed, since)

    def pause(self) -> None:
        """Freeze the sandbox until its next invocation (as Lambda does); a daemon that cannot is left be."""
        if self.dead or self._paused or self.container is None:
            return
        try:
            self.container.pause()
            self._paused = True
        except Exception:
            self._paused = False

    def _resume(self) -> None:
        if self._paused and self.container is not None:
            with contextlib.suppress(Exception):
                self.container.unpause()
            self._paused = False

    def _failure(self, outcome: RuntimeOutcome | None, cold: bool, elapsed: float, since: float) -> SandboxResult:
        if outcome is not None:  # an error the runtime reported, or a response over the limit
            self.api.withdraw()
            if outcome.kind == "oversized":
                message = (f"the function's response was larger than Lambda's limit of "
                           f"{6 * 1024 * 1024} bytes")
                return self._error("Function.ResponseSizeTooLarge", message, cold, elapsed, since)
            return SandboxResult(outcome.body, outcome.error_type or "Unhandled", "the handler raised an error",
                                 self._logs(since), cold, elapsed)
        self.api.withdraw()
        if self.api.init_error is not None:
            self.kill()
            error = self.api.init_error
            return SandboxResult(error.body, error.error_type or "Runtime.InitError",
                                 "the function failed to initialize", self._logs(since), cold, elapsed)
        # the deadline passed, or the container died
        self.kill()
        self._wait_stopped()
        state = self._state()
        if self.oom.is_set() or state.get("OOMKilled"):
            message = (f"the sandbox ran out of memory: it was killed at its limit of {self.spec.memory_mb} MB")
            return self._error("Runtime.OutOfMemory", message, cold, elapsed, since)
        never_asked = self.api.asked_next == 0
        if elapsed >= self.spec.timeout_s:
            message = f"Task timed out after {self.spec.timeout_s:.2f} seconds"
            if never_asked:
                message += (" (the image's entry point never asked the Runtime API for an invocation: "
                            "is it the Lambda runtime interface client, awslambdaric?)")
            return self._error("Sandbox.Timedout", message, cold, elapsed, since)
        code = state.get("ExitCode")
        message = f"Runtime exited with error: exit status {code}"
        if never_asked:
            message += (" before asking for an invocation (is the image's entry point the Lambda runtime "
                        "interface client, awslambdaric?)")
        return self._error("Runtime.ExitError", message, cold, elapsed, since)

    def _error(self, error_type: str, message: str, cold: bool, elapsed: float, since: float) -> SandboxResult:
        body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
        return SandboxResult(body, error_type, message, self._logs(since), cold, elapsed)

    def _wait_stopped(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                self.container.reload()
            except Exception:
                return
            if self.container.status not in ("running", "paused", "restarting"):
                return
            time.sleep(0.1)

    def _state(self) -> dict[str, Any]:
        try:
            self.container.reload()
            return dict(self.container.attrs.get("State") or {})
        except Exception:
            return {}

    def _logs(self, since: float) -> str:
        try:
            data: bytes = self.container.logs(stdout=True, stderr=True, since=int(since))
        except Exception:
            return ""
        return data[-LOG_TAIL_BYTES:].decode("utf-8", errors="replace")

    # --- looking inside (between invocations) -----------------------------------------------------------
