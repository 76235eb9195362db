"""Run one Playwright unit: generate the wrapper config, run Playwright on exactly the requested tests (through
the warm host when it can, else `playwright test`), collect the records and artifacts. runner/pytest/unit.py
is its pytest twin."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner import browser_server, warm_host
from runner.artifacts import ArtifactStore, safe_segment, store_custom_artifacts
from runner.browser_death import DeathWatch, mark_died
from runner.cleanup import kill_descendants
from runner.environment import project_folder
from runner.model import error_unit_result, ran_unit_result
from runner.node import ToolMissingError
from runner.payload import Payload
from runner.playwright.attachments import store_attachments
from runner.playwright.stage import clear_unit_folder, set_stage, unit_folder, warm_browser
from runner.proc import descendants
from runner.process import stop_reason
from runner.project_state import changed_files, pack, snapshot, unpack
from runner.results import Parsed, build_test_records, parse_reporter_lines, unrequested
from runner.sandbox_server import ensure_server, parse_checks
from runner.session import SessionError, SessionSpec

STOP_GRACE_S = 8.0


def run_unit(payload: Payload, store: ArtifactStore, *, deadline: float,
             environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run the payload's tests before the monotonic deadline and return the unit result (result.schema)."""
    env = dict(os.environ if environ is None else environ)
    started_at = dt.datetime.now(dt.UTC)
    started = time.monotonic()
    problem = _hold_sandbox_server(payload, env) if payload.sandbox_server is not None else None
    warm = warm_browser(payload, env) if problem is None else None
    # The sandbox's web server, warm browser and warm Playwright host outlive the unit; nothing else does.
    keep = frozenset(descendants())
    work = unit_folder(env)
    try:
        if problem:
            result = _failed_unit(payload, problem)
        elif warm is None:
            result = _run(payload, store, work, deadline, env, warm=None)
        else:
            with DeathWatch(warm) as watch:
                result = _run(payload, store, work, deadline, env, warm=warm)
            if watch.died_at is not None:
                mark_died(result["tests"], watch.died_at, warm)
    finally:
        kill_descendants(keep | warm_host.held_pids())
        clear_unit_folder(work)
    result["startedAt"] = started_at.isoformat().replace("+00:00", "Z")
    result["durationMs"] = int((time.monotonic() - started) * 1000)
    return result


def _run(payload: Payload, store: ArtifactStore, work: Path, deadline: float,
         env: dict[str, str], *, warm: browser_server.Endpoint | None) -> dict[str, Any]:
    stage = set_stage(payload, work, env, warm=warm)
    if isinstance(stage, str):
        return _failed_unit(payload, stage)
    project_dir, paths, unit, blob_name = stage.project_dir, stage.paths, stage.unit, stage.blob_name
    try:
        for key in payload.state.restore:
            unpack(store.get_bytes(key), project_dir)
    except Exception as exc:  # a store or archive fault: no test of this unit can run as intended
        return _failed_unit(payload, f"could not restore the files earlier phases wrote ({key}): {exc}")
    before = snapshot(project_dir, payload.state.exclude) if payload.state.capture else None
    # Keep time to stop Playwright (it reports what ran, then writes its blob) and to store artifacts.
    grace = min(STOP_GRACE_S, max(1.0, (deadline - time.monotonic()) * 0.25))
    completed = warm_host.run_playwright(unit, cwd=project_dir, env=stage.child_env, deadline=deadline - grace,
                                         log_path=paths["log"], grace_s=grace / 2, results_path=paths["results"])
    parsed = parse_reporter_lines(paths["results"])
    status, error = _unit_status(completed.exit_code, completed.stopped_at_deadline, parsed,
                                 completed.output_tail)
    records = build_test_records(
        payload.tests, parsed,
        missing_status="interrupted" if completed.stopped_at_deadline else "error",
        missing_message=(stop_reason() + " before this test finished"
                         if completed.stopped_at_deadline else
                         f"Playwright did not run this test: {error or 'no result was reported'}"))
    store_attachments(payload, records, parsed, store)
    store_custom_artifacts(records, [test.id for test in payload.tests], payload.unit_id, paths["artifacts"], store)
    blob = _blob_file(paths["blob"], blob_name)
    blob_key = store.put(blob, f"blobs/{blob_name}", "application/zip") if blob is not None else None
    state_key = None
    if before is not None:
        changed = changed_files(project_dir, before, payload.state.exclude)
        if changed:
            state_key = store.put_bytes(pack(project_dir, changed), f"state/{safe_segment(payload.unit_id)}.tar.gz",
                                        "application/gzip")
    result = dict(ran_unit_result(run_id=payload.run_id, unit_id=payload.unit_id, status=status, error=error,
                                  exit_code=completed.exit_code, tests=records, blob=blob_key,
                                  unrequested=unrequested(payload.tests, parsed), output_tail=completed.output_tail))
    if state_key is not None:
        result["state"] = state_key
    result["runPath"] = completed.path
    return result


def _blob_file(folder: Path, name: str) -> Path | None:
    """The unit's blob: the name the wrapper config gave, or the one zip of the unit's blob folder (older
    blob reporters, 1.40's, take no fileName and write report.zip)."""
    named = folder / name
    if named.is_file():
        return named
    zips = [path for path in folder.glob("*.zip") if path.is_file()]
    return zips[0] if len(zips) == 1 else None


def _hold_sandbox_server(payload: Payload, env: Mapping[str, str]) -> str | None:
    """Start the sandbox's web server, or check and reuse the one a warm sandbox has; an error, if any."""
    project_dir = project_folder(env, payload.project_dir)
    spec = SessionSpec(web_server=True, global_hooks=False, use_override=payload.use_override,
                       web_server_override=payload.web_server_override)
    try:
        ensure_server(project_dir, (project_dir / payload.config_file).resolve(),
                      parse_checks(list(payload.sandbox_server or ())), spec, {**env, **payload.env})
    except (SessionError, ToolMissingError, OSError) as exc:
        return f"the web server could not start in this sandbox: {exc}"
    return None


def _unit_status(exit_code: int | None, stopped: bool, parsed: Parsed, tail: str) -> tuple[str, str | None]:
    if stopped:
        return "deadline", stop_reason() + "; Playwright was stopped"
    if parsed.errors:
        first = parsed.errors[0]
        return "error", str(first.get("message") or "Playwright reported an error").strip()
    if exit_code in (0, 1) and parsed.ended:
        return "ok", None
    last_lines = "\n".join(line for line in tail.strip().splitlines()[-15:])
    return "error", f"Playwright exited with code {exit_code} before reporting the end of the run:\n{last_lines}"


def _failed_unit(payload: Payload, message: str) -> dict[str, Any]:
    records = build_test_records(payload.tests, Parsed(), missing_status="error", missing_message=message)
    return dict(error_unit_result(message, run_id=payload.run_id, unit_id=payload.unit_id, tests=records))
