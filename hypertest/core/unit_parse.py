"""The one parse of what a provider hands over for a unit (any JSON value, maybe hostile or torn): the unit's
facts and each of its tests' final record, typed as runner/model.py has them. A value of the wrong type
becomes its default; a test missing or malformed becomes an `error` record; the runner's key order and any
further keys of a record, an attempt or an artifact are kept (results.json shows them as the runner wrote)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import cast

from hypertest.core.aggregate import error_record, record_identity
from hypertest.core.infra_cause import CAUSES
from hypertest.core.suite import OUTCOMES, STATUSES, TestCase, Unit
from runner import RESULT_SCHEMA_VERSION
from runner.model import Artifact, Attempt, ErrorInfo, Resources, TestRecord, UnitResult

UNIT_STATUSES = ("ok", "error", "deadline")
MAX_SANDBOX_CHARS = 200  # a sandbox id is a log stream and a host name


def parse_unit_result(unit: Unit, raw: object) -> UnitResult:
    """The one parse of what a provider handed over for a unit (any JSON value): the unit's facts, typed
    (a value of the wrong type becomes its default), and the final record of each of the unit's tests, in
    the unit's order; a test missing or malformed becomes an `error` record."""
    found: Mapping[str, object] = raw if isinstance(raw, Mapping) else {}
    status = found.get("status")
    error = found.get("error")
    result: UnitResult = {
        "schemaVersion": _int(found.get("schemaVersion"), RESULT_SCHEMA_VERSION),
        "runId": _text(found.get("runId")) or "",
        "unitId": unit.id,
        "status": status if isinstance(status, str) and status in UNIT_STATUSES else "error",
        "error": None if error is None else str(error),
        "exitCode": _optional_int(found.get("exitCode")),
        "tests": _unit_records(unit, raw),
        "blob": _text(found.get("blob")),
        "unrequestedTests": _int(found.get("unrequestedTests"), 0),
        "outputTail": _text(found.get("outputTail")) or "",
        "startedAt": _text(found.get("startedAt")),
        "durationMs": _int(found.get("durationMs"), 0),
    }
    state, resources, path = found.get("state"), found.get("resources"), found.get("runPath")
    if isinstance(state, str):
        result["state"] = state
    if isinstance(path, str):
        result["runPath"] = path
    sandbox, infra = _text(found.get("sandbox")), _text(found.get("infra"))
    if sandbox:
        sandbox = sandbox[:MAX_SANDBOX_CHARS]
        result["sandbox"] = sandbox
        result["tests"] = [_ran_in(record, sandbox) for record in result["tests"]]
    if infra in CAUSES:  # another word is no cause core knows: it reads one from the error instead
        result["infra"] = infra
    if isinstance(resources, Mapping):
        result["resources"] = _resources(resources)
    return result


def _ran_in(record: TestRecord, sandbox: str) -> TestRecord:
    """The record with the unit's sandbox on each attempt that does not say where it ran."""
    attempts: list[Attempt] = [attempt if attempt.get("sandbox") else {**attempt, "sandbox": sandbox}
                               for attempt in record["attempts"]]
    return {**record, "attempts": attempts}


def _unit_records(unit: Unit, result: object) -> list[TestRecord]:
    """The final record of each of the unit's tests; anything missing or malformed becomes `error`."""
    unit_error = _unit_error(result)
    reported = _reported_by_id(result)
    records = []
    for test in unit.tests:
        raw = reported.get(test.id)
        problem = _invalid_record(raw) if raw is not None else None
        if raw is None or problem is not None:
            message = unit_error or problem or "the runner returned no result for this test"
            records.append(error_record(test, unit.id, message))
        else:
            records.append(_merge(test, unit.id, raw))
    return records


def _merge(test: TestCase, unit_id: str, raw: Mapping[str, object]) -> TestRecord:
    """A valid record of the runner's (_invalid_record said so) with discovery's identity of its test."""
    status, expected = str(raw["status"]), raw.get("expectedStatus", test.expected_status)
    annotations, artifacts = raw.get("annotations") or [], raw.get("artifacts") or []
    return cast(TestRecord, {
        **record_identity(test, unit_id),
        "status": status,
        "expectedStatus": expected if isinstance(expected, str) else test.expected_status,
        "outcome": "unexpected" if status in ("interrupted", "error") else str(raw["outcome"]),
        "annotations": [dict(a) for a in annotations if isinstance(a, Mapping)] if isinstance(annotations, list)
        else [],
        "attempts": [_attempt(attempt) for attempt in cast(list[Mapping[str, object]], raw["attempts"])],
        "artifacts": [found for found in (_artifact(a) for a in artifacts if isinstance(a, Mapping))
                      if found is not None] if isinstance(artifacts, list) else [],
    })


