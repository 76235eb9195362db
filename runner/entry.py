"""What the Lambda handler and `python -m runner` share: payload in, unit result out, never a traceback."""

from __future__ import annotations

import importlib
import os
import re
import time
import traceback
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from runner import RESULT_SCHEMA_VERSION
from runner.artifacts import ArtifactStore, UnknownStoreError
from runner.bundle import BUNDLE_DIR_VARIABLE, bundle_request, prepare_bundle, with_bundle
from runner.bundle_format import BundleError
from runner.cleanup import become_subreaper, no_core_dumps
from runner.json_text import utf8_json
from runner.model import UnitRun, error_unit_result
from runner.payload import PayloadError
from runner.resources import ResourceMeter
from runner.sandbox_id import sandbox_id

_SUBREAPER = False
WARM_UP_FAILED = "the warm-up failed: "
# A fresh attempt (`"fresh": true` in the envelope: a retry core asked for) runs cold: nothing a warm sandbox keeps
# (its Playwright host, its browser, its pytest fork server) is used.
COLD_SWITCHES = {"HT_WARM_RUNNER": "0", "HT_WARM_BROWSER": "0", "HT_WARM_PYTEST": "0"}


def execute(event: Any, deadline: float, environ: Mapping[str, str] | None = None,
            max_response_bytes: int | None = None) -> dict[str, Any]:
    """Run the unit the event describes before the monotonic deadline; always returns a result.

    A result larger than max_response_bytes is stored as `results/<unitId>.json` and a small
    reference (`resultRef`) is returned instead (Lambda's response limit is 6 MB). Every result says where it ran
    (`sandbox`, runner/sandbox_id.py). A fresh attempt (the envelope's `"fresh": true`: a retry core asked for)
    runs cold, and its files go below `attempt-<n>` folders from its `attempt` on (artifacts.store_from_payload).
    An envelope's `bundle` (runner/bundle.py) is fetched (once per warm sandbox) and laid over the unit's copy
    of the project; one that cannot be fetched, checked or unpacked gives an error result saying why.
    """
    global _SUBREAPER  # noqa: PLW0603 - set once per process
    if not _SUBREAPER:
        _SUBREAPER = become_subreaper()
        no_core_dumps()
    if isinstance(event, Mapping) and event.get("fresh") is True:
        environ = {**(os.environ if environ is None else environ), **COLD_SWITCHES}
        event = attempt_event(event)
    try:
        runner, store = _runner_and_store(event)
        bundle = bundle_request(event)
    except (PayloadError, UnknownStoreError) as exc:
        return _invalid(event, f"invalid payload: {exc}")
    given = os.environ if environ is None else environ
    if bundle is not None or BUNDLE_DIR_VARIABLE in given:  # only the envelope's bundle is laid over the project
        try:
            environ = with_bundle(given, prepare_bundle(bundle) if bundle is not None else None)
        except BundleError as exc:
            return _invalid(event, str(exc))
    try:
        with ResourceMeter() as meter:
            result = runner(deadline, environ)
        result["resources"] = meter.peaks()
        result["sandbox"] = sandbox_id()
    except Exception as exc:
        detail = "".join(traceback.format_exception_only(exc)).strip()
        return _invalid(event, f"the runner failed: {detail}")
    if max_response_bytes is not None:
        text = utf8_json(result, separators=(",", ":")).encode()
        if len(text) > max_response_bytes:
            key = store.put_bytes(text, f"results/{result['unitId']}.json", "application/json")
            return {"schemaVersion": RESULT_SCHEMA_VERSION, "runId": result["runId"], "unitId": result["unitId"],
                    "status": result["status"], "resultRef": key, "resultBytes": len(text),
                    "sandbox": result["sandbox"]}
    return result


def attempt_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """A fresh attempt's event: its `attempt` (the index of its first attempt in the test's record) handed to
    its artifact store, which keeps its files apart from the earlier attempts' (artifacts.store_from_payload)."""
    attempt, artifacts = event.get("attempt"), event.get("artifacts")
    if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt <= 0 or not isinstance(artifacts, Mapping):
        return dict(event)
    return {**event, "artifacts": {**artifacts, "attempt": attempt}}


def warm_up(event: Any, environ: Mapping[str, str] | None = None) -> str:
    """Start what a unit of this event would keep between units, before it arrives; what happened, in words.

    Never raises: a warm-up that fails only means the first unit starts it (and reports what goes wrong). An
    event with a bundle has it fetched and unpacked now, and warms up what a unit with this bundle would use
    (its project copy with the bundle laid over it, the warm host or fork server keyed by the bundle)."""
    try:
        module = _runner_module(event)
        warm = getattr(module, "warm_up", None)
        if warm is None:
            return "nothing to warm up for this runner"
        bundle = bundle_request(event)
        overlay = prepare_bundle(bundle) if bundle is not None else None
        said = str(warm(event, with_bundle(os.environ if environ is None else environ, overlay)))
        return f"{said} (with the bundle {bundle.sha256})" if bundle is not None else said
    except Exception as exc:
        return WARM_UP_FAILED + "".join(traceback.format_exception_only(exc)).strip()


def _runner_and_store(event: Any) -> tuple[UnitRun, ArtifactStore]:
    """What runs the unit and its store, from the package of the runner the payload names
    (`runner`: playwright, the default, or pytest): runner/<name>/entry.py's prepare()."""
    prepared: tuple[UnitRun, ArtifactStore] = _runner_module(event).prepare(event)
    return prepared


def _runner_module(event: Any) -> ModuleType:
    """runner/<name>/entry.py of the runner the payload names (`runner`: playwright, the default, or pytest)."""
    name = event.get("runner", "playwright") if isinstance(event, Mapping) else "playwright"
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
        raise PayloadError(f"runner: {name!r} is not a runner name")
    try:
        return importlib.import_module(f"runner.{name}.entry")
    except ModuleNotFoundError as exc:
        if exc.name in (f"runner.{name}", f"runner.{name}.entry"):
            raise PayloadError(f"runner: {name!r} is not a runner this image has") from None
        raise


def _invalid(event: Any, message: str) -> dict[str, Any]:
    run_id = event.get("runId") if isinstance(event, Mapping) else None
    unit_id = event.get("unitId") if isinstance(event, Mapping) else None
    result = dict(error_unit_result(message, run_id=run_id if isinstance(run_id, str) else "",
                                    unit_id=unit_id if isinstance(unit_id, str) else ""))
    result["sandbox"] = sandbox_id()
    return result


def deadline_from_timeout_ms(timeout_ms: int | None, default_s: float = 900.0) -> float:
    """A monotonic deadline timeout_ms from now (default_s when None)."""
    seconds = timeout_ms / 1000 if timeout_ms else default_s
    return time.monotonic() + seconds
