"""Other Playwright releases for the version matrix: each one installed once from npm into a cache folder
that every test (and every later test session) shares, and suites pointed at it by a node_modules link.

The matrix is the oldest release hypertest supports, one in the 1.5x range (what many suites still pin),
and the newest. SHAPES names one release for each shape of Playwright's internals the warm host drives
(runner/playwright/warm_api.cjs); only RUNNER_CLASS is not in the matrix (an install takes 2-5 s and 12 MB).
HT_TEST_PLAYWRIGHT_CACHE names the cache folder (default: ~/.cache/hypertest-tests).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path

OLDEST = "1.40.1"
MIDDLE = "1.56.1"
NEWEST = "1.65.2"
MATRIX = (OLDEST, MIDDLE, NEWEST)
RUNNER_CLASS = "1.48.2"  # 1.42 to 1.54: loadConfig and `new Runner(config).runAllTests()`
# The release each warm host shape is tested on: the shape's name, as a unit's runPath says it.
SHAPES = {"loader class": OLDEST, "runner class": RUNNER_CLASS, "config fields": MIDDLE, "options": NEWEST}
INSTALL_TIMEOUT_S = 600


def cache_root() -> Path:
    """The folder holding one installed Playwright per version."""
    configured = os.environ.get("HT_TEST_PLAYWRIGHT_CACHE", "").strip()
    return Path(configured) if configured else Path.home() / ".cache" / "hypertest-tests" / "playwright"


def playwright_install(version: str) -> Path:
    """A folder whose node_modules holds @playwright/test at exactly `version` (installed once, under a lock)."""
    folder = cache_root() / version
    done = folder / "node_modules" / ".hypertest-installed"
    if done.is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with (folder.parent / f".{version}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.is_file():
            return folder
        shutil.rmtree(folder / "node_modules", ignore_errors=True)
        (folder / "package.json").write_text(json.dumps({
            "name": f"playwright-{version}", "private": True, "version": "1.0.0",
            "devDependencies": {"@playwright/test": version}}), encoding="utf-8")
        npm = shutil.which("npm")
        assert npm, "npm is required (scripts/bootstrap.sh installs it in the virtualenv)"
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
                       cwd=folder, check=True, capture_output=True, timeout=INSTALL_TIMEOUT_S)
        installed = json.loads((folder / "node_modules" / "@playwright" / "test" / "package.json")
                               .read_text(encoding="utf-8"))["version"]
        assert installed == version, f"npm installed @playwright/test {installed}, not {version}"
        done.write_text(version, encoding="utf-8")
    return folder


def suite_on_version(source: Path, target: Path, version: str) -> Path:
    """A copy of the suite at `source` (without its node_modules) whose node_modules is `version`'s install."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("node_modules", "hypertest-results",
                                                                  "test-results", "playwright-report"))
    (target / "node_modules").symlink_to(playwright_install(version) / "node_modules")
    return target
