"""The generated wrapper config (evaluated by Node.js) and the Chromium lookup order."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from runner.chromium import SANDBOX_ARGS, fallback_chromium, forced_chromium
from runner.node import find_node
from runner.wrapper_config import SETTINGS_VARIABLE, WRAPPER_CONFIG, WrapperSettings, render_wrapper_settings


def evaluate(tmp_path: Path, user_config: str, *, forced: str | None, fallback: str | None,
             worker: bool = False, **options: Any) -> dict[str, Any]:
    """The wrapper config as Node.js evaluates it: in Playwright's main process, or in a worker."""
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    (project / "playwright.config.cjs").write_text(user_config)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    settings = work / "settings.json"
    settings.write_text(render_wrapper_settings(WrapperSettings(
        user_config=project / "playwright.config.cjs", output_dir=work / "out", blob_dir=work / "blob",
        blob_name="u.zip", result_reporter=Path("/r.cjs"), forced_chromium=forced, fallback_chromium=fallback,
        chromium_args=SANDBOX_ARGS, **options)))
    script = f"process.stdout.write(JSON.stringify(require({json.dumps(str(WRAPPER_CONFIG))})))"
    env = {k: v for k, v in os.environ.items() if k != "TEST_WORKER_INDEX"}
    env[SETTINGS_VARIABLE] = str(settings)
    if worker:
        env["TEST_WORKER_INDEX"] = "0"
    completed = subprocess.run([find_node(os.environ), "-e", script], capture_output=True, text=True, check=True,
                               env=env)
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
    assert own["outputDir"] == str(tmp_path / "work" / "out")  # the unit's folder, never the project's
    assert "outputDir" not in config["projects"][0]


def test_workers_write_into_the_users_output_folders_when_the_project_is_writable(tmp_path: Path) -> None:
    main = evaluate(tmp_path, USER_CONFIG, forced=None, fallback="/c", output_dir_in_place=True)
    assert main["outputDir"] == str(tmp_path / "work" / "out")  # Playwright empties this one at start
    assert main["projects"][2]["outputDir"] == str(tmp_path / "work" / "out")
    worker = evaluate(tmp_path, USER_CONFIG, forced=None, fallback="/c", output_dir_in_place=True, worker=True)
    project = worker["_project"]
    assert worker["outputDir"] == f"{project}/test-results"  # testInfo.outputDir is Playwright's
    assert worker["projects"][2]["outputDir"] == f"{project}/mine"
    read_only = evaluate(tmp_path, USER_CONFIG, forced=None, fallback="/c", worker=True)
    assert read_only["outputDir"] == str(tmp_path / "work" / "out")


def test_run_level_parts_can_be_left_out_and_overridden(tmp_path: Path) -> None:
    omitted = evaluate(tmp_path, USER_CONFIG, forced=None, fallback="/c", omit_web_server=True,
                       omit_global_hooks=True)
    assert "webServer" not in omitted and "globalSetup" not in omitted
    overridden = evaluate(tmp_path, USER_CONFIG, forced=None, fallback="/usr/bin/chromium",
                          use_override={"baseURL": "https://preview.example.com"},
                          web_server_override={"command": "node s.js", "port": 4000})
    assert overridden["webServer"] == [{"command": "node s.js", "port": 4000, "cwd": overridden["_project"]}]
    assert overridden["use"]["baseURL"] == "https://preview.example.com"
    assert {p["use"]["baseURL"] for p in overridden["projects"]} == {"https://preview.example.com"}
    assert "webServer" not in evaluate(tmp_path, USER_CONFIG, forced=None, fallback="/c", web_server_override=False)


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
