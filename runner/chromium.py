"""Find a Chromium for Playwright to launch: HT_CHROMIUM_PATH, Playwright's cache, or the system's."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
CACHE_BINARIES = ("chrome-linux/chrome", "chrome-linux64/chrome", "chrome-linux/headless_shell",
                  "chrome-headless-shell-linux64/chrome-headless-shell")

# Flags that make Chromium work in a sandbox without /dev/shm, a GPU or network access to Google.
SANDBOX_ARGS = (
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--no-sandbox",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-breakpad",  # no crash reporter writing minidumps into HOME (/tmp on Lambda)
)


# Inside Lambda there is no sandbox for the zygote to set up. (Not --single-process: with it, closing
# one test's context ends the browser, and the next test of the unit fails; seen in the base image.)
LAMBDA_ARGS = ("--no-zygote",)


def chromium_args(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The flags the runner adds to every Chromium launch here."""
    return SANDBOX_ARGS + (LAMBDA_ARGS if environ.get("AWS_LAMBDA_FUNCTION_NAME") else ())


def forced_chromium(environ: Mapping[str, str]) -> str | None:
    """HT_CHROMIUM_PATH when set: it wins over the Playwright config's own executablePath."""
    value = environ.get("HT_CHROMIUM_PATH", "").strip()
    return value or None


def fallback_chromium(environ: Mapping[str, str]) -> str | None:
    """A Chromium from Playwright's browser cache or the system, for configs that name none."""
    for candidate in _cache_candidates(environ):
        if os.access(candidate, os.X_OK):
            return str(candidate)
    for name in SYSTEM_NAMES:
        found = shutil.which(name, path=environ.get("PATH"))
        if found:
            return found
    return None


def _cache_candidates(environ: Mapping[str, str]) -> list[Path]:
    roots = []
    if environ.get("PLAYWRIGHT_BROWSERS_PATH") and environ["PLAYWRIGHT_BROWSERS_PATH"] != "0":
        roots.append(Path(environ["PLAYWRIGHT_BROWSERS_PATH"]))
    home = environ.get("HOME")
    if home:
        roots.append(Path(home) / ".cache" / "ms-playwright")
    found: list[Path] = []
    for root in roots:
        if not root.is_dir():
            continue
        for browser_dir in sorted(root.glob("chromium*"), reverse=True):
            found.extend(browser_dir / binary for binary in CACHE_BINARIES)
    return found
