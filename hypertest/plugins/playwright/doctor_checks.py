"""What `hypertest doctor` checks for Playwright Test: Node.js and the project's Playwright."""

from __future__ import annotations

from collections.abc import Mapping

from hypertest.core.config import Settings
from hypertest.core.contracts import Check
from runner.node import ToolMissingError, find_node, find_playwright_cli


def playwright_checks(settings: Settings, env: Mapping[str, str]) -> list[Check]:
    """Node.js and @playwright/test, as discovery and the units need them."""
    checks = []
    try:
        checks.append(Check("Node.js", "ok", find_node(env)))
    except ToolMissingError as exc:
        checks.append(Check("Node.js", "error", str(exc), "pip install 'hypertest[node]', or install Node.js 20+"))
    try:
        cli = find_playwright_cli(settings.test_runner.config.parent)
        checks.append(Check("Playwright", "ok", str(cli.parent)))
    except ToolMissingError as exc:
        checks.append(Check("Playwright", "error", str(exc), "npm ci in the project"))
    return checks
