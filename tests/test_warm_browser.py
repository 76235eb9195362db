"""The warm browser (issue 12 item 2) on real Playwright and Chromium: one browser server kept across units.

A test finds out where its browser runs by looking for a Chromium whose parent is its own worker
process: with a plain launch there is one, with the warm browser there is none (the server's Chromium
is the server's child).
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from runner import browser_server, warm_host
from runner.entry import execute
from runner.node import find_node
from runner.proc import alive, descendants
from runner.wrapper_config import WARM_LAUNCH_MODULE
from tests.conftest import ROOT, load_results, small_project
from tests.playwright_versions import MIDDLE, OLDEST, playwright_install

pytestmark = pytest.mark.e2e

RESULT_SCHEMA = json.loads((ROOT / "schema" / "result.schema.json").read_text())

CONFIG = """import { defineConfig } from '@playwright/test';
export default defineConfig({ testDir: './tests', timeout: 20000, projects: [{ name: 'chromium' }] });
"""
WHERE = """
import * as fs from 'fs';
import * as path from 'path';

// How many Chromium processes are children of this worker: one when it launched its own browser.
export function ownChromiums(): number {
  let count = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === process.pid && /chrom/i.test(name)) count++;
    } catch {}
  }
  return count;
}

export function record(values: object): void {
  fs.writeFileSync(path.join(process.env.HT_TEST_ARTIFACTS_OUTPUT_PATH!, 'where.json'), JSON.stringify(values));
}
"""
SPEC = """
import { test, expect } from '@playwright/test';
import * as fs from 'fs';
import { ownChromiums, record } from './where';

test('clicks', async ({ page, browser }) => {
  await page.setContent('<button onclick="this.textContent = \\'done\\'">go</button>');
  await page.getByRole('button').click();
  await expect(page.getByRole('button')).toHaveText('done');
  record({ own: ownChromiums(), contexts: browser.contexts().length });
});

test('fails', async ({ page }) => {
  await page.setContent('<p>actual</p>');
  record({ own: ownChromiums() });
  await expect(page.locator('p')).toHaveText('expected', { timeout: 500 });
});

test('leaves a pinging page', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.setContent(`<script>setInterval(() => fetch('${process.env.PING_URL}', { mode: 'no-cors' })
    .catch(() => {}), 100);</script>`);
  await expect.poll(() => fs.existsSync(process.env.PINGED_FILE!), { timeout: 10000 }).toBe(true);
  record({ own: ownChromiums() });
  if (process.env.KILL_OWN_WORKER === '1') process.kill(process.pid, 'SIGKILL');  // nobody closes it
});

test('loses its browser', async ({ page }) => {
  await page.setContent('<p>one</p>');
  fs.writeFileSync(process.env.READY_FILE!, 'ready');
  for (let n = 0; n < 200; n++) {  // the server is killed meanwhile: the page goes with it
    await page.setContent(`<p>${n}</p>`);
    await page.waitForTimeout(100);
  }
});
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return small_project(tmp_path / "project", CONFIG, {"tests/where.ts": WHERE, "tests/warm.spec.ts": SPEC})


@pytest.fixture
def held() -> Iterator[None]:
    """This process holds a warm browser between units, as the Lambda handler makes it do."""
    browser_server.hold_between_invocations()
    try:
        yield
    finally:
        browser_server.stop_held()


def warm_env(**extra: str) -> dict[str, str]:
    """The warm browser serves the units that get a new worker (a kept worker keeps its browser connection)."""
    return {**os.environ, "HT_WARM_BROWSER": "1", "HT_WARM_WORKER": "0", **extra}


def unit(project: Path, store: Path, title: str, unit_id: str, *,
         config: str = "playwright.config.ts", file: str = "warm.spec.ts") -> dict[str, Any]:
    ref = {"project": "chromium", "file": file, "titlePath": [title]}
    return {"runner": "playwright", "runId": "run1", "unitId": unit_id, "projectDir": str(project),
            "timeoutMs": 120_000, "artifacts": {"kind": "local", "root": str(store)},
            "unit": {"tests": [{**ref, "id": f"t-{unit_id}"}], "selectors": [ref], "configFile": config,
                     "retries": None}}


