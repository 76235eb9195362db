"""Warm up a slot for a run's units before the first one arrives: what the first unit would start (the warm
browser, the warm Playwright host) is started now, while the run still discovers tests or starts its web
server, and kept for the units, exactly as the first unit would have kept it."""

from __future__ import annotations

from collections.abc import Mapping

from runner import warm_host
from runner.cleanup import kill_descendants
from runner.payload import Payload
from runner.playwright.stage import clear_unit_folder, set_stage, unit_folder, warm_browser
from runner.proc import descendants


def warm_up(payload: Payload, environ: Mapping[str, str]) -> str:
    """Start what a unit like payload keeps between units; what was started (or why nothing was), in words.

    Nothing runs a test: the unit's stage is set up in its folder and removed again, and what the warm-up
    started but a unit would not keep is ended. With a bundle (HT_BUNDLE_DIR) the stage is the units' own:
    the project copy with the bundle laid over it, and the host keyed by the bundle, as the units' will be."""
    env = dict(environ)
    warm = warm_browser(payload, env)
    keep = frozenset(descendants())
    work = unit_folder(env)
    try:
        stage = set_stage(payload, work, env, warm=warm, copy_project=False)
        if isinstance(stage, str):
            return f"nothing to warm up: {stage}"
        started = warm_host.warm_up(stage.unit, env=stage.child_env, cwd=stage.project_dir)
    finally:
        kill_descendants(keep | warm_host.held_pids())
        clear_unit_folder(work)
    browser = "a warm browser and " if warm is not None else ""
    return f"{browser}{started}"
