"""A warm Lambda sandbox keeps its web server: the first invocation starts it, later ones check and reuse it.

Lambda freezes a sandbox between invocations and keeps its processes, so the app under test (the
config's `webServer`) need not start again for every test. The server runs in a session of its own
(runner/session.py) in a copy of the project that outlives the invocation, with the unit's test bundle laid
over it (runner/bundle.py: a pull request's change to the app is served too); before each unit it must
still run and answer where Playwright would look (its url, or its port), and have been started for the same
bundle, else it is started anew.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.bundle import bundle_overlay, lay_over, set_bundle_variables
from runner.project_state import writable_copy
from runner.session import PlaywrightSession, SessionError, SessionSpec

CHECK_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class ServerCheck:
    """Where a web server answers: its url (any status below 404, as Playwright accepts), else its port."""

    url: str | None
    port: int | None


@dataclass
class _Held:
    key: str
    session: PlaywrightSession
    folder: Path


_held: _Held | None = None
starts = 0  # how many times this sandbox started its web server (for tests and logs)


def ensure_server(project_dir: Path, config_file: Path, checks: Sequence[ServerCheck], spec: SessionSpec,
                  environ: Mapping[str, str]) -> None:
    """Make this sandbox's web server run and answer; raise SessionError when it cannot start."""
    global _held, starts  # noqa: PLW0603 - one server per sandbox, kept between invocations
    key = json.dumps([str(project_dir), str(config_file), spec.web_server_override, spec.use_override,
                      str(bundle_overlay(environ) or "")], sort_keys=True, default=str)
    if _held is not None and _held.key == key and _held.session.alive() and all(map(_answers, checks)):
        return
    stop_server()
    folder = Path(tempfile.mkdtemp(prefix="ht-sandbox-server-"))
    copy = writable_copy(project_dir, folder / "project")
    problem = lay_over(environ, copy)
    if problem is not None:
        shutil.rmtree(folder, ignore_errors=True)
        raise SessionError(problem)
    server_env = dict(environ)
    set_bundle_variables(server_env, environ)  # the server's environment names the bundle, not its folder
    session = PlaywrightSession(copy, copy / config_file.relative_to(project_dir), spec, server_env)
    try:
        session.start()
    except SessionError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    starts += 1
    _held = _Held(key, session, folder)


def stop_server() -> None:
    """Stop the sandbox's web server, if it holds one."""
    global _held  # noqa: PLW0603
    if _held is not None:
        _held.session.stop()
        shutil.rmtree(_held.folder, ignore_errors=True)
        _held = None


def parse_checks(raw: Any) -> tuple[ServerCheck, ...]:
    """Server checks from the payload's `sandboxServer.checks` list (entries with url and/or port)."""
    checks = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, Mapping):
            url, port = item.get("url"), item.get("port")
            checks.append(ServerCheck(url if isinstance(url, str) else None,
                                      port if isinstance(port, int) and not isinstance(port, bool) else None))
    return tuple(checks)


def _answers(check: ServerCheck) -> bool:
    if check.url:
        try:
            with urllib.request.urlopen(check.url, timeout=CHECK_TIMEOUT_S) as response:  # noqa: S310 - the config's own url
                return int(response.status) < 404
        except urllib.error.HTTPError as exc:
            return exc.code < 404
        except (OSError, ValueError):
            return False
    if check.port is not None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", check.port), CHECK_TIMEOUT_S):
            return True
        return False
    return True
