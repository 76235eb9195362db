"""The Invoke stand-in gives each invocation a sandbox of its own, as Lambda does.

Two invocations at the same time each have their own copy of the project and their own network
(tests/aws/sandbox.py): both can listen on one fixed port, neither sees the other's files, the
original project folder is left as it was, and moto's S3 on the host's loopback is still reached.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner.proc import descendants
from tests.aws import sandbox
from tests.aws.conftest import BUCKET, FUNCTION, REGION, AwsWorld
from tests.conftest import ROOT, CliResult, load_results

PORT = 39417  # fixed, as a Playwright webServer's port is
NOBODY = 65534

Cli = Callable[..., CliResult]



@pytest.fixture
def namespaces() -> None:
    """Skip where a process cannot get a network namespace of its own."""
    if not sandbox.namespaces_available():
        pytest.skip("network namespaces are not available here")


# --- handler substitutes, called by tests/aws/lambda_worker.py inside the sandbox -----------------

def probe(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Hold the fixed port and write a file until event["holdUntil"]; report what this sandbox saw."""
    import boto3

    name = event["unitId"]
    folder = Path.cwd() / "project"
    server = socket.socket()
    server.bind(("127.0.0.1", PORT))  # the other invocation holds "the same" port meanwhile
    server.listen()
    bound_at = time.time()
    (folder / f"written-by-{name}.txt").write_text(name)

    def answer() -> None:
        connection, _ = server.accept()
        with connection:
            connection.sendall(name.encode())

    threading.Thread(target=answer, daemon=True).start()
    s3 = boto3.client("s3", endpoint_url=event["artifacts"]["endpointUrl"], region_name=REGION)
    s3.put_object(Bucket=event["artifacts"]["bucket"], Key=f"probe/{name}", Body=name.encode())
    time.sleep(max(0.0, event["holdUntil"] - time.time()))
    with socket.create_connection(("127.0.0.1", PORT), timeout=5) as connection:
        heard = connection.recv(100).decode()
    seen = sorted(path.name for path in folder.glob("written-by-*"))
    released_at = time.time()
    server.close()
    return {"cwd": str(Path.cwd()), "projectRoot": os.environ["HT_PROJECT_ROOT"], "heard": heard, "seen": seen,
            "boundAt": bound_at, "releasedAt": released_at}


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Return the event."""
    return event


# --- helpers --------------------------------------------------------------------------------------

def invoke(world: AwsWorld, event: dict[str, Any]) -> dict[str, Any]:
    """One Invoke request to the stand-in; the handler's result (a function error fails the test)."""
    request = urllib.request.Request(f"{world.standin.url}/2015-03-31/functions/{FUNCTION}/invocations",
                                     data=json.dumps(event).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=120) as response:
        body = json.loads(response.read())
        assert not response.headers.get("X-Amz-Function-Error"), body
    assert isinstance(body, dict)
    return body


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every file's content and every link's target below folder, by relative path (links not followed)."""
    found: dict[str, bytes | str] = {}
    for current, folders, files in os.walk(folder):
        for name in [*folders, *files]:
            path = Path(current, name)
            relative = path.relative_to(folder).as_posix()
            if path.is_symlink():
                found[relative] = f"-> {path.readlink()}"
            elif path.is_file():
                found[relative] = path.read_bytes()
            else:
                found[relative] = "dir"
    return found


# --- tests ----------------------------------------------------------------------------------------

def test_a_copy_links_node_modules_and_leaves_out_results_and_git(tmp_path: Path) -> None:
    source = tmp_path / "root"
    for relative in ("project/tests/a.spec.ts", "project/node_modules/pkg/index.js", "project/.git/HEAD",
                     "project/test-results/x.txt", "project/hypertest-results/y.txt", "project/app/.env",
                     "project/app/node_modules/z.js"):
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).write_text(relative)
    (source / "project" / "link.ts").symlink_to("tests/a.spec.ts")
    with sandbox.project_copy(source) as copy:
        assert copy.name == "root" and copy.parent.name.startswith("ht-sandbox-")
        project = copy / "project"
        assert (project / "tests" / "a.spec.ts").read_text() == "project/tests/a.spec.ts"
        assert (project / "app" / ".env").is_file()
        assert (project / "node_modules").readlink() == source / "project" / "node_modules"
        assert (project / "app" / "node_modules").readlink() == source / "project" / "app" / "node_modules"
        assert (project / "link.ts").readlink() == Path("tests/a.spec.ts")
        assert (project / "link.ts").read_text() == "project/tests/a.spec.ts"
        for left_out in (".git", "test-results", "hypertest-results"):
            assert not (project / left_out).exists()
        (project / "tests" / "a.spec.ts").write_text("changed")
    assert not copy.parent.exists()
    assert (source / "project" / "tests" / "a.spec.ts").read_text() == "project/tests/a.spec.ts"
    assert (source / "project" / "node_modules" / "pkg" / "index.js").is_file()  # removing a link keeps its target


def test_endpoints_to_relay_are_the_loopback_ones_the_invocation_is_given() -> None:
    event = {"artifacts": {"endpointUrl": "http://127.0.0.1:4566"},
             "env": {"AWS_ENDPOINT_URL_STS": "http://localhost:4567/", "OTHER": "http://127.0.0.1:1"}}
    env = {"AWS_ENDPOINT_URL": "https://[::1]:4568", "AWS_ENDPOINT_URL_S3": "https://s3.eu-west-1.amazonaws.com"}
    found = sandbox.invocation_endpoints(event, env, extra=["http://127.0.0.1:4566"])
    assert found == [("127.0.0.1", 4566), ("::1", 4568), ("localhost", 4567)]
    assert [sandbox.parse_endpoint(endpoint.text()) for endpoint in found] == found


def test_two_invocations_at_once_have_their_own_port_and_files_and_still_reach_s3(namespaces: None,
                                                                                   aws: AwsWorld) -> None:
    aws.standin.handler = "tests.aws.test_standin_isolation:probe"
    original = snapshot(aws.standin.project_root)
    processes = set(descendants())
    hold_until = time.time() + 4
    results: dict[str, dict[str, Any]] = {}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            results[name] = invoke(aws, {"unitId": name, "holdUntil": hold_until,
                                         "artifacts": {"endpointUrl": aws.moto, "bucket": BUCKET}})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    a, b = results["a"], results["b"]
    assert a["boundAt"] < b["releasedAt"] and b["boundAt"] < a["releasedAt"]  # both held the port at once
    assert aws.standin.peak_in_flight == 2
    for name, result in results.items():
        assert result["heard"] == name  # 127.0.0.1:39417 answered with this sandbox's own server
        assert result["seen"] == [f"written-by-{name}.txt"]
        assert result["cwd"] == result["projectRoot"] == str(aws.standin.task_root)  # one path, as /var/task
    assert len(aws.standin.copies) == len(set(aws.standin.copies)) == 2
    assert not any(copy.exists() for copy in aws.standin.copies)  # each copy was removed
    # Each copy was shown at task_root only inside its own sandbox: outside, the folder stays empty.
    assert aws.standin.task_root is not None and not any(aws.standin.task_root.iterdir())
    assert snapshot(aws.standin.project_root) == original
    assert aws.keys("probe/") == ["probe/a", "probe/b"]  # moto's S3 on the host, through the relay
    assert set(descendants()) - processes == set()  # no worker or relay left behind


# Imports first, as root (the interpreter may sit in root's home), then become an unprivileged user, who
# cannot unshare the network: the probe says so, and a worker told to use its own network falls back to
# the host's, says so in its log and still runs the handler.
UNPRIVILEGED = """\
import os, sys
from tests.aws import lambda_worker, sandbox
import tests.aws.test_standin_isolation
os.setuid(__NOBODY__)
assert sandbox._probe() == 1
lambda_worker.main(sys.argv[1:])
""".replace("__NOBODY__", str(NOBODY))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_without_namespaces_an_invocation_shares_the_hosts_network(tmp_path: Path) -> None:
    processes = set(descendants())
    worker = subprocess.run([sys.executable, "-c", UNPRIVILEGED, "10", "--handler",
                             "tests.aws.test_standin_isolation:echo", "--own-network", "--relay", "127.0.0.1:9"],
                            input='{"unitId": "u"}', capture_output=True, text=True, timeout=60, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert worker.returncode == 0, worker.stderr
    assert json.loads(worker.stdout) == {"unitId": "u"}
    assert "no network namespace for this invocation" in worker.stderr
    assert "shares the host's network" in worker.stderr
    assert set(descendants()) - processes == set()


SERVER = """\
const http = require('http');
http.createServer((req, res) => res.end(`server ${process.pid}`)).listen(__PORT__, '127.0.0.1');
""".replace("__PORT__", str(PORT))

CONFIG = """\
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './tests',
  fullyParallel: true,
  retries: 0,
  projects: [{ name: 'chromium' }],
  webServer: { command: 'node server.cjs', port: __PORT__, reuseExistingServer: false },
});
""".replace("__PORT__", str(PORT))

SPEC = """\
import { test, expect } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

