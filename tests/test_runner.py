"""The runner on real Playwright and Chromium: exact selection, deadlines, crashes, and clean-up."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from runner import warm_host
from runner.entry import execute
from runner.handler import handler
from runner.private_cache import NODE_COMPILE_CACHE, PLAYWRIGHT_TRANSFORM_CACHE
from runner.proc import descendants
from tests.conftest import DEMO, ROOT, load_results, small_project

pytestmark = pytest.mark.e2e

RESULT_SCHEMA = json.loads((ROOT / "schema" / "result.schema.json").read_text())


def payload(project_dir: Path, store: Path, tests: list[tuple[str, tuple[str, ...]]], *,
            timeout_ms: int = 120_000, project: str = "chromium") -> dict[str, Any]:
    refs = [{"id": f"t{n}", "project": project, "file": file, "titlePath": list(titles)}
            for n, (file, titles) in enumerate(tests)]
    return {"runner": "playwright", "runId": "run1", "unitId": "unit1", "projectDir": str(project_dir),
            "timeoutMs": timeout_ms, "artifacts": {"kind": "local", "root": str(store)},
            "unit": {"tests": refs, "selectors": [{k: v for k, v in ref.items() if k != "id"} for ref in refs],
                     "configFile": "playwright.config.ts", "retries": None}}


class FakeContext:
    """Stands in for the Lambda context: only the remaining time is read."""

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


CACHES = {f"{name}-{os.getuid()}" for name in (NODE_COMPILE_CACHE, PLAYWRIGHT_TRANSFORM_CACHE)}


def unit_dirs() -> set[str]:
    """What is in the temp folder, but the caches the runner keeps on purpose."""
    return {p.name for p in Path(tempfile.gettempdir()).iterdir()} - CACHES


def test_handler_runs_exactly_the_requested_test(tmp_path: Path, private_tmp: Path) -> None:
    before, processes = unit_dirs(), set(descendants())  # other tests' services may be running
    result = handler(payload(DEMO, tmp_path, [("todo.spec.ts", ("completing", "marks a todo done"))]),
                     FakeContext(120_000))
    jsonschema.validate(result, RESULT_SCHEMA)
    assert result["status"] == "ok", result
    assert [(t["titlePath"], t["status"], t["outcome"]) for t in result["tests"]] == [
        (["completing", "marks a todo done"], "passed", "expected")]
    assert result["unrequestedTests"] == 0
    assert (tmp_path / result["blob"]).is_file()
    # Only the warm Playwright host outlives the invocation, as in a warm sandbox, with the worker it keeps for
    # the next unit (and that worker's browser): their processes, the host's folder and the units' folder.
    [host] = warm_host.held_pids()
    assert warm_host.kept_workers() and set(descendants()) - processes == {host, *descendants(host)}
    left = unit_dirs() - before
    assert {name for name in left if not name.startswith("ht-warm-host-")} == {warm_host.unit_folder().name}
    assert len(left) == 2
    warm_host.stop_held()
    assert unit_dirs() - before == set()  # nothing else left in /tmp
    assert set(descendants()) - processes == set()  # no other process left behind


def test_attachments_made_from_a_body_are_stored_like_files(tmp_path: Path) -> None:
    project = small_project(tmp_path / "attach", "import { defineConfig } from '@playwright/test';\n"
                            "export default defineConfig({ testDir: './tests', projects: [{ name: 'chromium' }] });\n",
                            {"tests/a.spec.ts": """
import { test } from '@playwright/test';
test('attaches', async ({}, testInfo) => {
  await testInfo.attach('order', { body: JSON.stringify({ id: 7 }), contentType: 'application/json' });
  await testInfo.attach('note', { body: 'shipped' });
});
"""})
    store = tmp_path / "store"
    result = execute(payload(project, store, [("a.spec.ts", ("attaches",))]), time.monotonic() + 120)
    [record] = result["tests"]
    stored = {artifact["name"]: artifact for artifact in record["artifacts"]}
    assert json.loads((store / stored["order"]["path"]).read_text()) == {"id": 7}
    assert stored["order"]["path"].endswith(".json") and stored["order"]["contentType"] == "application/json"
    assert (store / stored["note"]["path"]).read_text() == "shipped"


def slow_project(tmp_path: Path) -> Path:
    """A Playwright project with a quick test, a test that hangs, and one that leaves a process behind."""
    project = small_project(tmp_path / "slow", "import { defineConfig } from '@playwright/test';\n"
                            "export default defineConfig({ testDir: './tests', timeout: 0,"
                            " projects: [{ name: 'chromium' }] });\n")
    (project / "tests" / "slow.spec.ts").write_text("""
import { test } from '@playwright/test';
import { spawn } from 'child_process';
import * as fs from 'fs';

test('quick', async ({ page }) => {
  await page.setContent('<p>hi</p>');
});

test('leaves a process behind', async () => {
  const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  child.unref();
  fs.writeFileSync(`${process.env.HT_TEST_ARTIFACTS_OUTPUT_PATH}/pid.txt`, String(child.pid));
});

