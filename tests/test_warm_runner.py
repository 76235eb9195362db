"""The warm runner (issue 12 item 3): a warm process's Node host runs unit after unit as `playwright test`
would, each unit with its own environment, results and artifacts; it falls back to the command line when
the host refuses the project's Playwright, and is replaced after a deadline, a death or another environment.
Real Playwright and Chromium throughout; each test's units run in this process, as in a warm sandbox."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from runner import browser_server, warm_host
from runner.entry import execute
from runner.proc import alive, children, descendants
from tests.conftest import DEMO, ROOT, load_results, small_project
from tests.playwright_versions import OLDEST, SHAPES, playwright_install

pytestmark = pytest.mark.e2e

CONFIG = """import { defineConfig } from '@playwright/test';
export default defineConfig({ testDir: './tests', retries: 0, projects: [{ name: 'chromium' }] });
"""
# Each test records which processes ran it (its worker, and the worker's parent: Playwright's main process,
# the warm host or a command line) and what its environment says; then it clicks through a page.
SPEC = """import { test, expect } from '@playwright/test';
import * as fs from 'fs';
function record(name: string) {
  fs.writeFileSync(`${process.env.HT_TEST_ARTIFACTS_OUTPUT_PATH}/who.json`, JSON.stringify({
    test: name, worker: process.pid, main: process.ppid, unit: process.env.HT_UNIT_ID,
    flavour: process.env.FLAVOUR ?? null, leaked: process.env.LEAKED ?? null }));
  process.env.LEAKED = name;  // a kept worker must not hand this to the next unit's tests
}
for (const name of ['one', 'two', 'three']) {
  test(name, async ({ page }) => {
    record(name);
    await page.setContent('<button onclick="this.textContent = \\'done\\'">go</button>');
    await page.getByRole('button').click();
    await expect(page.getByRole('button')).toHaveText('done');
  });
}
test('fails', async () => { record('fails'); expect(1).toBe(2); });
test('flaky', async ({ page }, testInfo) => {
  record('flaky');
  await page.setContent('<p>flaky</p>');
  expect(testInfo.retry).toBe(1);
});
test('hangs', async () => { record('hangs'); await new Promise(() => {}); });
// A context left open: a kept worker closes it when its unit ends, so the next unit's browser has none.
test('leaves a context', async ({ browser }) => { record('leaves a context'); await browser.newContext(); });
test('counts contexts', async ({ browser }) => { record('counts contexts'); expect(browser.contexts()).toEqual([]); });
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return small_project(tmp_path / "project", CONFIG, {"tests/warm.spec.ts": SPEC})


def run(project: Path, store: Path, title: str, unit: str, *, env: dict[str, str] | None = None,
        deadline_s: float = 120, unit_env: dict[str, str] | None = None, retries: int | None = None,
        file: str = "warm.spec.ts", project_name: str = "chromium",
        config_file: str = "playwright.config.ts") -> tuple[dict[str, Any], dict[str, Any]]:
    """Run one test as a unit in this process; its result and what the test recorded."""
    ref = {"project": project_name, "file": file, "titlePath": [title]}
    event = {"runner": "playwright", "runId": "run1", "unitId": unit, "projectDir": str(project),
             "timeoutMs": int(deadline_s * 1000), "artifacts": {"kind": "local", "root": str(store)},
             "unit": {"tests": [{**ref, "id": f"t-{unit}"}], "selectors": [ref], "configFile": config_file,
                      "retries": retries, "env": unit_env or {}}}
    result = execute(event, time.monotonic() + deadline_s, {**os.environ, **(env or {})})
    [record] = result["tests"]
    [who] = [a for a in record["artifacts"] if a["name"] == "who.json"] or [None]
    return result, json.loads((store / who["path"]).read_text()) if who else {}


def status(result: dict[str, Any]) -> str:
    return str(result["tests"][0]["status"])