const project = path.resolve(__dirname, '..');

for (const name of ['one', 'two', 'three', 'four']) {
  test(`unit ${name} has port __PORT__ and the project folder to itself`, async ({ page }) => {
    fs.writeFileSync(path.join(project, `written-by-${name}.txt`), name);
    await page.goto('http://127.0.0.1:__PORT__/');
    await expect(page.locator('body')).toHaveText(/^server \\d+$/);
    await page.waitForTimeout(1500);  // the other unit in flight runs its own web server meanwhile
    const written = fs.readdirSync(project).filter((file) => file.startsWith('written-by-'));
    expect(written).toEqual([`written-by-${name}.txt`]);
  });
}
""".replace("__PORT__", str(PORT))


@pytest.mark.e2e
def test_units_in_flight_each_start_the_web_server_on_one_fixed_port(namespaces: None, aws: AwsWorld, cli: Cli,
                                                                      tmp_path: Path) -> None:
    shutil.rmtree(aws.project / "tests")
    (aws.project / "tests").mkdir()
    (aws.project / "tests" / "isolation.spec.ts").write_text(SPEC)
    (aws.project / "playwright.config.ts").write_text(CONFIG)
    (aws.project / "server.cjs").write_text(SERVER)
    aws.write_config()  # concurrency 2
    original = snapshot(aws.standin.project_root)
    result = cli("invoke", "--output", str(tmp_path / "out"), cwd=aws.project)
    assert result.code == 0, result.out + result.err
    document = load_results(tmp_path / "out")
    assert document["stats"]["total"] == document["stats"]["passed"] == 4
    assert aws.standin.peak_in_flight == 2
    assert sum(aws.standin.executions.values()) == 4
    assert snapshot(aws.standin.project_root) == original  # nothing written, no test-results
    run = document["runId"]
    keys = aws.keys(f"hypertest/{run}/")
    assert sum(1 for key in keys if key.startswith(f"hypertest/{run}/blobs/")) == 4  # uploaded through the relay
    # Every unit saw its project at one path, so their blob reports merge into one HTML report.
    assert f"hypertest/{run}/report/index.html" in keys and "could not be built" not in result.out