def run(project: Path, store: Path, title: str, unit_id: str, env: dict[str, str],
        **options: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """One unit of one test through the runner; its result and what the test recorded about its browser."""
    result = execute(unit(project, store, title, unit_id, **options), time.monotonic() + 120, env)
    jsonschema.validate(result, RESULT_SCHEMA)
    where = store / f"t-{unit_id}" / "custom" / "where.json"
    return result, (json.loads(where.read_text()) if where.is_file() else {})


def statuses(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(test["status"], test["outcome"]) for test in result["tests"]]


def server_tree() -> set[int]:
    server = browser_server.held_server()
    return set(server.processes()) if server is not None else set()


def left_behind(before: set[int]) -> set[int]:
    """Processes started since before that are still alive and are neither the server's (its browser's) nor
    the warm host: a renderer the server ends while the process list is read is not one of them."""
    found = set(descendants()) - before - server_tree() - warm_host.held_pids()
    return {pid for pid in found if alive(pid)} - server_tree()


def test_units_in_one_process_share_one_server_and_keep_their_results(project: Path, tmp_path: Path,
                                                                      held: None) -> None:
    processes = set(descendants())
    warm, plain = [], []
    pids = []
    for n, title in enumerate(["clicks", "fails", "clicks", "fails"]):
        warm.append(run(project, tmp_path / "warm", title, f"w{n}", warm_env()))
        server = browser_server.held_server()
        assert server is not None and server.endpoint is not None
        pids.append(server.endpoint.pids)
        # Nothing of the unit is left but the server (and its browser's processes) and the warm host.
        assert left_behind(processes) == set()
    assert len(set(pids)) == 1 and browser_server.held_server().starts == 1  # type: ignore[union-attr]
    for n, title in enumerate(["clicks", "fails"]):
        plain.append(run(project, tmp_path / "plain", title, f"p{n}", warm_env(HT_WARM_BROWSER="0")))
    assert [statuses(result) for result, _ in warm] == [[("passed", "expected")], [("failed", "unexpected")]] * 2
    assert [statuses(result) for result, _ in plain] == [statuses(result) for result, _ in warm[:2]]
    assert [where["own"] for _, where in warm] == [0, 0, 0, 0]  # served by the warm browser
    assert [where["own"] for _, where in plain] == [1, 1]  # HT_WARM_BROWSER=0: each launched its own
    assert warm[0][1]["contexts"] == plain[0][1]["contexts"] == 1  # its own context, as Playwright gives it
    failure = warm[1][0]["tests"][0]["attempts"][0]["error"]["message"]
    assert "expected" in failure and "shared browser" not in failure


def test_a_server_killed_between_units_is_replaced(project: Path, tmp_path: Path, held: None) -> None:
    env = warm_env()
    for victim in (0, 1):  # the Node server, then the browser itself
        first, _ = run(project, tmp_path / "s", "clicks", f"a{victim}", env)
        server = browser_server.held_server()
        assert server is not None and server.endpoint is not None
        old = server.endpoint.pids
        os.kill(old[victim], signal.SIGKILL)
        gone_by = time.monotonic() + 10  # between units: the kill has taken effect before the next one starts
        while alive(old[victim]) and time.monotonic() < gone_by:
            time.sleep(0.05)
        second, where = run(project, tmp_path / "s", "clicks", f"b{victim}", env)
        assert statuses(first) == statuses(second) == [("passed", "expected")]
        assert where["own"] == 0
        replaced = browser_server.held_server()
        assert replaced is not None and replaced.endpoint is not None and replaced.endpoint.pids != old
        assert not any(alive(pid) for pid in old)  # nothing of the old one is left
    assert browser_server.held_server().starts == 3  # type: ignore[union-attr]


def test_a_server_that_dies_mid_unit_gives_error_records_and_the_next_unit_a_fresh_browser(
        project: Path, tmp_path: Path, held: None) -> None:
    ready = tmp_path / "ready"
    env = warm_env(READY_FILE=str(ready))
    run(project, tmp_path / "s", "clicks", "warmup", env)
    server = browser_server.held_server()
    assert server is not None and server.endpoint is not None
    browser_pid = server.endpoint.pids[1]

    def kill_when_ready() -> None:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(browser_pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_when_ready, daemon=True)
    killer.start()
    started = time.monotonic()
    result, _ = run(project, tmp_path / "s", "loses its browser", "dies", env)
    killer.join(timeout=5)
    assert time.monotonic() - started < 60  # never waits out the test's 20 s loop, let alone hangs
    [record] = result["tests"]
    assert record["status"] == "error", record
    message = record["attempts"][-1]["error"]["message"]
    assert "shared browser" in message and str(browser_pid) in message
    after, where = run(project, tmp_path / "s", "clicks", "after", env)
    assert statuses(after) == [("passed", "expected")] and where["own"] == 0
    assert browser_server.held_server().endpoint.pids[1] != browser_pid  # type: ignore[union-attr]


class Pings(http.server.BaseHTTPRequestHandler):
    count = 0

    def do_GET(self) -> None:
        type(self).count += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize(("kill_worker", "keep_worker"), [(False, False), (True, False), (False, True)],
                         ids=["worker-ends", "worker-killed", "worker-kept"])
def test_no_context_or_page_outlives_its_unit(project: Path, tmp_path: Path, held: None, kill_worker: bool,
                                              keep_worker: bool) -> None:
    """A test opens a page in a context it never closes; the page pings a server until it is closed.
    When its worker is killed, no client closes anything: the server drops the dead client's contexts. When
    its worker is kept for the next unit, the worker closes what the unit's tests left open."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pings)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    pinged = tmp_path / "pinged"
    watcher_stop = threading.Event()

    def note_pings() -> None:
        while not watcher_stop.wait(0.05):
            if Pings.count:
                pinged.write_text("yes")
                return

    threading.Thread(target=note_pings, daemon=True).start()
    try:
        env = warm_env(PING_URL=f"http://127.0.0.1:{httpd.server_address[1]}/ping", PINGED_FILE=str(pinged),
                       KILL_OWN_WORKER="1" if kill_worker else "0", HT_WARM_WORKER="1" if keep_worker else "0")
        result, where = run(project, tmp_path / "s", "leaves a pinging page", "leaves", env)
        assert where["own"] == 0 and pinged.exists()
        assert bool(warm_host.kept_workers()) == keep_worker
        assert result["tests"][0]["status"] == ("failed" if kill_worker else "passed")
        deadline = time.monotonic() + 10
        settled = -1
        while time.monotonic() < deadline:  # the server closes the contexts once it sees the client go
            before = Pings.count
            time.sleep(1.0)
            if Pings.count == before:
                settled = before
                break
        assert settled >= 0, "the page kept pinging after its unit ended"
        time.sleep(1.0)
        assert Pings.count == settled
        server = browser_server.held_server()
        assert server is not None and server.problem(browser_server.DEFAULT_MAX_RSS_MB) is None  # still serves
    finally:
        watcher_stop.set()
        httpd.shutdown()


# Effective launch options as Playwright's browser fixture launches with them (its defaults for the worker:
# the project's `use` with the spec file's test.use applied), and whether the warm server stands in.
SERVED_CASES: dict[str, tuple[dict[str, object], bool]] = {
    "plain": ({}, True),
    "fixture folders": ({"tracesDir": "/tmp/t", "artifactsDir": "/tmp/a", "handleSIGINT": False}, True),
    "same flags, other order": ({"args": ["--no-sandbox", "--disable-gpu"]}, True),
    "own args": ({"args": ["--disable-gpu", "--no-sandbox", "--lang=de"]}, False),
    "executable": ({"executablePath": "/opt/other/chrome"}, False),
    "channel": ({"channel": "chrome"}, False),
    "headed": ({"headless": False}, False),
    "env": ({"env": {"A": "1"}}, False),
    "slowMo": ({"slowMo": 10}, False),
}


def test_a_launch_the_shared_browser_cannot_serve_launches_its_own() -> None:
    """runner/playwright/warm_launch.cjs, evaluated by Node: which effective launch options connect."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    endpoint = {"wsEndpoint": "ws://127.0.0.1:9/abc", "timeout": 15000, "executablePath": chromium,
                "args": ["--disable-gpu", "--no-sandbox"]}
    base = {"executablePath": chromium, "args": ["--disable-gpu", "--no-sandbox"], "headless": True}
    cases = {name: {**base, **options} for name, (options, _) in SERVED_CASES.items()}
    shown = subprocess.run(
        [find_node(os.environ), "-e", "const { servedBy } = require(process.argv[1]);"
         "const [cases, endpoint] = JSON.parse(process.argv[2]);"
         "console.log(JSON.stringify(Object.fromEntries("
         "Object.entries(cases).map(([name, options]) => [name, servedBy(options, endpoint)]))))",
         str(WARM_LAUNCH_MODULE), json.dumps([cases, endpoint])],
        capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(shown.stdout) == {name: served for name, (_, served) in SERVED_CASES.items()}


def test_a_project_with_its_own_launch_options_launches_its_own_browser(tmp_path: Path, held: None) -> None:
    project = small_project(tmp_path / "own", CONFIG.replace(
        "projects: [{ name: 'chromium' }]",
        "projects: [{ name: 'chromium', use: { launchOptions: { args: ['--lang=de-DE'] } } }]"),
        {"tests/where.ts": WHERE, "tests/warm.spec.ts": SPEC})
    result, where = run(project, tmp_path / "s", "clicks", "own", warm_env())
    assert statuses(result) == [("passed", "expected")]
    assert where["own"] == 1  # launched its own, with its flag


def test_warm_browser_off_launches_per_unit(project: Path, tmp_path: Path, held: None) -> None:
    result, where = run(project, tmp_path / "s", "clicks", "off", warm_env(HT_WARM_BROWSER="0"))
    assert statuses(result) == [("passed", "expected")] and where["own"] == 1
    assert browser_server.held_server() is None


def test_local_slots_keep_one_browser_each(tmp_path: Path) -> None:
    """hypertest invoke on the local provider: each slot's units share its server; nothing is left after."""
    spec = SPEC.replace("test('clicks'", "for (const n of [1, 2, 3, 4]) test(`clicks ${n}`")
    project = small_project(tmp_path / "local", CONFIG, {"tests/where.ts": WHERE, "tests/warm.spec.ts": spec})
    processes = set(descendants())
    output = tmp_path / "results"
    completed = subprocess.run(
        [sys.executable, str(ROOT / "entrypoint.py"), "invoke", "--output", str(output), "--concurrency", "2",
         "--grep", "clicks"], cwd=project, env=warm_env(), capture_output=True, text=True, timeout=600,
        check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    document = load_results(output)
    assert [test["status"] for test in document["tests"]] == ["passed"] * 4
    run_dir = output / document["runId"]
    for test in document["tests"]:
        [where] = [a for a in test["artifacts"] if a["name"] == "where.json"]
        assert json.loads((run_dir / where["path"]).read_text())["own"] == 0
    assert set(descendants()) - processes == set()  # the slots' servers ended with the run


# A file-level test.use of a launch option: Playwright launches this file's workers' browser with it, so the
# warm browser does not stand in for it; another file of the same project is still served.
FILE_LEVEL_SPEC = """import { test, expect } from '@playwright/test';
import { ownChromiums, record } from './where';
test.use({ launchOptions: { executablePath: CHROMIUM, args: ['--user-agent=file-level-ua'] } });
test('clicks', async ({ page }) => {
  await page.setContent('<p>ua</p>');
  expect(await page.evaluate(() => navigator.userAgent)).toBe('file-level-ua');
  record({ own: ownChromiums() });
});
"""
OTHER_USE_SPEC = """import { test, expect } from '@playwright/test';
import { ownChromiums, record } from './where';
test.use({ viewport: { width: 500, height: 400 } });
test('clicks', async ({ page }) => {
  await page.setContent('<p>viewport</p>');
  expect(await page.evaluate(() => window.innerWidth)).toBe(500);
  record({ own: ownChromiums() });
});
"""


# Where Playwright keeps the worker's launch defaults moved (BrowserType up to 1.4x, the Playwright object later).
@pytest.mark.parametrize(("version", "warm"), [(None, "0"), (None, "1"), (OLDEST, "1"), (MIDDLE, "1")])
def test_a_file_level_launch_option_reaches_the_browser(tmp_path: Path, held: None, version: str | None,
                                                        warm: str) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    project = small_project(tmp_path / "file-level", CONFIG, {
        "tests/where.ts": WHERE, "tests/warm.spec.ts": FILE_LEVEL_SPEC.replace("CHROMIUM", json.dumps(chromium)),
        "tests/other.spec.ts": OTHER_USE_SPEC})
    if version is not None:
        (project / "node_modules").unlink()
        (project / "node_modules").symlink_to(playwright_install(version) / "node_modules")
    result, where = run(project, tmp_path / "s", "clicks", "file-level", warm_env(HT_WARM_BROWSER=warm))
    assert statuses(result) == [("passed", "expected")], [
        (attempt.get("error") or {}).get("message") for attempt in result["tests"][0]["attempts"]]
    assert where["own"] == 1  # launched with the file's options, warm browser or not
    other, where = run(project, tmp_path / "s", "clicks", "other", warm_env(HT_WARM_BROWSER=warm),
                       file="other.spec.ts")
    assert statuses(other) == [("passed", "expected")]
    assert where["own"] == (0 if warm == "1" else 1)  # a file-level test.use of a context option is served