test('hangs', async ({ page }) => {
  await page.setContent('<p>waiting</p>');
  if (process.env.HANGS_MARKER) fs.writeFileSync(process.env.HANGS_MARKER, 'hanging');
  await new Promise(() => {});
});
""")
    return project


def test_deadline_stops_playwright_and_keeps_what_finished(tmp_path: Path, private_tmp: Path) -> None:
    project = slow_project(tmp_path)
    store = tmp_path / "store"
    before, processes = unit_dirs(), set(descendants())
    event = payload(project, store, [("slow.spec.ts", ("quick",)), ("slow.spec.ts", ("leaves a process behind",)),
                                     ("slow.spec.ts", ("hangs",))], timeout_ms=15_000)
    started = time.monotonic()
    result = execute(event, started + 15)
    elapsed = time.monotonic() - started
    assert elapsed < 25
    jsonschema.validate(result, RESULT_SCHEMA)
    assert result["status"] == "deadline"
    statuses = {tuple(t["titlePath"]): t["status"] for t in result["tests"]}
    assert statuses == {("quick",): "passed", ("leaves a process behind",): "passed", ("hangs",): "interrupted"}
    hung = next(t for t in result["tests"] if t["titlePath"] == ["hangs"])
    assert hung["outcome"] == "unexpected"
    pid_file = store / "units" / "unit1" / "custom" / "pid.txt"
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert set(descendants()) - processes == set()
    assert unit_dirs() - before == set()  # not even the profile of the Chromium that was stopped


def test_a_broken_config_gives_error_records_for_every_test(tmp_path: Path) -> None:
    project = small_project(tmp_path / "broken", "export default { testDir: './tests' ;\n")
    result = execute(payload(project, tmp_path / "store", [("a.spec.ts", ("x",)), ("a.spec.ts", ("y",))]),
                     time.monotonic() + 60)
    jsonschema.validate(result, RESULT_SCHEMA)
    assert result["status"] == "error"
    assert [t["status"] for t in result["tests"]] == ["error", "error"]
    message = result["tests"][0]["attempts"][0]["error"]["message"]
    assert "playwright.config.ts" in message


def test_invalid_payloads_are_answered_not_raised(tmp_path: Path) -> None:
    for event, fragment in [(None, "JSON object"), ({"runId": "r"}, "unit: expected an object"),
                            ({"runId": "r", "unit": {}}, "unit.tests: expected a list"),
                            ({"runner": "cobol", "unit": {}}, "'cobol' is not a runner this image has"),
                            ({**payload(DEMO, tmp_path, [("a", ("b",))]), "artifacts": {"kind": "ftp"}},
                             "unknown store")]:
        result = execute(event, time.monotonic() + 5)
        assert result["status"] == "error"
        assert fragment in result["error"]


def processes_mentioning(text: str, marker: str = "") -> list[int]:
    """Live processes whose command line contains text (and, if given, whose environment has marker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                environ = (entry / "environ").read_bytes().decode(errors="replace") if marker else ""
            except OSError:
                continue
            if text in cmdline and state != "Z" and marker in environ:
                found.append(int(entry.name))
    return found


def playwright_processes(marker: str) -> list[int]:
    """Playwright's main processes of this run: a warm host, or the command line with the wrapper config."""
    return processes_mentioning("warm_host.cjs", marker) + processes_mentioning("wrapper.config.cjs", marker)


def test_ctrl_c_stops_every_unit_and_leaves_nothing_running(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    project = slow_project(tmp_path)
    # Global hooks run once per run, and the global teardown runs after Ctrl-C too (as in Playwright).
    (project / "playwright.config.ts").write_text(
        "import { defineConfig } from '@playwright/test';\n"
        "export default defineConfig({ testDir: './tests', timeout: 0, globalSetup: './hooks.ts',"
        " globalTeardown: './teardown.ts', projects: [{ name: 'chromium' }] });\n")
    (project / "hooks.ts").write_text("import * as fs from 'fs';\nexport default async () => {"
                                      " fs.appendFileSync('hooks.log', 'setup\\n');"
                                      " return async () => fs.appendFileSync('hooks.log', 'returned\\n'); };\n")
    (project / "teardown.ts").write_text("import * as fs from 'fs';\n"
                                         "export default async () => fs.appendFileSync('hooks.log', 'teardown\\n');\n")
    marker = f"HT_TEST_MARKER={tmp_path}"  # inherited by every process of this run, and only of this run
    process = subprocess.Popen([sys.executable, str(ROOT / "entrypoint.py"), "invoke", "--grep", "hangs",
                                "--output", str(tmp_path / "out")], cwd=project, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "HT_TEST_MARKER": str(tmp_path),
                                    "HANGS_MARKER": str(tmp_path / "hanging")})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (tmp_path / "hanging").exists() and process.poll() is None:
        time.sleep(0.2)
    assert (tmp_path / "hanging").exists(), "the hanging test never started"
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, (out, err)
    result = load_results(tmp_path / "out")  # what ran is reported; the unfinished test is interrupted
    assert [(t["titlePath"], t["status"], t["outcome"]) for t in result["tests"]] == [
        (["hangs"], "interrupted", "unexpected")]
    assert result["exitCode"] == 130
    assert (result["stats"]["failed"], result["stats"]["interrupted"]) == (0, 1)  # interrupted, not failed
    assert "FAILED: 0 passed, 0 failed, 1 interrupted of 1 test in " in out
    assert {pid: describe(pid) for pid in playwright_processes(marker)} == {}
    # hypertest waited for its runners to clean up before it exited (none was orphaned)
    assert {pid: describe(pid) for pid in processes_mentioning("-m runner --serve-fd", marker)} == {}
    assert (project / "hooks.log").read_text().split() == ["setup", "returned", "teardown"]
    assert {pid: describe(pid) for pid in processes_mentioning("session.config.", marker)} == {}


def describe(pid: int) -> str:
    """A process's state, parent and command line, for assertion messages."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    return f"state {stat[0]} parent {stat[1]}: {cmdline[:160]}"


def test_the_merged_report_is_built_across_file_systems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A GitHub action's workspace is another mount than /tmp: blobs cannot be hard-linked there."""
    from hypertest.plugins.playwright import html_report

    result = execute(payload(DEMO, tmp_path / "run", [("page.spec.ts", ("has a title",))]), time.monotonic() + 120)
    assert result["blob"]

    def cross_device(source: object, target: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(html_report.os, "link", cross_device)
    index = html_report.merge_html_report(tmp_path / "run" / "blobs", tmp_path / "report", DEMO)
    assert index.is_file() and index.stat().st_size > 1000


def test_a_relative_project_folder_is_below_the_task_root_whatever_the_working_folder(tmp_path: Path,
                                                                                      monkeypatch: pytest.MonkeyPatch
                                                                                      ) -> None:
    from runner.environment import project_folder

    monkeypatch.chdir(tmp_path)  # an image's WORKDIR, which Lambda keeps as the working folder
    assert project_folder({"LAMBDA_TASK_ROOT": "/var/task"}, "project") == Path("/var/task/project")
    assert project_folder({"LAMBDA_TASK_ROOT": "/var/task", "HT_PROJECT_ROOT": "/copy"}, "project") == Path(
        "/copy/project")
    assert project_folder({}, "project") == tmp_path.resolve() / "project"
    assert project_folder({"LAMBDA_TASK_ROOT": "/var/task"}, "/abs/project") == Path("/abs/project")


def test_the_grep_pattern_matches_exactly_its_tests_in_nodes_own_regexp() -> None:
    """Checked by Node's RegExp (as Playwright's --grep builds it from a /.../ argument) against the title
    strings Playwright greps: project, file and titles joined by spaces, after the root's empty title or not,
    with each suite's and the test's own tags after its title (Playwright 1.42 and newer)."""
    from runner.node import find_node
    from runner.payload import TestRef
    from runner.playwright.selection import grep_pattern

    titles = ["regex .* (a|b) [x] ^$ \\d+ {2} a/b", "  padded  ", "arrow › inside", "line\nbreak",
              "unicode ünï 日本語 🎭", "quote ' \" ` $(x)", "slash / back \\ end"]
    cases = []
    for title in titles:
        pattern = grep_pattern([TestRef("id", "proj", "dir/a.spec.ts", ("outer", title))])
        grep_titles = [f"proj dir/a.spec.ts outer {title}", f" proj dir/a.spec.ts outer {title}",
                       f"proj dir/a.spec.ts outer @suite {title} @own @two"]
        others = [f"proj dir/a.spec.ts outer {title}x", f"proj dir/a.spec.ts {title}",
                  f"Proj dir/a.spec.ts outer {title}", f"proj dir/b.spec.ts outer {title}",
                  f"proj dir/a.spec.ts outer {title} tail", f"p proj dir/a.spec.ts outer {title}"]
        cases.append({"pattern": pattern, "match": grep_titles, "miss": others})
    both = grep_pattern([TestRef("1", "", "a.spec.ts", ("one",)), TestRef("2", "", "a.spec.ts", ("two",))])
    cases.append({"pattern": both, "match": [" a.spec.ts one", "  a.spec.ts two"], "miss": [" a.spec.ts three"]})
    script = """
    const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    const wrong = [];
    for (const c of cases) {
      const m = c.pattern.match(/^\\/(.*)\\/([gi]*)$/);  // how Playwright reads a /.../ --grep
      const re = new RegExp(m[1], m[2]);
      for (const s of c.match) if (!re.test(s)) wrong.push('no match: ' + JSON.stringify(s));
      for (const s of c.miss) if (re.test(s)) wrong.push('matched: ' + JSON.stringify(s));
    }
    process.stdout.write(JSON.stringify(wrong));
    """
    completed = subprocess.run([find_node(os.environ), "-e", script], input=json.dumps(cases), text=True,
                               capture_output=True, check=True, timeout=60)
    assert json.loads(completed.stdout) == []
    assert all("\n" not in case["pattern"] and case["pattern"].isascii() for case in cases)
