"""Run one Playwright unit: generate the wrapper config, run Playwright on exactly the requested tests (through
the warm host when it can, else `playwright test`), collect the records and artifacts. runner/pytest/unit.py
is its pytest twin."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner import browser_server, warm_host
from runner.artifacts import ArtifactStore, safe_segment, store_custom_artifacts
from runner.browser_death import DeathWatch, mark_died
from runner.chromium import chromium_args, fallback_chromium, forced_chromium
from runner.cleanup import kill_descendants
from runner.environment import child_environment, project_folder, with_writable_home
from runner.model import error_unit_result, ran_unit_result
from runner.node import ToolMissingError, find_node, find_playwright_cli
from runner.payload import Payload
from runner.playwright.attachments import store_attachments
from runner.playwright.selection import GREP, PlaywrightRun, SelectionError, select
from runner.private_cache import NODE_COMPILE_CACHE, PLAYWRIGHT_TRANSFORM_CACHE, private_cache
from runner.proc import descendants
from runner.process import stop_reason
from runner.project_state import changed_files, pack, snapshot, task_root_copy, unpack, writable_copy
from runner.results import Parsed, build_test_records, parse_reporter_lines, unrequested
from runner.sandbox_server import ensure_server, parse_checks
from runner.session import SessionError, SessionSpec
from runner.wrapper_config import SETTINGS_VARIABLE, WrapperSettings, render_wrapper_settings, wrapper_config_for

RESULT_REPORTER = Path(__file__).resolve().parent / "result_reporter.cjs"
STOP_GRACE_S = 8.0


def run_unit(payload: Payload, store: ArtifactStore, *, deadline: float,
             environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run the payload's tests before the monotonic deadline and return the unit result (result.schema)."""
    env = dict(os.environ if environ is None else environ)
    started_at = dt.datetime.now(dt.UTC)
    started = time.monotonic()
    problem = _hold_sandbox_server(payload, env) if payload.sandbox_server is not None else None
    warm = _warm_browser(payload, env) if problem is None else None
    # The sandbox's web server, warm browser and warm Playwright host outlive the unit; nothing else does.
    keep = frozenset(descendants())
    work = _unit_folder(env)
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
        _clear_unit_folder(work)
    result["startedAt"] = started_at.isoformat().replace("+00:00", "Z")
    result["durationMs"] = int((time.monotonic() - started) * 1000)
    return result


