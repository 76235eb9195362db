"""The triggering event (GITHUB_EVENT_PATH), read for its pull request only: any file, any JSON, any shape.

The runner writes the event, but a workflow may point GITHUB_EVENT_PATH anywhere: every problem with
the file or with the fields read is a PublishFault naming the variable and the field, and the
pull-request comment is skipped (the summary, outputs and check run do not need the event).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hypertest.github.faults import PublishFault
from hypertest.github.files import read_bytes, reason
from hypertest.github.results_file import shown

MAX_EVENT_BYTES = 64 * 1024 * 1024  # GitHub's webhook payloads are at most 25 MB
MAX_PR_NUMBER = 2 ** 31 - 1  # GitHub's issue numbers are 32-bit
PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment")
SKIPPED = "no pull-request comment"


@dataclass(frozen=True)
class PullRequest:
    """The pull request a run belongs to."""

    number: int
    fork: bool


def _fault(event_path: str, problem: str) -> PublishFault:
    return PublishFault(f"GITHUB_EVENT_PATH={shown(event_path)}: {problem}; {SKIPPED}")


def read_event(event_path: str) -> object:
    """The event's JSON document; PublishFault when the file cannot be read or is not JSON in UTF-8."""
    try:
        data = read_bytes(Path(event_path), MAX_EVENT_BYTES, "an event file")
    except OSError as exc:
        raise _fault(event_path, reason(exc, creating=False)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fault(event_path, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fault(event_path, f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise _fault(event_path, "not an event: values nested too deeply to read") from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise _fault(event_path, f"not an event: {shown(str(exc).split(';')[0], 120)}") from None


def pull_request(event_path: str, event_name: str) -> PullRequest | None:
    """The pull request of the triggering event (None when the event has none, or there is no event)."""
    if not event_path:
        return None
    event = read_event(event_path)
    if not isinstance(event, dict):
        raise _fault(event_path, f"the event is {_what(event)}, not a JSON object")
    pull = event.get("pull_request")
    if pull is None and event_name not in PULL_REQUEST_EVENTS:
        return None
    if not isinstance(pull, dict):
        raise _fault(event_path, f"the field pull_request is {_what(pull)}, not an object "
                                 f"(GITHUB_EVENT_NAME is {shown(event_name)})")
    number = pull.get("number")
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= MAX_PR_NUMBER:
        raise _fault(event_path, f"the field pull_request.number is {_what(number)}, "
                                 "not a pull-request number (a whole number from 1)")
    fork = _is_fork(event_path, pull)
    return PullRequest(number, fork and event_name != "pull_request_target")


def _is_fork(event_path: str, pull: Mapping[str, object]) -> bool:
    """Whether the head repository is a fork, or another repository than the base."""
    head = _repo(event_path, pull, "head")
    base = _repo(event_path, pull, "base")
    head_name, base_name = head.get("full_name"), base.get("full_name")
    for field, value in (("head.repo.full_name", head_name), ("base.repo.full_name", base_name)):
        if value is not None and not isinstance(value, str):
            raise _fault(event_path, f"the field pull_request.{field} is {_what(value)}, not a string")
    fork = head.get("fork")
    if fork is not None and not isinstance(fork, bool):
        raise _fault(event_path, f"the field pull_request.head.repo.fork is {_what(fork)}, not true or false")
    return bool(fork) or (bool(head_name) and head_name != base_name)


def _repo(event_path: str, pull: Mapping[str, object], side: str) -> Mapping[str, object]:
    """pull_request.<side>.repo, {} when absent or null."""
    end = pull.get(side)
    if end is None:
        return {}
    if not isinstance(end, dict):
        raise _fault(event_path, f"the field pull_request.{side} is {_what(end)}, not an object")
    repo = end.get("repo")
    if repo is None:
        return {}
    if not isinstance(repo, dict):
        raise _fault(event_path, f"the field pull_request.{side}.repo is {_what(repo)}, not an object")
    return repo


def _what(value: object) -> str:
    """A JSON value described briefly: 'missing', 'null', 'the string "7"', 'a list', 'the number 0'."""
    if value is None:
        return "null or missing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {shown(json.dumps(value), 60)}"
    if isinstance(value, int | float):
        text = str(value)
        return f"the number {text if len(text) <= 30 else text[:30] + '…'}"
    return "a list" if isinstance(value, list) else "an object"
