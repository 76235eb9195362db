"""A pytest unit as the runner's entry sees it: the payload checked, its store, and how to run it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from runner.artifacts import ArtifactStore, store_from_payload
from runner.model import UnitRun
from runner.payload import PayloadError


def prepare(event: Any) -> tuple[UnitRun, ArtifactStore]:
    """The unit's run (deadline, environment → unit result) and its artifact store; PayloadError when bad."""
    from runner.pytest.unit import run_pytest_unit

    if not isinstance(event, Mapping) or not isinstance(event.get("runId"), str) \
            or not isinstance(event.get("unitId"), str):
        raise PayloadError("runId and unitId: expected strings")
    unit = event.get("unit")
    if not isinstance(unit, Mapping):
        raise PayloadError("unit: expected an object (the test runner's part of the payload)")
    artifacts = event.get("artifacts")
    store = store_from_payload(artifacts if isinstance(artifacts, Mapping) else {})

    def run(deadline: float, environ: Mapping[str, str] | None) -> dict[str, Any]:
        return run_pytest_unit({**unit, "projectDir": event.get("projectDir")}, event["runId"], event["unitId"],
                               store, deadline, os.environ if environ is None else environ)

    return run, store


def warm_up(event: Any, environ: Mapping[str, str]) -> str:
    """Start the fork server a unit of this event would use (runner/pytest/warm_up.py); PayloadError when bad."""
    from runner.pytest.payload import UnitPayloadError
    from runner.pytest.warm_up import warm_up as warm_up_server

    if not isinstance(event, Mapping) or not isinstance(event.get("runId"), str) \
            or not isinstance(event.get("unit"), Mapping):
        raise PayloadError("runId and unit: expected a string and an object")
    try:
        return warm_up_server({**event["unit"], "projectDir": event.get("projectDir")}, event["runId"], environ)
    except UnitPayloadError as exc:
        raise PayloadError(f"unit: {exc}") from None
