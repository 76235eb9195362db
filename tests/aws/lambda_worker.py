"""Runs the real Lambda handler once, as the Lambda runtime would: event on stdin, result on stdout.

Used by the loopback Invoke stand-in (tests/aws/lambda_standin.py), one process per invocation.
"""

from __future__ import annotations

import json
import sys
import time


class Context:
    """The Lambda context: the remaining time counts down from the function timeout."""

    def __init__(self, timeout_s: float) -> None:
        self.deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)


def main() -> None:
    from runner.handler import handler

    timeout_s = float(sys.argv[1])
    event = json.loads(sys.stdin.read())
    result = handler(event, Context(timeout_s))
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()
