"""A Lambda function emulated with Docker: sandboxes of its image, reused warm up to its concurrency.

`invoke` takes the warmest idle sandbox, or starts a new one while fewer than `concurrency` exist,
runs the event and freezes the sandbox again. A sandbox that timed out, crashed, ran out of memory
or failed to initialize is removed, as Lambda discards it; the next invocation starts a fresh one.
Out-of-memory kills anywhere in a sandbox (Chromium's renderer, not only the runtime) come from the
daemon's event stream: Lambda ends the whole sandbox then, and so does the emulator.
"""

from __future__ import annotations

import contextlib
import math
import threading
import uuid
from collections.abc import Callable
from typing import Any

from hypertest.providers.docker.sandbox import Sandbox
from hypertest.providers.docker.sandbox_spec import SandboxError, SandboxResult, SandboxSpec

Observer = Callable[[Sandbox, SandboxResult], None]


class LambdaEmulator:
    """Invokes one function's image in warm sandboxes; thread-safe."""

    def __init__(self, client: Any, spec: SandboxSpec, concurrency: int, *, observe: Observer | None = None) -> None:
        self.client = client
        self.spec = spec
        self.label = uuid.uuid4().hex
        self.observe = observe  # called after each invocation, before the sandbox is frozen (tests look inside)
        self._slots = threading.BoundedSemaphore(max(1, concurrency))
        self._lock = threading.Lock()
        self._idle: list[Sandbox] = []
        self._all: dict[str, Sandbox] = {}
        self._count = 0
        self._invocations = 0
        self._billed_ms = 0
        self._closed = False
        self._events: Any = None
        self._watcher = threading.Thread(target=self._watch_oom, name="emulator-oom-events", daemon=True)
        self._watcher.start()

    def invoke(self, event: bytes, *, fresh: bool = False) -> SandboxResult:
        """Run event in a sandbox (fresh: a new one, removed after it: a retry must not share the sandbox of the
        attempt before it); raises SandboxError only when no sandbox can be started at all."""
        with self._slots:
            sandbox = self._take(fresh=fresh)
            try:
                result = sandbox.invoke(event)
                with self._lock:
                    self._invocations += 1
                    self._billed_ms += math.ceil(result.duration_s * 1000)
                if self.observe is not None and not sandbox.dead:
                    self.observe(sandbox, result)
            except BaseException:
                self._discard(sandbox)
                raise
            if sandbox.dead or fresh:
                self._discard(sandbox)
            else:
                sandbox.pause()
                with self._lock:
                    self._idle.append(sandbox)
            return result

    @property
    def started(self) -> int:
        """How many sandboxes were started so far (cold starts)."""
        return self._count

    @property
    def invocations(self) -> int:
        """How many invocations ran so far."""
        return self._invocations

    @property
    def billed_ms(self) -> int:
        """The invocations' durations so far, each rounded up to the millisecond, as Lambda bills them (a
        sandbox's start before its first invocation not included)."""
        return self._billed_ms

    def cancel(self) -> None:
        """Kill every sandbox (their invocations end as errors)."""
        with self._lock:
            sandboxes = list(self._all.values())
        for sandbox in sandboxes:
            sandbox.kill()

    def close(self) -> None:
        """Remove every sandbox and stop watching the daemon."""
        with self._lock:
            self._closed = True
            sandboxes = list(self._all.values())
            self._all.clear()
            self._idle.clear()
        for sandbox in sandboxes:
            sandbox.close()
        if self._events is not None:
            with contextlib.suppress(Exception):
                self._events.close()
        self._watcher.join(timeout=5)

    def _take(self, *, fresh: bool = False) -> Sandbox:
        with self._lock:
            if self._closed:
                raise SandboxError("the emulator was closed")
            if self._idle and not fresh:
                return self._idle.pop()
            self._count += 1
            sandbox = Sandbox(self.client, self.spec, self.label, self._count)
            self._all[sandbox.name] = sandbox
        try:
            sandbox.start()
        except BaseException:
            self._discard(sandbox)
            raise
        return sandbox

    def _discard(self, sandbox: Sandbox) -> None:
        with self._lock:
            self._all.pop(sandbox.name, None)
        sandbox.close()

    def _watch_oom(self) -> None:
        try:
            self._events = self.client.events(decode=True, filters={
                "type": "container", "event": "oom", "label": f"hypertest.emulator={self.label}"})
            if self._closed:
                self._events.close()
                return
            for event in self._events:
                name = str((event.get("Actor") or {}).get("Attributes", {}).get("name", ""))
                with self._lock:
                    sandbox = self._all.get(name)
                if sandbox is not None:
                    sandbox.oom.set()
                    sandbox.kill()
        except Exception:
            return  # the stream ends when the emulator closes
