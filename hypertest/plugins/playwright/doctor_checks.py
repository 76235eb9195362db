"""What `hypertest doctor` checks for Playwright Test: Node.js and the project's Playwright."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from hypertest.core.config import Settings
from hypertest.core.contracts import Check
from runner.environment import child_environment
from runner.node import ToolMissingError, choose_node, find_playwright_cli, playwright_requirements


def playwright_checks(settings: Settings, env: Mapping[str, str]) -> list[Check]:
    """Node.js (the one discovery and the units take, and why) and @playwright/test."""
    project_dir = settings.test_runner.config.parent
    checks = [node_check(project_dir, child_environment(env))]  # the environment discovery runs Node.js with
    try:
        cli = find_playwright_cli(project_dir)
        checks.append(Check("Playwright", "ok", str(cli.parent)))
    except ToolMissingError as exc:
        checks.append(Check("Playwright", "error", str(exc), "npm ci in the project"))
    return checks


def node_check(project_dir: Path, env: Mapping[str, str]) -> Check:
    """The Node.js taken and why; a warning when a candidate before it was refused (not the one expected)."""
    try:
        choice = choose_node(env, project_dir)
    except ToolMissingError as exc:
        head, *rest = str(exc).split("\nfix: ")[0].splitlines()
        return Check("Node.js", "error", " ".join([head, "; ".join(line.strip() for line in rest)]).strip(),
                     "put a Node.js the project's Playwright supports first on PATH, or set HT_NODE to one")
    if not choice.refused:
        return Check("Node.js", "ok", choice.describe())
    needs = next((f" {r.range}" for r in playwright_requirements(project_dir)), "")
    return Check("Node.js", "warn", choice.describe(),
                 f"put a Node.js{needs} first on PATH, or set HT_NODE to one, to run the Node.js you expect")
