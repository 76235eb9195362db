"""Warm runner processes for the local provider: one `python -m runner --serve-fd N` per busy slot.

A slot's runner runs its units one after another, as a warm Lambda sandbox does (runner/serve.py): it
keeps its warm Playwright host (and browser server) between them, so a unit does not start Python,
Node and Playwright again. A runner that misbehaves (no answer in time, a crash, a stop) is ended with
everything below it, and the slot's next unit gets a new one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from runner.child_channel import LineChannel
from runner.model import error_unit_result
from runner.sandbox_id import sandbox_id

TAIL_BYTES = 8 * 1024
NOTICE_PREFIX = "hypertest runner: "  # what the runner says about its own choices (a unit ran cold, and why)
NOTICE_BYTES = 64 * 1024  # read of the log per unit, for its notices
STOP_GRACE_S = 5.0
# A warm-up starts a Playwright host (about a second): one that takes longer than this is given up.
WARM_UP_TIMEOUT_S = 60.0


class RunnerProcess:
    """One serving runner process and the channel to it."""

    def __init__(self, python: str, env: Mapping[str, str], folder: Path,
                 on_notice: Callable[[str], None] | None = None) -> None:
        self.folder = folder
        self._on_notice = on_notice
        self.log = folder / "runner.log"
        self._stopping = False
        self._log_offset = 0  # where the log's lines of the next unit begin
        self._warming: Path | None = None  # the folder of a warm-up not yet answered
        self._channel = LineChannel(lambda fd: [python, "-m", "runner", "--serve-fd", str(fd)], cwd=folder,
                                    env=env, log=self.log)

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self._channel.alive()

    def warm_up(self, payload: Mapping[str, Any]) -> None:
        """Ask the runner to start what a unit of payload keeps (its warm host), without waiting for it."""
        if self._warming is not None:
            return
        folder = Path(tempfile.mkdtemp(prefix="ht-warm-up-", dir=self.folder))
        (folder / "payload.json").write_text(json.dumps(payload), encoding="utf-8")
        if self._channel.send({"warmUp": str(folder / "payload.json")}):
            self._warming = folder
        else:
            shutil.rmtree(folder, ignore_errors=True)

    def settle_warm_up(self) -> None:
        """Wait for the warm-up asked for, if any, to end (bounded); a runner that does not answer is ended."""
        if self._warming is None:
            return
        answer = self._channel.receive(time.monotonic() + WARM_UP_TIMEOUT_S).kind
        shutil.rmtree(self._warming, ignore_errors=True)
        self._warming = None
        self._pass_notices()  # what the warm-up said is no unit's
        if answer != "answered":
            self.stop()

    def run(self, payload: Mapping[str, Any], deadline: float) -> tuple[Mapping[str, Any], bool]:
        """The unit's result (an error result when the runner fails it) and whether the runner may serve again."""
        try:
            return self._run(payload, deadline)
        finally:
            self._pass_notices()

    def _pass_notices(self) -> None:
        """Hand the notices the runner wrote since the last unit to on_notice; the next unit's log starts here."""
        start, self._log_offset = self._log_offset, self._log_size()
        if self._on_notice is None or self._log_offset <= start:
            return
        try:
            with self.log.open("rb") as log:
                log.seek(start)
                text = log.read(min(self._log_offset - start, NOTICE_BYTES)).decode(errors="replace")
        except OSError:
            return
        for line in text.splitlines():
            if line.startswith(NOTICE_PREFIX):
                self._on_notice(line.removeprefix(NOTICE_PREFIX).strip())

    def _run(self, payload: Mapping[str, Any], deadline: float) -> tuple[Mapping[str, Any], bool]:
        with tempfile.TemporaryDirectory(prefix="ht-local-", dir=self.folder) as scratch:
            payload_path, result_path = Path(scratch, "payload.json"), Path(scratch, "result.json")
            payload_path.write_text(json.dumps(payload), encoding="utf-8")
            start = self._log_offset
            sent = self._channel.send({"payload": str(payload_path), "result": str(result_path)})
            answer = self._channel.receive(deadline).kind if sent else "ended"
            if answer == "late":
                self.terminate()  # as at a deadline: the unit stops and its result is still written
                answer = self._channel.receive(time.monotonic() + STOP_GRACE_S).kind
                if answer != "answered":
                    self.stop()
                    return self._lost(f"the runner process did not finish in time: {self._tail(start)}",
                                      "timeout"), False
            if answer != "answered" or not result_path.is_file():
                self.stop()
                code = self._channel.returncode
                return self._lost(f"the runner process exited with code {code} without a result: "
                                  f"{self._tail(start)}", "crash"), False
            try:
                result: Mapping[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                self.stop()
                return self._lost(f"the runner wrote malformed JSON: {exc}", "malformed result"), False
            return result, self.alive() and not self._stopping

    def _lost(self, message: str, cause: str) -> dict[str, Any]:
        """The result of a unit this runner process lost: why, its infrastructure cause, and the process."""
        return {**error_unit_result(message), "infra": cause, "sandbox": sandbox_id(pid=self._channel.pid)}

    def terminate(self) -> None:
        """Ask the runner to stop its unit as at a deadline (it writes the result, then ends)."""
        self._stopping = True
        self._channel.signal(signal.SIGTERM, session=False)

    def stop(self) -> None:
        """End the runner and every process below it (its warm host, browsers, anything a unit left)."""
        self._channel.kill_tree()

    def close(self) -> None:
        """Let the runner end by itself (it stops its host and browser), or end it after a grace period; one
        still warming up is ended at once."""
        if self._warming is not None:
            self.stop()
            shutil.rmtree(self._warming, ignore_errors=True)
            self._warming = None
            return
        self._channel.close()
        if not self._channel.wait(STOP_GRACE_S):
            self.stop()

    def _log_size(self) -> int:
        try:
            return self.log.stat().st_size
        except OSError:
            return 0

    def _tail(self, start: int) -> str:
        """The last lines the runner wrote to its log since offset start (during this unit)."""
        try:
            with self.log.open("rb") as log:
                log.seek(max(start, log.seek(0, os.SEEK_END) - TAIL_BYTES))
                text = log.read().decode(errors="replace")
        except OSError:
            text = ""
        lines = [line for line in text.strip().splitlines() if line.strip()]
        return "\n".join(lines[-8:]) or "(no output)"


class RunnerPool:
    """The slots' runner processes: taken for a unit, given back after it; at most one per busy slot."""

    def __init__(self, python: str, env: Mapping[str, str], on_notice: Callable[[str], None] | None = None) -> None:
        self.python = python
        self.env = dict(env)
        self.on_notice = on_notice
        self._folder: Path | None = None  # made for the first runner
        self._idle: list[RunnerProcess] = []
        self._busy: set[RunnerProcess] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._count = 0

    def start(self, count: int) -> None:
        """Start runners until count are idle (they start Python and the runner while the run goes on)."""
        with self._lock:
            missing = 0 if self._closed else count - len(self._idle)
        for _ in range(max(0, missing)):
            runner = self._new_runner()
            with self._lock:
                self._idle.append(runner)

    def warm_up(self, payload: Mapping[str, Any], count: int) -> None:
        """Have count idle runners (started if need be) start what a unit of payload keeps, in the background."""
        self.start(count)
        with self._lock:
            idle = list(self._idle[-count:]) if count > 0 else []
        for runner in idle:
            runner.warm_up(payload)

    def run(self, payload: Mapping[str, Any], deadline: float, *, fresh: bool = False) -> Mapping[str, Any]:
        """Run the unit in an idle runner (or a new one) and give the runner back if it may serve again; a fresh
        unit (a retry) runs in a new runner process of its own, ended after it."""
        runner = self._take() if not fresh else self._new_busy()
        try:
            result, reusable = runner.run(payload, deadline)
        finally:
            with self._lock:
                self._busy.discard(runner)
        with self._lock:
            keep = reusable and not self._closed and not fresh
            if keep:
                self._idle.append(runner)
        if not keep:
            runner.close()
        return result

    def cancel(self) -> None:
        """Ask every busy runner to stop its unit (each still writes what finished)."""
        with self._lock:
            busy = list(self._busy)
        for runner in busy:
            runner.terminate()

    def close(self) -> None:
        """End every idle runner (the busy ones end when their unit does)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for runner in idle:
            runner.close()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    def _take(self) -> RunnerProcess:
        """An idle runner that still runs, its warm-up over (dead ones are cleaned away), or a new one."""
        while True:
            with self._lock:
                idle = self._idle.pop() if self._idle else None
                if idle is not None:
                    self._busy.add(idle)
            if idle is None:
                break
            idle.settle_warm_up()
            if idle.alive():
                return idle
            with self._lock:
                self._busy.discard(idle)
            idle.stop()
        return self._new_busy()

    def _new_busy(self) -> RunnerProcess:
        """A new runner process, counted busy (cancel() reaches it)."""
        runner = self._new_runner()
        with self._lock:
            self._busy.add(runner)
        return runner

    def _new_runner(self) -> RunnerProcess:
        """A new runner process in a folder of its own."""
        with self._lock:
            self._count += 1
            if self._folder is None:
                self._folder = Path(tempfile.mkdtemp(prefix="ht-runners-"))
            folder = self._folder / f"slot-{self._count}"
        folder.mkdir()
        return RunnerProcess(self.python, self.env, folder, self.on_notice)
