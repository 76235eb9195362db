"""The run-level parts of a Playwright config: project dependencies and teardowns, web servers, global hooks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hypertest.core.limits import RunLimits
from hypertest.plugins.playwright.listing import ListedProject, ListedRunLevel


@dataclass(frozen=True)
class ProjectInfo:
    """One project of the resolved config, as far as running it in phases needs."""

    name: str
    dependencies: tuple[str, ...]
    teardown: str | None
    repeat_each: int
    retries: int
    output_dir: Path | None
    workers: int | None = None  # at most this many of its tests at once (Playwright 1.52+); None: no limit


@dataclass(frozen=True)
class WebServerInfo:
    """One `webServer` entry (what `hypertest list` shows; Playwright itself starts it)."""

    command: str
    url: str | None
    port: int | None

    @property
    def address(self) -> str:
        """Where the server is awaited: its url, else its port."""
        return self.url or (f"port {self.port}" if self.port is not None else "(no url or port)")


@dataclass(frozen=True)
class RunLevel:
    """What Playwright starts once per run, before any test, and stops after the last."""

    web_servers: tuple[WebServerInfo, ...] = ()
    global_setups: tuple[str, ...] = ()
    global_teardowns: tuple[str, ...] = ()
    max_failures: int = 0  # the config's maxFailures (0: none): no test starts after that many failed

    @property
    def has_global_hooks(self) -> bool:
        """Whether the config has a globalSetup or a globalTeardown."""
        return bool(self.global_setups or self.global_teardowns)

    @property
    def empty(self) -> bool:
        """Whether there is nothing to start once per run."""
        return not self.web_servers and not self.has_global_hooks


def parse_projects(raw: Sequence[ListedProject]) -> tuple[ProjectInfo, ...]:
    """Projects from the list reporter's document."""
    projects = []
    for item in raw:
        output_dir = item.get("outputDir")
        projects.append(ProjectInfo(
            name=str(item.get("name", "")),
            dependencies=tuple(str(d) for d in item.get("dependencies") or ()),
            teardown=str(item["teardown"]) if item.get("teardown") else None,
            repeat_each=max(1, int(item.get("repeatEach") or 1)),
            retries=int(item.get("retries") or 0),
            output_dir=Path(output_dir) if isinstance(output_dir, str) and output_dir else None,
            workers=_positive(item.get("workers")),
        ))
    return tuple(projects)


def run_limits(projects: Sequence[ProjectInfo], run_level: RunLevel) -> RunLimits:
    """The limits the config sets, as Playwright applies them: a project's `workers` caps its units at once;
    `maxFailures` stops the run, but for teardown projects (Playwright runs them anyway)."""
    teardowns = frozenset(p.teardown for p in projects if p.teardown) if run_level.max_failures else frozenset()
    return RunLimits(group_workers={p.name: p.workers for p in projects if p.workers},
                     max_failures=run_level.max_failures, exempt_groups=teardowns)


def parse_run_level(raw: ListedRunLevel | None) -> RunLevel:
    """Web servers and global hooks from the list reporter's document."""
    if not raw:
        return RunLevel()
    servers = tuple(WebServerInfo(command=str(s.get("command") or ""), url=s.get("url") or None,
                                  port=s["port"] if isinstance(s.get("port"), int) else None)
                    for s in raw.get("webServers") or ())
    return RunLevel(web_servers=servers,
                    global_setups=tuple(str(f) for f in raw.get("globalSetups") or ()),
                    global_teardowns=tuple(str(f) for f in raw.get("globalTeardowns") or ()),
                    max_failures=_positive(raw.get("maxFailures")) or 0)


def _positive(value: Any) -> int | None:
    """A positive whole number from the listing, else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def with_overrides(run_level: RunLevel, web_server: Any) -> RunLevel:
    """The run level after hypertest.yml's testRunner.webServer (None: the config's; False: none)."""
    if web_server is None:
        return run_level
    entries = [] if web_server is False else (web_server if isinstance(web_server, list) else [web_server])
    servers = tuple(WebServerInfo(command=str(e.get("command", "")), url=e.get("url"), port=e.get("port"))
                    for e in entries)
    return replace(run_level, web_servers=servers)
