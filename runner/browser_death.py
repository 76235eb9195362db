"""A shared browser that dies while a unit runs: noticing the moment (DeathWatch), and turning the records
of the tests it spoiled into `error` records that say so, so no test is failed for its browser's death."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, MutableMapping, Sequence
from datetime import datetime
from typing import Any

from runner.browser_server import Endpoint
from runner.model import error_info, make_attempt

WATCH_INTERVAL_S = 0.1


class DeathWatch:
    """Notices, while a unit runs, the moment a server's processes end (polled, bounded by stop())."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.died_at: float | None = None  # wall time (time.time()) the server was first seen dead
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="hypertest-browser-watch", daemon=True)

    def __enter__(self) -> DeathWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self.died_at is None and not self.endpoint.alive():
            self.died_at = time.time()

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_INTERVAL_S):
            if not self.endpoint.alive():
                self.died_at = time.time()
                return


def mark_died(records: Sequence[MutableMapping[str, Any]], died_at: float, endpoint: Endpoint) -> int:
    """Turn the records of tests the server's death spoiled into `error` records that say so; how many.

    A test is spoiled when it did not pass (or skip) and its last attempt ended after the server died
    (or has no time): its failure is the browser's, not its own.
    """
    reason = (f"the shared browser (server pid {endpoint.pids[0]}, browser pid {endpoint.pids[-1]}) "
              "ended while this unit ran; the next unit gets a fresh browser")
    marked = 0
    for record in records:
        if record.get("status") in ("passed", "skipped"):
            continue
        attempts = record.get("attempts") or []
        last = attempts[-1] if attempts else {}
        ended = _attempt_end(last)
        if ended is not None and ended < died_at - 1.0:
            continue
        own = (last.get("error") or {}).get("message") or ""
        message = reason + (f"\nthe test's own error: {own}" if own else "")
        error = error_info(message)
        record["status"] = "error"
        record["outcome"] = "unexpected"
        if last:
            last["status"] = "error"
            last["error"] = error
            last["errors"] = [error, *(last.get("errors") or [])]
        else:
            record["attempts"] = [make_attempt(status="error", errors=[error])]
        marked += 1
    return marked


def _attempt_end(attempt: Mapping[str, Any]) -> float | None:
    started = attempt.get("startTime")
    if not isinstance(started, str):
        return None
    try:
        begin = datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
    return begin + int(attempt.get("durationMs") or 0) / 1000