def _unit_error(result: object) -> str | None:
    if not isinstance(result, Mapping):
        return f"the runner returned malformed output ({type(result).__name__}, not an object)"
    if result.get("status") in ("error", "deadline") and result.get("error"):
        return str(result["error"])
    return None


def _reported_by_id(result: object) -> dict[str, Mapping[str, object]]:
    tests = result.get("tests") if isinstance(result, Mapping) else None
    if not isinstance(tests, list):
        return {}
    found: dict[str, Mapping[str, object]] = {}
    for raw in tests:
        if isinstance(raw, Mapping) and isinstance(raw.get("id"), str):
            found.setdefault(raw["id"], raw)
    return found


def _invalid_record(raw: Mapping[str, object]) -> str | None:
    if raw.get("status") not in STATUSES:
        return f"the runner reported an unknown status {raw.get('status')!r}"
    if raw.get("outcome") not in OUTCOMES:
        return f"the runner reported an unknown outcome {raw.get('outcome')!r}"
    attempts = raw.get("attempts")
    if not isinstance(attempts, list) or not attempts or not all(isinstance(a, Mapping) for a in attempts):
        return "the runner reported no attempts"
    return None


def _int(value: object, default: int) -> int:
    """value when it is a JSON number (a float cut to an integer), else default."""
    optional = _optional_int(value)
    return default if optional is None else optional


def _optional_int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if isinstance(value, int) else (int(value) if math.isfinite(value) else None)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _resources(found: Mapping[str, object]) -> Resources:
    peak_tmp = found.get("peakTmpMb")
    return {"peakMemoryMb": _int(found.get("peakMemoryMb"), 0),
            "peakTmpMb": _optional_int(peak_tmp)}


def _attempt(raw: Mapping[str, object]) -> Attempt:
    """An attempt with its fields typed (a bad status is `error`, a bad number 0, a bad error none)."""
    attempt = dict(raw)
    status = raw.get("status")
    attempt["retry"] = max(0, _int(raw.get("retry"), 0))
    attempt["status"] = status if isinstance(status, str) and status in STATUSES else "error"
    attempt["durationMs"] = max(0, _int(raw.get("durationMs"), 0))
    for phase in ("setupMs", "teardownMs"):
        if phase in raw:
            attempt[phase] = max(0, _int(raw.get(phase), 0))
    if "startTime" in raw:
        attempt["startTime"] = _text(raw.get("startTime"))
    attempt["error"] = _error(raw.get("error"))
    if "errors" in raw:
        errors = raw.get("errors")
        attempt["errors"] = [found for found in map(_error, errors) if found is not None] \
            if isinstance(errors, list) else []
    return cast(Attempt, attempt)  # every field of Attempt set above, typed


def _error(raw: object) -> ErrorInfo | None:
    if not isinstance(raw, Mapping):
        return None
    error = dict(raw)
    error["message"] = str(raw.get("message", ""))
    if "stack" in raw:
        error["stack"] = str(raw.get("stack") or "")
    if "location" in raw:
        location = raw.get("location")
        error["location"] = {"file": str(location.get("file", "")), "line": _int(location.get("line"), 0),
                             "column": _int(location.get("column"), 0)} if isinstance(location, Mapping) else None
    return cast(ErrorInfo, error)  # message, stack and location typed above


def _artifact(raw: Mapping[str, object]) -> Artifact | None:
    """An artifact whose name, path and content type are text (else it is left out), attempt and url typed."""
    if not all(isinstance(raw.get(key), str) for key in ("name", "path", "contentType")):
        return None
    artifact = dict(raw)
    if "attempt" in raw:
        artifact["attempt"] = _optional_int(raw.get("attempt"))
    if "url" in raw and not isinstance(raw.get("url"), str):
        del artifact["url"]
    return cast(Artifact, artifact)  # name, path and contentType checked, attempt and url typed
