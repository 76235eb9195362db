"""Which Chromium pytest-playwright launches in a unit: the runner's choice, as the Playwright runner makes it.

HT_CHROMIUM_PATH wins over everything; otherwise the suite's own `executable_path` (or `channel`) is kept;
otherwise a Chromium from Playwright's cache or the system (runner/chromium.py). The runner's sandbox
flags are added and the browser runs headless, as in runner/wrapper_config.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from runner.chromium import chromium_args, fallback_chromium, forced_chromium


def apply_chromium(launch_args: dict[str, Any], browsers: Sequence[str], environ: Mapping[str, str]) -> None:
    """Make pytest-playwright's `browser_type_launch_args` launch the runner's Chromium (in place).

    Left alone when the suite runs another browser than Chromium (`--browser firefox`).
    """
    if any(browser != "chromium" for browser in browsers):
        return
    forced = forced_chromium(environ)
    if forced:
        launch_args["executable_path"] = forced
    elif not launch_args.get("executable_path") and not launch_args.get("channel"):
        found = fallback_chromium(environ)
        if found:
            launch_args["executable_path"] = found
    flags = [str(flag) for flag in launch_args.get("args") or []]
    flags += [flag for flag in chromium_args(environ) if flag not in flags]
    launch_args["args"] = flags
    launch_args["headless"] = True
