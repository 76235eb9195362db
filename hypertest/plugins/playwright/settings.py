"""A Playwright suite's own keys of hypertest.yml (this plugin's schema fragment): `use` options laid over the
config's, and `webServer` entries that replace the config's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypertest.core.config import TestRunnerSettings


def use_override(runner: TestRunnerSettings) -> Mapping[str, Any] | None:
    """testRunner.use: Playwright `use` options over every project's (None: the config's alone)."""
    use = runner.options.get("use")
    return use if isinstance(use, Mapping) else None


def web_server_override(runner: TestRunnerSettings) -> Any:
    """testRunner.webServer: None keeps the config's webServer, False (`webServer: null`) runs none, else the
    entries that replace it."""
    if "webServer" not in runner.options:
        return None
    value = runner.options["webServer"]
    return False if value is None else value
