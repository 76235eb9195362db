"""Playwright's run-level parts around the units: the run session (web servers, global hooks), the
environment it leaves, the web server a sandbox keeps, and the files phases hand to later phases."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from hypertest.core.contracts import RunContext
from hypertest.core.suite import Unit
from hypertest.plugins.playwright.discovery import Discovery
from hypertest.plugins.playwright.run_level import with_overrides
from hypertest.plugins.playwright.session import clear_output_dirs, start_run_session
from hypertest.plugins.playwright.settings import use_override, web_server_override
from runner.model import UnitResult
from runner.project_state import changed_files, pack, snapshot
from runner.session import PlaywrightSession, SessionSpec


class PlaywrightRunHooks:
    """One run's session and carried state."""

    def __init__(self, discovery: Discovery, context: RunContext) -> None:
        self.discovery = discovery
        self.context = context
        self.session: PlaywrightSession | None = None
        self.state_keys: list[str] = []  # files earlier phases wrote, for units in their own copies
        phases = context.plan.phases
        self.last_phase_units = set(phases[-1].units) if phases else set()

    def start(self) -> None:
        """Start the run-level parts (web servers, global setup) once, where they serve the units."""
        discovery, context = self.discovery, self.context
        runner, provider = context.settings.test_runner, context.provider
        if provider.shares_host:
            clear_output_dirs(discovery)
        run_level = with_overrides(discovery.run_level, web_server_override(runner))
        # On the local provider the units share this machine's network, so one web server serves them
        # all; elsewhere each invocation starts its own, and this one serves only the global setup.
        web_server = bool(run_level.web_servers) and (provider.shares_host or run_level.has_global_hooks)
        if not web_server and not run_level.has_global_hooks:
            return
        spec = SessionSpec(web_server=web_server, global_hooks=run_level.has_global_hooks,
                           use_override=use_override(runner), web_server_override=web_server_override(runner))
        what = " and ".join(filter(None, ["the web server" if web_server else "",
                                          "the global setup" if run_level.has_global_hooks else ""]))
        context.out.write(f"starting {what} once for the run…\n")
        context.out.flush()
        began = time.monotonic()
        carry = not provider.shares_host and run_level.has_global_hooks
        excluded = self.output_dirs()
        before = snapshot(discovery.project_dir, excluded) if carry else None
        self.session = start_run_session(discovery, run_level, spec, context.test_env,
                                         context.run_dir / "run-session.log")
        if before is not None:
            # The global setup ran here; the units' own copies of the project get what it wrote.
            changed = changed_files(discovery.project_dir, before, excluded)
            if changed:
                self.state_keys.append(provider.put_run_file(
                    context.run_dir, "state/global-setup.tar.gz", pack(discovery.project_dir, changed)))
        context.out.write(f"ready in {time.monotonic() - began:.1f}s\n")

    def unit_extras(self, unit: Unit) -> dict[str, Any]:
        """What the unit's payload says about the run-level parts: what the session runs, the env its
        global setup left, the web server a sandbox keeps, and the files earlier phases wrote."""
        provider = self.context.provider
        extras: dict[str, Any] = {
            "noDeps": True,  # the phases run the dependencies
            "omit": ["webServer", "globalHooks"] if provider.shares_host else ["globalHooks"],
            "env": dict(self.session.env) if self.session is not None else {},
        }
        servers = with_overrides(self.discovery.run_level,
                                 web_server_override(self.context.settings.test_runner)).web_servers
        if servers and not provider.shares_host:
            # A sandbox keeps the web server it started for its later invocations (checked first).
            extras["sandboxServer"] = {"checks": [{"url": server.url, "port": server.port} for server in servers]}
        # Where units do not share the project folder, what a phase writes (a saved sign-in) reaches
        # later phases through the store: every unit but the last phase's captures, all restore.
        if not provider.shares_host and (len(self.context.plan.phases) > 1 or self.state_keys):
            extras["state"] = {"restore": list(self.state_keys), "capture": unit not in self.last_phase_units,
                               "exclude": self.output_dirs()}
        return extras

    def phase_finished(self, units: Sequence[Unit], results: Sequence[UnitResult]) -> None:
        """Keep the state the phase's units stored, for the next phases."""
        self.state_keys.extend(result["state"] for result in results if "state" in result)

    def stop(self) -> str | None:
        """Run the global teardowns and stop the web servers (once; safe to call again)."""
        if self.session is None:
            return None
        session, self.session = self.session, None
        return session.stop()

    def output_dirs(self) -> list[str]:
        """The projects' output folders relative to the project (left out of the files carried between phases)."""
        found = set()
        for project in self.discovery.projects:
            folder = project.output_dir
            if folder is not None and folder.is_relative_to(self.discovery.project_dir):
                found.add(folder.relative_to(self.discovery.project_dir).as_posix())
        return sorted(found)
