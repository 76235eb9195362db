"""Infrastructure apart from tests: whether a unit's result says the infrastructure lost it (its sandbox crashed,
ran out of memory, hit its deadline, was throttled, or handed back garbage), the cause in one word, and the
records of the tests it did not finish, labelled with that cause."""

from __future__ import annotations

import re

from runner.model import Attempt, TestRecord, UnitResult

CAUSES = ("OOM", "timeout", "crash", "throttled", "malformed result", "lost")
LOST_STATUSES = ("error", "interrupted")  # a test the lost unit did not finish (not a test's own timeout)
SIGNAL_EXIT = 128  # an exit code from here on: killed by a signal

# The first pattern the unit's error matches names the cause (the providers' and runner's own words).
_PATTERNS = (
    ("OOM", r"out ?of ?memory|\boom\b|memory limit|cannot allocate memory"),
    ("throttled", r"throttl|toomanyrequests|rate exceeded|too many requests|still refused|limitexceeded"),
    ("malformed result", r"malformed|not an object|stored result cannot be read|garbage"),
    ("timeout", r"timed ?out|did not finish in time|deadline|read timeout"),
    ("crash", r"exited with|crash|killed|signal|segmentation|runtime exited|function failed"),
)


def infra_cause(result: UnitResult) -> str | None:
    """The infrastructure cause that lost the unit (one of CAUSES), or None when its test runner ran and reported
    (status ok, or an error of the suite's own: a test runner that exited by itself with a code below 128).

    The cause the result names (`infra`, set where it is known: the provider, the runner) comes first; else
    it is read from its status and error text."""
    if result["status"] not in ("error", "deadline"):
        return None
    named = result.get("infra")
    if named:
        return named
    if result["status"] == "deadline":
        return "timeout"
    code = result["exitCode"]
    if code is not None and 0 <= code < SIGNAL_EXIT:
        return None  # the test runner ran and ended by itself: the suite's error (a config, an import)
    text = (result["error"] or "").lower()
    return next((cause for cause, pattern in _PATTERNS if re.search(pattern, text)), "lost")


def is_lost(record: TestRecord) -> bool:
    """Whether a record of a lost unit is one of the tests it did not finish."""
    return record["status"] in LOST_STATUSES


def labelled_attempt(attempt: Attempt, cause: str) -> Attempt:
    """A lost attempt whose error says the infrastructure cause first (`infra: OOM — ...`)."""
    prefix = f"infra: {cause} — "
    error = attempt.get("error")
    message = error["message"] if error else "the sandbox lost this test"
    if message.startswith("infra: "):
        return attempt
    first = {**(error or {}), "message": prefix + message}
    errors = attempt.get("errors")
    labelled: Attempt = {**attempt, "error": first}  # type: ignore[typeddict-item]
    if errors:
        labelled["errors"] = [first, *errors[1:]]  # type: ignore[list-item]
    return labelled


def labelled_record(record: TestRecord, cause: str) -> TestRecord:
    """A test the infrastructure lost and that never got a result: its cause on the record (`infra`) and on its
    last attempt's error; its status stays (error, or interrupted at a deadline)."""
    attempts = list(record["attempts"])
    if attempts:
        attempts[-1] = labelled_attempt(attempts[-1], cause)
    return {**record, "infra": cause, "outcome": "unexpected", "attempts": attempts}