def test_units_in_one_process_share_one_host_and_keep_their_own_results(project: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    seen = [run(project, store, title, f"u{n}") for n, title in enumerate(["one", "fails", "two", "three"])]
    assert [status(result) for result, _ in seen] == ["passed", "failed", "passed", "passed"]
    [host] = warm_host.held_pids()
    assert {who["main"] for _, who in seen} == {host}  # one Playwright main process ran them all
    assert {result["runPath"] for result, _ in seen} == {"warm host (options)"}  # and said so
    assert [who["unit"] for _, who in seen] == ["u0", "u1", "u2", "u3"]  # each with its own environment
    assert [who["test"] for _, who in seen] == ["one", "fails", "two", "three"]  # and its own artifacts
    blobs = [result["blob"] for result, _ in seen]
    assert len(set(blobs)) == 4 and all((store / blob).is_file() for blob in blobs)
    failure = re.sub(r"\x1b\[[0-9;]*m", "", seen[1][0]["tests"][0]["attempts"][0]["error"]["message"])
    assert "expect(received).toBe(expected)" in failure  # Playwright's message (colours as on the command line)
    # A worker whose tests passed serves the next unit; one whose test failed does not, as in Playwright.
    one, fails, two, three = (who["worker"] for _, who in seen)
    assert one == fails and two == three and two != fails
    assert {who["leaked"] for _, who in seen} == {None}  # each unit gets exactly its own environment
    assert warm_host.kept_workers() == {three} and three in descendants(host)


def test_what_the_config_sets_in_process_env_reaches_every_unit_in_a_kept_worker(tmp_path: Path) -> None:
    """A config that sets process.env at its top level runs once per process (later loads find it cached): the
    host sets it again for each unit, so a kept worker's tests see it as a fresh process's do."""
    config = "process.env.FLAVOUR = 'from-config';\n" + CONFIG
    project = small_project(tmp_path / "project", config, {"tests/warm.spec.ts": SPEC})
    store = tmp_path / "store"
    seen = [run(project, store, title, f"u{n}") for n, title in enumerate(["one", "two", "three"])]
    assert [status(result) for result, _ in seen] == ["passed"] * 3
    assert [who["flavour"] for _, who in seen] == ["from-config"] * 3
    assert len({who["worker"] for _, who in seen}) == 1  # one kept worker served all three


# Two projects over two files; one file sets a worker-scoped option (headless, to the value it has anyway):
# Playwright gives its tests a worker hash, and so a worker, of their own.
HASHES_CONFIG = """import { defineConfig } from '@playwright/test';
export default defineConfig({ testDir: './tests', retries: 0,
  projects: [{ name: 'chromium' }, { name: 'narrow', use: { viewport: { width: 400, height: 300 } } }] });
"""
HASHES_SPEC = """import { test, expect } from '@playwright/test';
import * as fs from 'fs';
USE
for (const name of ['first', 'second']) {
  test(name, async ({ page }, testInfo) => {
    fs.writeFileSync(`${process.env.HT_TEST_ARTIFACTS_OUTPUT_PATH}/who.json`, JSON.stringify({
      test: name, worker: process.pid, main: process.ppid, unit: process.env.HT_UNIT_ID }));
    await page.setContent('<p>hashes</p>');
    expect(page.viewportSize()!.width).toBe(testInfo.project.name === 'narrow' ? 400 : 1280);
  });
}
"""


def test_a_kept_worker_serves_only_tests_of_its_worker_hash(tmp_path: Path) -> None:
    """Playwright reuses a worker only for tests of the same project, fixture pool (a file-level test.use of a
    worker-scoped option) and repetition; a kept worker given another's tests fails them ("inconsistent
    test.use() options")."""
    project = small_project(tmp_path / "project", HASHES_CONFIG, {
        "tests/plain.spec.ts": HASHES_SPEC.replace("USE", ""),
        "tests/used.spec.ts": HASHES_SPEC.replace("USE", "test.use({ headless: true });")})
    store = tmp_path / "store"
    order = [("plain.spec.ts", "first", "chromium"), ("used.spec.ts", "first", "chromium"),
             ("plain.spec.ts", "second", "chromium"), ("used.spec.ts", "second", "chromium"),
             ("plain.spec.ts", "first", "narrow")]
    seen = [run(project, store, title, f"u{n}", file=file, project_name=name)
            for n, (file, title, name) in enumerate(order)]
    assert [status(result) for result, _ in seen] == ["passed"] * 5, [r["tests"] for r, _ in seen]
    plain, used, plain_again, used_again, narrow = (who["worker"] for _, who in seen)
    assert len({who["main"] for _, who in seen}) == 1
    assert plain == plain_again and used == used_again  # kept for the next test of their hash
    assert len({plain, used, narrow}) == 3  # and for no other


def test_a_worker_whose_test_failed_is_not_kept_even_when_the_retry_passed(project: Path, tmp_path: Path) -> None:
    result, who = run(project, tmp_path / "store", "flaky", "u0", retries=1)
    assert [a["status"] for a in result["tests"][0]["attempts"]] == ["failed", "passed"]
    assert warm_host.kept_workers() == {who["worker"]}  # the retry's worker, not the failed attempt's


def test_warm_workers_off_start_a_worker_for_each_unit(project: Path, tmp_path: Path) -> None:
    seen = [run(project, tmp_path / "store", title, f"u{n}", env={"HT_WARM_WORKER": "0"})
            for n, title in enumerate(["one", "two"])]
    assert [status(result) for result, _ in seen] == ["passed", "passed"]
    assert seen[0][1]["main"] == seen[1][1]["main"] and seen[0][1]["worker"] != seen[1][1]["worker"]
    [host] = warm_host.held_pids()
    assert warm_host.kept_workers() == frozenset() and set(descendants(host)) == set()


def test_lambdas_trace_id_of_each_invocation_keeps_the_host_and_worker(project: Path, tmp_path: Path) -> None:
    """Lambda's runtime sets _X_AMZN_TRACE_ID for every invocation: a warm sandbox keeps its host and worker."""
    store = tmp_path / "store"
    _, first = run(project, store, "one", "u0", env={"_X_AMZN_TRACE_ID": "Root=1-00000001-aaaa"})
    _, second = run(project, store, "two", "u1", env={"_X_AMZN_TRACE_ID": "Root=1-00000002-bbbb"})
    assert (first["main"], first["worker"]) == (second["main"], second["worker"])


def test_a_kept_worker_that_died_between_units_is_replaced(project: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    _, first = run(project, store, "one", "u0")
    assert warm_host.kept_workers() == {first["worker"]}
    os.kill(first["worker"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while alive(first["worker"]) and time.monotonic() < deadline:  # dead before the next unit, not dying
        time.sleep(0.05)
    after, second = run(project, store, "two", "u1")
    assert status(after) == "passed", after
    assert second["main"] == first["main"] and second["worker"] != first["worker"]


def test_a_kept_worker_whose_browser_ended_between_units_is_not_used_again(project: Path, tmp_path: Path) -> None:
    """A browser killed between units (for memory, say) would fail every test of a worker that kept it."""
    store = tmp_path / "store"
    _, first = run(project, store, "one", "u0")
    browser = children(first["worker"])
    assert browser  # the worker's Chromium, kept with it
    for pid in browser:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in browser) and time.monotonic() < deadline:  # gone before the next unit
        time.sleep(0.05)
    after, second = run(project, store, "two", "u1")
    assert status(after) == "passed", after
    assert second["main"] == first["main"] and second["worker"] != first["worker"]


def test_stopping_the_host_leaves_no_kept_worker_or_browser(project: Path, tmp_path: Path) -> None:
    run(project, tmp_path / "store", "one", "u0")
    [host] = warm_host.held_pids()
    below = descendants(host)
    assert len(below) > 1  # the kept worker and its browser's processes
    warm_host.stop_held()
    for pid in [host, *below]:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_warm_runner_off_runs_each_unit_through_the_command_line(project: Path, tmp_path: Path) -> None:
    seen = [run(project, tmp_path / "store", title, f"u{n}", env={"HT_WARM_RUNNER": "0"})
            for n, title in enumerate(["one", "two"])]
    assert [status(result) for result, _ in seen] == ["passed", "passed"]
    assert warm_host.held_pids() == frozenset()
    assert len({who["main"] for _, who in seen}) == 2  # a Playwright process each


@pytest.mark.parametrize(("shape", "version"), [(shape, version) for shape, version in SHAPES.items()
                                                if shape != "options"])
def test_an_older_playwright_runs_in_the_host_its_shape_allows(tmp_path: Path, shape: str, version: str) -> None:
    """Older releases have the internals of other shapes (warm_api.cjs): 1.55 to 1.59 "config fields", 1.42 to 1.54
    "runner class", 1.40 and 1.41 "loader class". Units run unit after unit in one host, each with the outcome,
    retries, error message, attachments, environment and deadline of its command line; a worker whose tests
    passed serves the next unit (after closing the contexts its tests left open), one whose test failed does not."""
    project = small_project(tmp_path / "project", CONFIG, {"tests/warm.spec.ts": SPEC})
    (project / "node_modules").unlink()
    (project / "node_modules").symlink_to(playwright_install(version) / "node_modules")
    store = tmp_path / "store"
    titles = ["one", "fails", "flaky", "leaves a context", "counts contexts"]
    seen = [run(project, store, title, f"u{n}", retries=1 if title == "flaky" else None)
            for n, title in enumerate(titles)]
    assert [status(result) for result, _ in seen] == ["passed", "failed", "passed", "passed", "passed"]
    assert seen[2][0]["tests"][0]["outcome"] == "flaky"
    assert [who["test"] for _, who in seen] == titles  # each its own attachment
    assert [who["unit"] for _, who in seen] == [f"u{n}" for n in range(5)]  # and environment
    assert {who["leaked"] for _, who in seen} == {None}
    failure = re.sub(r"\x1b\[[0-9;]*m", "", seen[1][0]["tests"][0]["attempts"][0]["error"]["message"])
    assert "expect(received).toBe(expected)" in failure  # Playwright's own message, as on the command line
    [host] = warm_host.held_pids()
    assert {who["main"] for _, who in seen} == {host}  # every unit's workers were the one host's children
    assert {result["runPath"] for result, _ in seen} == {f"warm host ({shape})"}
    one, fails, flaky, leaves, counts = (who["worker"] for _, who in seen)
    assert one == fails and flaky != fails and leaves == counts  # kept after a pass, not after a failure
    hung, _ = run(project, store, "hangs", "u9", deadline_s=6)
    assert (hung["status"], status(hung)) == ("deadline", "interrupted")
    assert warm_host.held_pids() == frozenset()  # an interrupted host is not trusted again


def test_a_unit_the_host_declines_runs_its_command_line(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """Playwright 1.40 runs an ES module config only by restarting itself with Node's --experimental-loader (no
    loader can be registered in a running process): its host declines such a unit, which runs its command line
    (and fails as plainly), and the host stays for the next unit."""
    project = small_project(tmp_path / "project", CONFIG, {"tests/warm.spec.ts": SPEC})
    (project / "playwright.config.ts").rename(project / "playwright.config.mts")
    (project / "node_modules").unlink()
    (project / "node_modules").symlink_to(playwright_install(OLDEST) / "node_modules")
    result, who = run(project, tmp_path / "store", "fails", "u0", config_file="playwright.config.mts")
    assert (status(result), result["runPath"]) == ("failed", "command line")
    [host] = warm_host.held_pids()
    assert who["main"] != host
    said = capfd.readouterr().err
    assert said.count("declines some units") == 1 and "--experimental-loader" in said


def test_a_host_that_throws_before_any_test_is_not_trusted_and_the_unit_runs_its_command_line(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """As if the host's adapter misread an internal: the config throws when loaded in the warm host alone. The
    unit runs its command line instead (and passes, as plainly), and so do the next units."""
    config = CONFIG.replace("export default", "if (process.argv.some((arg) => arg.endsWith('warm_host.cjs'))) "
                                              "throw new Error('not in the host');\nexport default")
    project = small_project(tmp_path / "project", config, {"tests/warm.spec.ts": SPEC})
    seen = [run(project, tmp_path / "store", title, f"u{n}") for n, title in enumerate(["one", "two"])]
    assert [(status(result), result["runPath"]) for result, _ in seen] == [("passed", "command line")] * 2
    said = capfd.readouterr().err
    assert said.count("failed before any test ended") == 1 and "not in the host" in said
    assert warm_host.held_pids() == frozenset()


def test_an_unknown_playwright_version_runs_units_through_the_command_line(tmp_path: Path,
                                                                          capfd: pytest.CaptureFixture[str]) -> None:
    """The host reads the version of the `playwright` package beside the project's command line; one it was
    not checked against is refused, and every unit runs `playwright test` as without a host."""
    project = small_project(tmp_path / "old", CONFIG, {"tests/warm.spec.ts": SPEC})
    (project / "node_modules").unlink()
    modules = project / "node_modules"
    modules.mkdir()
    for name in ("@playwright", "playwright-core"):
        (modules / name).symlink_to(DEMO / "node_modules" / name)
    # The real package under another version: its files (so units select by test list, which the host runs),
    # and a package.json saying a version the host was not checked against.
    real = DEMO / "node_modules" / "playwright"
    (modules / "playwright").mkdir()
    for entry in real.iterdir():
        if entry.name != "package.json":
            (modules / "playwright" / entry.name).symlink_to(entry)
    manifest = json.loads((real / "package.json").read_text(encoding="utf-8"))
    (modules / "playwright" / "package.json").write_text(json.dumps({**manifest, "version": "1.70.0"}))
    seen = [run(project, tmp_path / "store", title, f"u{n}") for n, title in enumerate(["one", "two"])]
    assert [status(result) for result, _ in seen] == ["passed", "passed"]
    assert warm_host.held_pids() == frozenset()
    said = capfd.readouterr().err
    assert said.count("no warm host for") == 1 and "Playwright 1.70.0 is not a version the warm runner knows" in said


def test_a_unit_stopped_at_its_deadline_leaves_the_next_unit_a_new_host(project: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    first, _ = run(project, store, "one", "u0")
    [host] = warm_host.held_pids()
    hung, _ = run(project, store, "hangs", "u1", deadline_s=6)
    assert (hung["status"], status(hung)) == ("deadline", "interrupted")
    assert warm_host.held_pids() == frozenset()  # an interrupted host is not trusted again
    with pytest.raises(ProcessLookupError):
        os.kill(host, 0)
    after, who = run(project, store, "two", "u2")
    assert (status(first), status(after)) == ("passed", "passed")
    assert warm_host.held_pids() == {who["main"]} != {host}


def test_a_host_that_dies_mid_unit_gives_error_records_and_the_next_unit_a_new_host(
        project: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    run(project, store, "one", "u0")
    [host] = warm_host.held_pids()

    def kill_when_hanging() -> None:
        # The hanging test writes who.json into its unit's folder as it starts: this process's folder (the
        # other processes' folders, of tests running beside this one, say nothing of this host).
        who = warm_host.unit_folder() / "artifacts" / "who.json"
        for _ in range(300):
            if who.exists():
                time.sleep(0.5)
                os.kill(host, signal.SIGKILL)
                return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_when_hanging)
    killer.start()
    died, _ = run(project, store, "hangs", "u1", deadline_s=60)
    killer.join()
    assert status(died) == "error"
    assert "Playwright exited with code" in died["tests"][0]["attempts"][0]["error"]["message"]
    after, who = run(project, store, "two", "u2")
    assert status(after) == "passed" and who["main"] != host


def test_another_environment_gets_another_host(project: Path, tmp_path: Path) -> None:
    """Units of another run (another global setup's variables) must not see the first run's host."""
    store = tmp_path / "store"
    _, plain = run(project, store, "one", "u0", unit_env={"FLAVOUR": "vanilla"})
    _, other = run(project, store, "two", "u1", unit_env={"FLAVOUR": "mint"})
    assert (plain["flavour"], other["flavour"]) == ("vanilla", "mint")
    assert plain["main"] != other["main"]


def test_hypertests_own_switches_do_not_replace_the_host(project: Path, tmp_path: Path) -> None:
    """HT_WARM_* and HT_BROWSER_* are hypertest's, not the tests': a warm sandbox whose units differ only in
    them keeps its host."""
    store = tmp_path / "store"
    try:
        _, plain = run(project, store, "one", "u0", env={"HT_WARM_BROWSER": "0"})
        _, served = run(project, store, "two", "u1", env={"HT_WARM_BROWSER": "1", "HT_WARM_RUNNER_MAX_RSS_MB": "900"})
    finally:
        browser_server.stop_held()
    assert plain["main"] == served["main"]


def test_local_slots_keep_one_runner_and_host_each(tmp_path: Path) -> None:
    """hypertest invoke on the local provider: each slot's units run in its warm runner's host; nothing is
    left after the run."""
    project = small_project(tmp_path / "local", CONFIG, {"tests/warm.spec.ts": SPEC})
    processes = set(descendants())
    output = tmp_path / "results"
    completed = subprocess.run(
        [sys.executable, str(ROOT / "entrypoint.py"), "invoke", "--output", str(output), "--concurrency", "2",
         "--grep", "one|two|three"], cwd=project, capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    document = load_results(output)
    assert [test["status"] for test in document["tests"]] == ["passed"] * 3
    run_dir = output / document["runId"]
    mains = set()
    for test in document["tests"]:
        [who] = [a for a in test["artifacts"] if a["name"] == "who.json"]
        mains.add(json.loads((run_dir / who["path"]).read_text())["main"])
    assert 1 <= len(mains) <= 2  # three units, at most one host per slot
    assert set(descendants()) - processes == set()  # the slots' runners and hosts ended with the run
