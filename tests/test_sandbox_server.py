"""A warm sandbox keeps its web server between invocations, checks it first, and starts it anew when it died.

The invocations run in this one process, one after the other, as Lambda runs them in a warm sandbox.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner import sandbox_server
from runner.entry import execute
from tests.aws.processes import free_port
from tests.conftest import small_project
from tests.test_runner import payload

pytestmark = pytest.mark.e2e

SERVER = """
const fs = require('fs');
const http = require('http');
fs.appendFileSync('starts.log', 'start\\n');
fs.writeFileSync('server.pid', String(process.pid));
http.createServer((req, res) => res.end('<h1>hi</h1>')).listen(Number(process.env.PORT), '127.0.0.1');
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    port = free_port()
    folder = small_project(
        tmp_path / "project",
        "import { defineConfig } from '@playwright/test';\n"
        f"export default defineConfig({{ testDir: './tests', use: {{ baseURL: 'http://127.0.0.1:{port}' }},"
        f" webServer: {{ command: 'node server.cjs', port: {port}, env: {{ PORT: '{port}' }} }},"
        " projects: [{ name: 'chromium' }] });\n",
        {"server.cjs": SERVER,
         "tests/visit.spec.ts": "import { test, expect } from '@playwright/test';\n"
                                "test('visits', async ({ page }) => {\n  await page.goto('/');\n"
                                "  await expect(page.locator('h1')).toHaveText('hi');\n});\n"})
    (folder / "port").write_text(str(port))
    yield folder
    sandbox_server.stop_server()


def invocation(project: Path, store: Path, unit: str) -> dict[str, Any]:
    event = payload(project, store, [("visit.spec.ts", ("visits",))])
    event["unitId"] = unit
    event["unit"]["sandboxServer"] = {"checks": [{"url": None, "port": int((project / "port").read_text())}]}
    return execute(event, deadline=time.monotonic() + 120)


def server_starts(project: Path) -> int:
    held = sandbox_server._held
    assert held is not None
    return len((held.folder / "project" / "starts.log").read_text().splitlines())


def test_a_warm_sandbox_reuses_its_web_server_and_restarts_a_dead_one(project: Path, tmp_path: Path) -> None:
    for unit in ("u1", "u2"):
        result = invocation(project, tmp_path / "store", unit)
        assert [t["status"] for t in result["tests"]] == ["passed"], result
    assert server_starts(project) == 1  # started by the first invocation, reused by the second
    assert not (project / "starts.log").exists()  # the server runs in a copy that outlives invocations
    held = sandbox_server._held
    assert held is not None
    os.kill(int((held.folder / "project" / "server.pid").read_text()), signal.SIGKILL)  # the app crashed
    check = sandbox_server.ServerCheck(None, int((project / "port").read_text()))
    deadline = time.monotonic() + 10
    while sandbox_server._answers(check) and time.monotonic() < deadline:  # until the kernel closed its port
        time.sleep(0.1)
    result = invocation(project, tmp_path / "store", "u3")
    assert [t["status"] for t in result["tests"]] == ["passed"], result
    assert server_starts(project) == 1  # a new copy: this sandbox's second server started once
    assert sandbox_server.starts >= 2
    sandbox_server.stop_server()
    assert sandbox_server._held is None


def test_a_test_bundle_changes_the_app_the_sandbox_serves_and_its_server_is_not_shared(
        project: Path, tmp_path: Path) -> None:
    """A pull request changes the app and its test: units with its bundle get a server started from the bundled
    copy, and a unit without it (or with another) never reuses that server."""
    import hashlib
    import shutil

    from runner.bundle_format import build_bundle

    changed = tmp_path / "changed"
    shutil.copytree(project, changed, ignore=shutil.ignore_patterns("node_modules"))
    (changed / "server.cjs").write_text(SERVER.replace("<h1>hi</h1>", "<h1>bundled</h1>"))
    spec = changed / "tests" / "visit.spec.ts"
    spec.write_text(spec.read_text().replace("toHaveText('hi')", "toHaveText('bundled')"))
    files = {name: hashlib.sha256((changed / name).read_bytes()).hexdigest()
             for name in ("server.cjs", "tests/visit.spec.ts")}
    data = build_bundle(changed, files, ())
    sha = hashlib.sha256(data).hexdigest()
    store = tmp_path / "store"
    (store / "bundles").mkdir(parents=True)
    (store / "bundles" / f"{sha}.tar.gz").write_bytes(data)

    def with_bundle(unit: str) -> dict[str, Any]:
        event = payload(project, store, [("visit.spec.ts", ("visits",))])
        event["unitId"] = unit
        event["unit"]["sandboxServer"] = {"checks": [{"url": None, "port": int((project / "port").read_text())}]}
        event["bundle"] = {"sha256": sha, "key": f"bundles/{sha}.tar.gz", "bytes": len(data),
                           "store": {"kind": "local", "root": str(store)}}
        return execute(event, deadline=time.monotonic() + 120)

    for unit in ("b1", "b2"):
        result = with_bundle(unit)
        assert [t["status"] for t in result["tests"]] == ["passed"], result  # the bundled app, the bundled test
    held = sandbox_server._held
    assert held is not None and "bundled" in (held.folder / "project" / "server.cjs").read_text()
    assert server_starts(project) == 1  # reused by the second unit with the same bundle
    result = invocation(project, store, "plain")
    assert [t["status"] for t in result["tests"]] == ["passed"], result  # the image's app again, not the bundle's
    held = sandbox_server._held
    assert held is not None and "bundled" not in (held.folder / "project" / "server.cjs").read_text()
    assert "bundled" not in (project / "server.cjs").read_text()  # the deployed project is never changed
