"""The run session on this machine: webServer and globalSetup/globalTeardown once for a whole run."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from hypertest.errors import InfrastructureError, UsageError
from hypertest.plugins.playwright.discovery import Discovery
from hypertest.plugins.playwright.run_level import RunLevel
from runner.node import ToolMissingError
from runner.session import PlaywrightSession, SessionError, SessionSpec


def start_run_session(discovery: Discovery, run_level: RunLevel, spec: SessionSpec, environ: Mapping[str, str],
                      log_path: Path | None = None) -> PlaywrightSession:
    """Start the run's web servers and global setups in the project; a failure is a one-screen error (exit 3).

    Playwright's output (the web servers' `[WebServer]` lines, global setup logs) goes to log_path.
    """
    session = PlaywrightSession(discovery.project_dir, discovery.config_file, spec, environ,
                                server_commands=[f"{s.command}  ({s.address})" for s in run_level.web_servers],
                                log_path=log_path)
    try:
        session.start()
    except ToolMissingError as exc:
        raise UsageError(str(exc)) from None
    except SessionError as exc:
        raise InfrastructureError(str(exc)) from None
    return session


def clear_output_dirs(discovery: Discovery) -> None:
    """Empty the projects' output folders once, as Playwright does when a run starts."""
    config_dir = discovery.config_file.parent
    used = {test.project for test in discovery.tests}
    for project in discovery.projects:
        folder = project.output_dir
        if project.name not in used or folder is None or folder in (config_dir, *config_dir.parents):
            continue
        shutil.rmtree(folder, ignore_errors=True)
