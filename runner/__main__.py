"""`python -m runner`: run one unit locally (the payload is read from a file or stdin, the result written), or
serve unit after unit over a socket (--serve-fd, runner/serve.py)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from runner.entry import deadline_from_timeout_ms, execute
from runner.hardening import harden_process
from runner.json_text import result_json
from runner.process import request_stop, stop_requested
from runner.serve import serve


def _on_sigterm(signum: int, frame: object) -> None:
    if stop_requested():
        sys.exit(128 + signum)
    request_stop()


def main(argv: list[str] | None = None) -> int:
    """Read the payload, run the unit, write the result JSON; exit 0 whenever a result was written."""
    harden_process()  # before the unit's processes start: this one's environment is not theirs to read
    parser = argparse.ArgumentParser(prog="python -m runner", description=__doc__)
    parser.add_argument("--payload", help="payload JSON file (default: standard input)")
    parser.add_argument("--result", help="where to write the result JSON (default: standard output)")
    parser.add_argument("--serve-fd", type=int, help="serve units over the socket on this file descriptor")
    args = parser.parse_args(argv)
    # Stopped by the orchestrator: stop Playwright as at a deadline and still write what finished;
    # a second SIGTERM unwinds at once through the clean-up (Playwright's group, orphans, temp files).
    signal.signal(signal.SIGTERM, _on_sigterm)
    if args.serve_fd is not None:
        return serve(args.serve_fd)
    try:
        text = Path(args.payload).read_text(encoding="utf-8") if args.payload else sys.stdin.read()
        event = json.loads(text)
    except (OSError, json.JSONDecodeError) as exc:
        print(f"error: cannot read the payload: {exc}", file=sys.stderr)
        return 2
    timeout = event.get("timeoutMs") if isinstance(event, dict) else None
    result = execute(event, deadline_from_timeout_ms(timeout if isinstance(timeout, int) else None))
    text = result_json(result)
    if args.result:
        Path(args.result).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
