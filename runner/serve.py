"""`python -m runner --serve-fd N`: a warm runner process, unit after unit, as a warm Lambda sandbox runs them.

The local provider keeps one per busy slot. Over the socket on file descriptor N it sends one JSON line
per unit, {"payload": file, "result": file}; the runner runs the unit, writes the result file and answers
{"done": true}. {"warmUp": file} (a unit's payload, before the run's units) starts what that unit would
keep, without running it, and answers {"done": true} too. Between units it keeps what a warm sandbox
keeps: its warm Playwright host and, with HT_WARM_BROWSER=1, its browser server. It ends when the socket
closes, or after a unit it was asked to stop (SIGTERM: the unit stops as at its deadline and its result is
still written).
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

from runner.browser_server import hold_between_invocations, stop_held
from runner.entry import WARM_UP_FAILED, deadline_from_timeout_ms, execute, warm_up
from runner.json_text import result_json
from runner.process import stop_requested
from runner.warm_host import stop_held as stop_warm_host


def serve(fd: int) -> int:
    """Run the units asked for on the socket fd until it closes or a stop is requested; the exit status."""
    hold_between_invocations()
    channel = socket.socket(fileno=fd)
    reader = channel.makefile("rb")
    try:
        for line in reader:
            request = json.loads(line)
            if "warmUp" in request:  # a run's first payload, before its units: start what they keep
                event = json.loads(Path(request["warmUp"]).read_text(encoding="utf-8"))
                said = warm_up(event)
                if said.startswith(WARM_UP_FAILED):  # else the first unit says what went wrong, if anything
                    print(f"hypertest runner: {said}", file=sys.stderr, flush=True)
                channel.sendall(b'{"done": true}\n')
                continue
            event = json.loads(Path(request["payload"]).read_text(encoding="utf-8"))
            timeout = event.get("timeoutMs") if isinstance(event, dict) else None
            result = execute(event, deadline_from_timeout_ms(timeout if isinstance(timeout, int) else None))
            Path(request["result"]).write_text(result_json(result), encoding="utf-8")
            channel.sendall(b'{"done": true}\n')
            if stop_requested():
                break
    finally:
        stop_warm_host()
        stop_held()
        channel.close()
    return 0
