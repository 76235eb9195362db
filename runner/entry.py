"""What the Lambda handler and `python -m runner` share: payload in, unit result out, never a traceback."""

from __future__ import annotations

import time
import traceback
from collections.abc import Mapping
from typing import Any

from runner import RESULT_SCHEMA_VERSION
from runner.artifacts import UnknownStoreError, store_from_payload
from runner.cleanup import become_subreaper
from runner.core import run_unit
from runner.json_text import utf8_json
from runner.payload import PayloadError, parse_payload

_SUBREAPER = False


def execute(event: Any, deadline: float, environ: Mapping[str, str] | None = None,
            max_response_bytes: int | None = None) -> dict[str, Any]:
    """Run the unit the event describes before the monotonic deadline; always returns a result.

    A result larger than max_response_bytes is stored as `results/<unitId>.json` and a small
    reference (`resultRef`) is returned instead (Lambda's response limit is 6 MB).
    """
    global _SUBREAPER  # noqa: PLW0603 - set once per process
    if not _SUBREAPER:
        _SUBREAPER = become_subreaper()
    try:
        payload = parse_payload(event)
        store = store_from_payload(payload.artifacts)
    except (PayloadError, UnknownStoreError) as exc:
        return _invalid(event, f"invalid payload: {exc}")
    try:
        result = run_unit(payload, store, deadline=deadline, environ=environ)
    except Exception as exc:
        detail = "".join(traceback.format_exception_only(exc)).strip()
        return _invalid(event, f"the runner failed: {detail}")
    if max_response_bytes is not None:
        text = utf8_json(result, separators=(",", ":")).encode()
        if len(text) > max_response_bytes:
            key = store.put_bytes(text, f"results/{payload.unit_id}.json", "application/json")
            return {"schemaVersion": RESULT_SCHEMA_VERSION, "runId": payload.run_id, "unitId": payload.unit_id,
                    "status": result["status"], "resultRef": key, "resultBytes": len(text)}
    return result


def _invalid(event: Any, message: str) -> dict[str, Any]:
    run_id = event.get("runId") if isinstance(event, Mapping) else None
    unit_id = event.get("unitId") if isinstance(event, Mapping) else None
    return {
        "schemaVersion": RESULT_SCHEMA_VERSION,
        "runId": run_id if isinstance(run_id, str) else "",
        "unitId": unit_id if isinstance(unit_id, str) else "",
        "status": "error",
        "error": message,
        "exitCode": None,
        "tests": [],
        "blob": None,
        "unrequestedTests": 0,
        "outputTail": "",
        "startedAt": None,
        "durationMs": 0,
    }


def deadline_from_timeout_ms(timeout_ms: int | None, default_s: float = 900.0) -> float:
    """A monotonic deadline timeout_ms from now (default_s when None)."""
    seconds = timeout_ms / 1000 if timeout_ms else default_s
    return time.monotonic() + seconds
