"""A Playwright unit's stage: its project folder, wrapper config, test selection, files and environment, set
up the same way for a unit that runs (runner/playwright/unit.py) and for a warm-up that only starts what the
unit will use (runner/playwright/warm_up.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from runner import browser_server, warm_host
from runner.artifacts import safe_segment
from runner.bundle import bundle_overlay, lay_over, set_bundle_variables
from runner.chromium import chromium_args, fallback_chromium, forced_chromium
from runner.environment import child_environment, project_folder, with_writable_home
from runner.node import ToolMissingError, find_node, find_playwright_cli
from runner.payload import Payload
from runner.playwright.selection import GREP, PlaywrightRun, SelectionError, select
from runner.private_cache import NODE_COMPILE_CACHE, PLAYWRIGHT_TRANSFORM_CACHE, private_cache
from runner.project_state import task_root_copy, writable_copy
from runner.wrapper_config import SETTINGS_VARIABLE, WrapperSettings, render_wrapper_settings, wrapper_config_for

RESULT_REPORTER = Path(__file__).resolve().parent / "result_reporter.cjs"


@dataclass(frozen=True)
class Stage:
    """Where and how a unit's Playwright runs."""

    project_dir: Path
    paths: Mapping[str, Path]
    unit: PlaywrightRun
    child_env: Mapping[str, str]
    blob_name: str


def set_stage(payload: Payload, work: Path, env: Mapping[str, str], *, warm: browser_server.Endpoint | None,
              copy_project: bool = True) -> Stage | str:
    """Set up the unit's files in work and say how to run it; a message instead when it cannot run.

    copy_project=False keeps the project folder where it is even when HT_COPY_PROJECT asks for a copy (a
    warm-up runs no test). With a bundle (HT_BUNDLE_DIR, runner/bundle.py) the project is always copied, the
    copy every unit uses unless HT_COPY_PROJECT asks for the unit's own, and the bundle laid over the copy: the
    deployed folder is never changed."""
    project_dir = project_folder(env, payload.project_dir)
    copy = copy_project and env.get("HT_COPY_PROJECT") == "1"
    bundled = bundle_overlay(env) is not None
    if project_dir.is_dir() and (copy or bundled or not _writable(project_dir)):
        # Lambda's task root is read-only: tests get a writable copy, as they would get their own folder.
        project_dir = writable_copy(project_dir, work / "project") if copy else task_root_copy(project_dir)
        problem = lay_over(env, project_dir)
        if problem is not None:
            return problem
    config = (project_dir / payload.config_file).resolve()
    try:
        node = find_node(env, project_folder(env, payload.project_dir))  # the deployed project's, not a copy's
        cli = find_playwright_cli(project_dir)
    except ToolMissingError as exc:
        return str(exc)
    if not config.is_file():
        return f"Playwright config not found: {config}"
    try:
        selection = select(cli, payload.tests, payload.selectors)
    except SelectionError as exc:
        return str(exc)
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
    unit = PlaywrightRun(node=node, cli=cli, config=wrapper_config_for(config, cli), test_list=paths["list"],
                         no_deps=payload.no_deps, retries=payload.retries,
                         grep=selection.grep if selection.form == GREP else None)
    return Stage(project_dir=project_dir, paths=paths, unit=unit, child_env=child_env(env, payload, paths),
                 blob_name=blob_name)


def warm_browser(payload: Payload, env: Mapping[str, str]) -> browser_server.Endpoint | None:
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


def unit_folder(env: Mapping[str, str]) -> Path:
    """The folder of this unit's files. Where the warm host may keep Playwright workers for the next unit,
    every unit of this process uses the same one: a kept worker holds its paths (output, temp and home
    folders), as a worker holds a run's. It is emptied between units, but for what kept workers use."""
    if not warm_host.keeps_workers(env):
        return Path(tempfile.mkdtemp(prefix="ht-unit-"))
    folder = warm_host.unit_folder()
    clear_unit_folder(folder)
    folder.mkdir(exist_ok=True)
    return folder


_KEPT_WITH_WORKERS = frozenset({"tmp", "home"})  # a kept worker's browser profile lives in tmp


def clear_unit_folder(work: Path) -> None:
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


def child_env(env: Mapping[str, str], payload: Payload, paths: Mapping[str, Path]) -> dict[str, str]:
    """The environment Playwright runs the unit with: the tests' own, the run's globalSetup variables and ours."""
    child = child_environment(env)  # the function's credentials stay with the runner
    for name in browser_server.VARIABLES:  # the runner's, not the tests'
        child.pop(name, None)
    child.update(payload.env)  # what the run's globalSetup put into its environment
    set_bundle_variables(child, env)  # HT_BUNDLE_SHA, which keys the warm host (warm_host.HostKey)
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