def _run(payload: Payload, store: ArtifactStore, work: Path, deadline: float,
         env: dict[str, str], *, warm: browser_server.Endpoint | None) -> dict[str, Any]:
    project_dir = project_folder(env, payload.project_dir)
    if project_dir.is_dir() and (env.get("HT_COPY_PROJECT") == "1" or not _writable(project_dir)):
        # Lambda's task root is read-only: tests get a writable copy, as they would get their own folder.
        project_dir = (writable_copy(project_dir, work / "project") if env.get("HT_COPY_PROJECT") == "1"
                       else task_root_copy(project_dir))
    config = (project_dir / payload.config_file).resolve()
    try:
        node = find_node(env, project_folder(env, payload.project_dir))  # the deployed project's, not a copy's
        cli = find_playwright_cli(project_dir)
    except ToolMissingError as exc:
        return _failed_unit(payload, str(exc))
    if not config.is_file():
        return _failed_unit(payload, f"Playwright config not found: {config}")
    try:
        selection = select(cli, payload.tests, payload.selectors)
    except SelectionError as exc:
        return _failed_unit(payload, str(exc))
    paths = _layout(work)
    blob_name = f"{safe_segment(payload.unit_id)}.zip"
    paths["settings"].write_text(render_wrapper_settings(WrapperSettings(
        user_config=config, output_dir=paths["output"], blob_dir=paths["blob"], blob_name=blob_name,
        result_reporter=RESULT_REPORTER, forced_chromium=forced_chromium(env),
        fallback_chromium=fallback_chromium(env), chromium_args=chromium_args(env),
        output_dir_in_place=os.access(config.parent, os.W_OK),
        omit_web_server="webServer" in payload.omit or payload.sandbox_server is not None,
        omit_global_hooks="globalHooks" in payload.omit,
        use_override=payload.use_override, web_server_override=payload.web_server_override,
        warm_browser=warm.wrapper_settings() if warm is not None else None,
        max_failures=payload.max_failures)),
        encoding="utf-8")
    paths["list"].write_text(selection.list_text, encoding="utf-8")
    try:
        for key in payload.state.restore:
            unpack(store.get_bytes(key), project_dir)
    except Exception as exc:  # a store or archive fault: no test of this unit can run as intended
        return _failed_unit(payload, f"could not restore the files earlier phases wrote ({key}): {exc}")
    before = snapshot(project_dir, payload.state.exclude) if payload.state.capture else None
    unit = PlaywrightRun(node=node, cli=cli, config=wrapper_config_for(config, cli), test_list=paths["list"],
                         no_deps=payload.no_deps, retries=payload.retries,
                         grep=selection.grep if selection.form == GREP else None)
    child_env = _child_env(env, payload, paths)
    # Keep time to stop Playwright (it reports what ran, then writes its blob) and to store artifacts.
    grace = min(STOP_GRACE_S, max(1.0, (deadline - time.monotonic()) * 0.25))
    completed = warm_host.run_playwright(unit, cwd=project_dir, env=child_env, deadline=deadline - grace,
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


def _warm_browser(payload: Payload, env: Mapping[str, str]) -> browser_server.Endpoint | None:
    """The warm browser this unit's Chromium projects may connect to: the one the local provider names,
    or the one this process holds between invocations (Lambda); None: every project launches its own."""
    if not browser_server.enabled(env):
        return None
    given = browser_server.endpoint_from_environment(env)
    if given is not None:
        return given if given.alive() else None
    executable = forced_chromium(env) or fallback_chromium(env)
    if executable is None:
        return None
    try:
        # The project as deployed, not a unit's copy of it: the key stays the same from unit to unit.
        cli = find_playwright_cli(project_folder(env, payload.project_dir))
        node = find_node(env, project_folder(env, payload.project_dir))
        key = browser_server.LaunchKey(node=node, cli=str(cli.resolve()), executable_path=executable,
                                       args=chromium_args(env))
    except ToolMissingError:
        return None
    return browser_server.held_endpoint(key, env)


def _writable(folder: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _unit_folder(env: Mapping[str, str]) -> Path:
    """The folder of this unit's files. Where the warm host may keep Playwright workers for the next unit,
    every unit of this process uses the same one: a kept worker holds its paths (output, temp and home
    folders), as a worker holds a run's. It is emptied between units, but for what kept workers use."""
    if not warm_host.keeps_workers(env):
        return Path(tempfile.mkdtemp(prefix="ht-unit-"))
    folder = warm_host.unit_folder()
    _clear_unit_folder(folder)
    folder.mkdir(exist_ok=True)
    return folder


_KEPT_WITH_WORKERS = frozenset({"tmp", "home"})  # a kept worker's browser profile lives in tmp


def _clear_unit_folder(work: Path) -> None:
    """Remove the unit's files: all of them, or all but the folders kept Playwright workers use."""
    if work != warm_host.unit_folder() or not warm_host.kept_workers():
        shutil.rmtree(work, ignore_errors=True)
        return
    with contextlib.suppress(OSError):
        for entry in work.iterdir():
            if entry.name in _KEPT_WITH_WORKERS and entry.is_dir() and not entry.is_symlink():
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def _layout(work: Path) -> dict[str, Path]:
    paths = {
        "settings": work / "wrapper-settings.json",
        "list": work / "tests.txt",
        "results": work / "results.jsonl",
        "log": work / "playwright.log",
        "output": work / "test-results",
        "blob": work / "blob",
        "artifacts": work / "artifacts",
        "home": work / "home",
        "tmp": work / "tmp",
    }
    for key in ("artifacts", "home", "blob", "tmp"):
        paths[key].mkdir(exist_ok=True)
    return paths


def _child_env(env: Mapping[str, str], payload: Payload, paths: Mapping[str, Path]) -> dict[str, str]:
    child = child_environment(env)  # the function's credentials stay with the runner
    for name in browser_server.VARIABLES:  # the runner's, not the tests'
        child.pop(name, None)
    child.update(payload.env)  # what the run's globalSetup put into its environment
    child.update({
        "HT_RUN_ID": payload.run_id,
        "HT_UNIT_ID": payload.unit_id,
        "HT_RESULTS_OUTPUT": str(paths["results"]),
        SETTINGS_VARIABLE: str(paths["settings"]),
        "HT_TEST_ARTIFACTS_OUTPUT_PATH": str(paths["artifacts"]),
        "FORCE_COLOR": "0",
        "PLAYWRIGHT_HTML_OPEN": "never",
    })
    # Everything Playwright and Chromium put in the temp folder (profiles, sockets) goes into this unit's
    # folder, removed afterwards, even when they were killed. Only two caches outlive the unit, on
    # purpose: Node.js bytecode and Playwright's TypeScript transforms make every later unit start
    # faster (on Lambda, /tmp survives between warm invocations). Without one, Playwright uses the unit's folder.
    base_tmp = Path(tempfile.gettempdir())
    child["TMPDIR"] = str(paths["tmp"])
    for variable, name in (("NODE_COMPILE_CACHE", NODE_COMPILE_CACHE),
                           ("PLAYWRIGHT_TRANSFORM_CACHE_DIR", PLAYWRIGHT_TRANSFORM_CACHE)):
        if variable in child:
            continue
        cache = private_cache(base_tmp, name)  # this user's own: nobody else can plant code in it
        if cache is not None:
            child[variable] = str(cache)
    return with_writable_home(child, paths["home"])


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
