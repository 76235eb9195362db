"""The AWS Lambda entry point: `runner.handler.handler(event, context)`."""

from __future__ import annotations

import time
from typing import Any, Protocol

from runner.browser_server import hold_between_invocations
from runner.entry import execute
from runner.hardening import harden_process

# A synchronous Invoke response may hold 6 MB; larger results go to the artifact store instead.
MAX_RESPONSE_BYTES = 5_000_000
# Time kept back from Lambda's own limit for stopping Playwright and uploading what it produced.
MIN_RESERVE_S = 10.0
MAX_RESERVE_S = 60.0


class LambdaContext(Protocol):
    """The part of the Lambda context object the runner uses."""

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before Lambda ends the invocation."""


def handler(event: Any, context: LambdaContext | None) -> dict[str, Any]:
    """Run one unit inside Lambda and return its result (the Invoke response body)."""
    harden_process()  # the runtime's process holds the function role's credentials: none of the tests' to read
    hold_between_invocations()  # a warm sandbox runs unit after unit: its browser server stays (HT_WARM_BROWSER)
    remaining_s = context.get_remaining_time_in_millis() / 1000 if context is not None else 900.0
    reserve = min(MAX_RESERVE_S, max(MIN_RESERVE_S, remaining_s * 0.1))
    return execute(event, time.monotonic() + max(1.0, remaining_s - reserve), max_response_bytes=MAX_RESPONSE_BYTES)
