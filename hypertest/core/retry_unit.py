"""A retry unit: the tests of a finished unit that run again in a new sandbox (core/retries.py decides which),
and what its payload says to the runner (`fresh`, `attempt`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hypertest.core.config import TestRunnerSettings
from hypertest.core.suite import Unit


@dataclass(frozen=True)
class RetryUnit(Unit):
    """Tests run again, each as its attempt number `attempt`, in a new sandbox, run cold."""

    retry_of: str = ""  # the run plan's unit whose tests these are (results.json's retryOf)
    attempt: int = 1  # the index the tests' first attempt here takes in their records
    cause: str = "fresh"  # fresh: a test failed (retryStrategy fresh); infra: the sandbox lost the unit


def retry_of(unit: Unit) -> str:
    """The run plan's unit a retry unit runs tests of again; empty for a unit of the plan."""
    return unit.retry_of if isinstance(unit, RetryUnit) else ""


def unit_retries(settings: TestRunnerSettings) -> int | None:
    """The retries a unit's test runner makes in-process: none under retryStrategy fresh (core retries the
    failed tests in new sandboxes), else testRunner.retries (None: the test runner's config decides)."""
    return 0 if settings.retry_strategy == "fresh" else settings.retries


def retry_payload(unit: Unit, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload of a unit as the provider runs it: a retry unit's says `fresh` (a new sandbox, run cold) and
    the index of its tests' first attempt (the runner stores its files apart from the earlier attempts')."""
    if not isinstance(unit, RetryUnit):
        return dict(payload)
    return {**payload, "fresh": True, "attempt": unit.attempt}
