"""Runs the real Lambda handler once, as the Lambda runtime would: event on stdin, result on stdout.

Used by the loopback Invoke stand-in (tests/aws/lambda_standin.py), one process per invocation, in
the invocation's own copy of the project. As a Lambda sandbox has its own network and finds its task
root at one fixed path, --own-network first moves it into a network namespace of its own, reaching
the loopback services given with --relay (moto's S3) through a relay on the host, and --project-at
shows the copy at a fixed path in a mount namespace of its own (tests/aws/sandbox.py).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from runner.sandbox_server import stop_server


class Context:
    """The Lambda context: the remaining time counts down from the function timeout."""

    def __init__(self, timeout_s: float) -> None:
        self.deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function timeout."""
        return int((self.deadline - time.monotonic()) * 1000)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("timeout_s", type=float, help="the function timeout in seconds")
    parser.add_argument("--handler", default="runner.handler:handler", help="MODULE:FUNCTION to call")
    parser.add_argument("--own-network", action="store_true", help="run in a network namespace of its own")
    parser.add_argument("--relay", action="append", default=[], metavar="HOST:PORT",
                        help="a loopback service of the host to reach from the own network (repeatable)")
    parser.add_argument("--project-at", type=Path, metavar="FOLDER",
                        help="an empty folder where this process sees its project copy (the working folder)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Read the event, enter the sandbox (network, project folder), call the handler and write its result."""
    args = _arguments(sys.argv[1:] if argv is None else argv)
    event = json.loads(sys.stdin.read())
    from tests.aws.sandbox import enter_own_network, parse_endpoint, show_project_at

    network = None
    if args.own_network:  # first, while this process has a single thread
        network = enter_own_network([parse_endpoint(text) for text in args.relay], lifetime_s=args.timeout_s + 60)
    if args.project_at is not None:
        show_project_at(Path.cwd(), args.project_at)
    try:
        module, _, name = args.handler.partition(":")
        handler = getattr(importlib.import_module(module), name)
        result: Any = handler(event, Context(args.timeout_s))
    finally:
        stop_server()  # this sandbox serves one invocation and is then discarded: what it kept warm ends too
        if network is not None:
            network.close()
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()
