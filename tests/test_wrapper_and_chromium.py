"""The generated wrapper config (evaluated by Node.js) and the Chromium lookup order."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from runner.chromium import SANDBOX_ARGS, fallback_chromium, forced_chromium
from runner.node import find_node
from runner.wrapper_config import WrapperSettings, render_wrapper_config


def evaluate(tmp_path: Path, user_config: str, *, forced: str | None, fallback: str | None) -> dict[str, Any]:
    project = tmp_path / "project"
    project.mkdir()
    (project / "playwright.config.cjs").write_text(user_config)
    work = tmp_path / "work"
    work.mkdir()
    wrapper = work / "hypertest.config.cjs"
    wrapper.write_text(render_wrapper_config(WrapperSettings(
        user_config=project / "playwright.config.cjs", output_dir=work / "out", blob_dir=work / "blob",
        blob_name="u.zip", result_reporter=Path("/r.cjs"), forced_chromium=forced, fallback_chromium=fallback,
        chromium_args=SANDBOX_ARGS)))
    script = f"process.stdout.write(JSON.stringify(require({json.dumps(str(wrapper))})))"
    completed = subprocess.run([find_node(os.environ), "-e", script], capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(completed.stdout)
    result["_project"] = str(project)
    return result


USER_CONFIG = """
module.exports = {
  testDir: './e2e',
  globalSetup: './setup.js',
  webServer: { command: 'npm start', port: 3000 },
  use: { launchOptions: { args: ['--lang=de'] } },
  projects: [
    { name: 'plain' },
    { name: 'firefox', use: { browserName: 'firefox' } },
    { name: 'own', testDir: './own', outputDir: './mine', use: { launchOptions: { executablePath: '/opt/chrome' } } },
  ],
};
"""


def test_paths_become_absolute_and_reporting_is_ours(tmp_path: Path) -> None:
    config = evaluate(tmp_path, USER_CONFIG, forced=None, fallback="/usr/bin/chromium")
    project = config["_project"]
    assert config["testDir"] == f"{project}/e2e"
    assert config["globalSetup"] == f"{project}/setup.js"
    assert config["webServer"] == [{"command": "npm start", "port": 3000, "cwd": project}]
    assert config["workers"] == 1
    assert config["outputDir"] == str(tmp_path / "work" / "out")
    assert config["reporter"][0] == ["/r.cjs"]
    assert config["reporter"][1][0] == "blob"
    own = config["projects"][2]
    assert own["testDir"] == f"{project}/own"
    assert "outputDir" not in own  # the unit's folder, never the project's (read-only on Lambda)


def test_chromium_projects_get_a_browser_and_sandbox_flags(tmp_path: Path) -> None:
    plain, firefox, own = evaluate(tmp_path, USER_CONFIG, forced=None, fallback="/usr/bin/chromium")["projects"]
    launch = plain["use"]["launchOptions"]
    assert launch["executablePath"] == "/usr/bin/chromium"
    assert launch["args"][0] == "--lang=de"  # the user's flags come first and stay
    assert set(SANDBOX_ARGS) <= set(launch["args"])
    assert plain["use"]["headless"] is True
    assert firefox["use"] == {"browserName": "firefox"}  # not a Chromium project: untouched
    assert own["use"]["launchOptions"]["executablePath"] == "/opt/chrome"  # the config's own path wins


def test_ht_chromium_path_wins_over_the_config(tmp_path: Path) -> None:
    _, _, own = evaluate(tmp_path, USER_CONFIG, forced="/forced/chromium", fallback="/usr/bin/chromium")["projects"]
    assert own["use"]["launchOptions"]["executablePath"] == "/forced/chromium"


def test_lookup_order(tmp_path: Path) -> None:
    cache = tmp_path / "home" / ".cache" / "ms-playwright" / "chromium-1200" / "chrome-linux"
    cache.mkdir(parents=True)
    (cache / "chrome").write_text("#!/bin/sh\n")
    (cache / "chrome").chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "chromium").write_text("#!/bin/sh\n")
    (bin_dir / "chromium").chmod(0o755)
    env = {"HOME": str(tmp_path / "home"), "PATH": str(bin_dir)}
    assert forced_chromium({**env, "HT_CHROMIUM_PATH": "/x"}) == "/x"
    assert forced_chromium(env) is None
    assert fallback_chromium(env) == str(cache / "chrome")  # Playwright's cache before the system
    assert fallback_chromium({**env, "HOME": str(tmp_path / "nobody")}) == str(bin_dir / "chromium")
    assert fallback_chromium({"HOME": str(tmp_path / "nobody"), "PATH": str(tmp_path / "none")}) is None
