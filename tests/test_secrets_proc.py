"""Secrets out of reach of a hostile test: a test process that walks /proc reading every process's environment
it can (its parents' first), and every file the workflow's command-file variables name, finds no canary,
whether hypertest runs as the action or in a `run:` step, as root with Docker's default capabilities (the
action's container: no CAP_SYS_PTRACE, CAP_SYS_ADMIN or CAP_PERFMON), as a normal user, or as root with every
capability (there only the environment blocks are blank: such a test can still read hypertest's memory)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, small_project

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("setpriv"),
    reason="needs Linux, root and setpriv to run hypertest as the action's container does and as a normal user")

# Docker's default capability set (what the action's container has): no SYS_PTRACE, SYS_ADMIN, PERFMON.
DOCKER_CAPABILITIES = ("chown", "dac_override", "fsetid", "fowner", "mknod", "net_raw", "setgid", "setuid",
                       "setfcap", "setpcap", "net_bind_service", "sys_chroot", "kill", "audit_write")
SETTINGS = {
    "root in the action's container": ["setpriv", "--bounding-set=-all," + ",".join(f"+{cap}" for cap in
                                                                                    DOCKER_CAPABILITIES),
                                       "--inh-caps=-all", "--"],
    "a normal user": ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all", "--"],
    # root with CAP_SYS_PTRACE may open any process's environ and memory: the environment blocks are blank,
    # the memory is not (see runner/hardening.py)
    "root with every capability": [],
}
SECRET_VARIABLES = ("INPUT_GITHUB_TOKEN", "GITHUB_TOKEN", "GH_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                    "AWS_SESSION_TOKEN", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
FILE_VARIABLES = ("GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_STATE")

CONFIG = "export default { testDir: './tests', projects: [{ name: 'p' }] };\n"
HOSTILE = """import { test } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

const FILE_VARIABLES = FILE_VARIABLES_JSON;
const root = path.resolve(__dirname, '..');

function parentOf(pid: string): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
  } catch { return null; }
}

function commandOf(pid: string): string {
  try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').slice(0, 4).join(' '); }
  catch { return ''; }
}

function tryOpen(file: string): string {
  try { fs.closeSync(fs.openSync(file, 'r')); return 'opened'; } catch (e: any) { return e.code || 'refused'; }
}

test('reads every environment and command file it can reach', () => {
  const canaries: string[] = JSON.parse(fs.readFileSync(path.join(root, 'canaries.json'), 'utf8'));
  const found: string[] = [];
  const look = (text: string, where: string) => {
    for (const canary of canaries) if (text.includes(canary)) found.push(`${where} holds ${canary}`);
  };
  const files = new Map<string, string>();
  const collect = (entries: string[], where: string) => {
    for (const entry of entries) {
      const name = entry.slice(0, entry.indexOf('='));
      const value = entry.slice(name.length + 1);  // blank (NUL bytes, cut away) where hypertest blanked it
      if (FILE_VARIABLES.includes(name) && value) files.set(value, `${name} in ${where}`);
    }
  };
  look(JSON.stringify(process.env), 'process.env');
  collect(Object.entries(process.env).map(([k, v]) => `${k}=${v}`), 'process.env');
  let readable = 0;
  for (const pid of fs.readdirSync('/proc').filter((name) => /^[0-9]+$/.test(name))) {
    let text: string;
    try { text = fs.readFileSync(`/proc/${pid}/environ`, 'latin1'); } catch { continue; }
    readable++;
    look(text, `/proc/${pid}/environ`);
    collect(text.split('\\0'), `/proc/${pid}/environ`);
  }
  for (const [file, where] of files) {
    try { look(fs.readFileSync(file, 'latin1'), `${file} (${where})`); } catch { /* gone or refused */ }
  }
  const ancestors: Record<string, string>[] = [];
  for (let pid = parentOf(String(process.pid)); pid && pid !== '0'; pid = parentOf(pid)) {
    ancestors.push({ pid, command: commandOf(pid), environ: tryOpen(`/proc/${pid}/environ`),
                     mem: tryOpen(`/proc/${pid}/mem`) });
  }
  fs.writeFileSync(path.join(root, 'hostile-report.json'),
                   JSON.stringify({ found, readable, ancestors, files: [...files.values()] }));
});
""".replace("FILE_VARIABLES_JSON", json.dumps(FILE_VARIABLES))


@dataclass(frozen=True)
class Hostile:
    """The hostile project and the values the hostile test must not find."""

    workspace: Path
    project: Path
    canaries: dict[str, str]
    files: dict[str, Path]


def _interpreter_for(user_setting: list[str]) -> tuple[str, dict[str, str]] | None:
    """A Python a normal user can run with this project's packages: this one if its folders are open to
    everyone, else the system's of the same version with the virtual environment's site-packages on PYTHONPATH."""
    site = sysconfig.get_paths()["purelib"]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for python, extra in ((sys.executable, {}), (f"/usr/bin/{version}", {"PYTHONPATH": site})):
        if not Path(python).is_file():
            continue
        # hypertest starts its runners with sys.executable: the probe does too, as the user
        code = ("import subprocess, sys; sys.exit(subprocess.run([sys.executable, '-c', "
                "'import jsonschema, yaml, hypertest.cli'], timeout=60).returncode)")
        probe = subprocess.run([*user_setting, python, "-c", code],
                               cwd=ROOT, env={"PATH": os.environ.get("PATH", ""), **extra}, capture_output=True,
                               timeout=60, check=False)
        if probe.returncode == 0:
            return python, extra
    return None


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    """A workspace open to the normal user (outside pytest's private tmp folders), with the hostile project
    and the workflow's command files, each holding a canary in its name and its text."""
    tag = secrets.token_hex(6)
    workspace = Path(tempfile.mkdtemp(prefix="ht-secrets-proc-"))
    try:
        project = small_project(workspace / "e2e", CONFIG, {"tests/hostile.spec.ts": HOSTILE,
                                                                       "hypertest.yml": "concurrency: 1\n"})
        canaries = {name: f"canary-{name.lower().replace('_', '-')}-{tag}" for name in SECRET_VARIABLES}
        files = {}
        for name in FILE_VARIABLES:
            files[name] = workspace / "runner-files" / f"{name.lower()}-canary-{tag}"
            files[name].parent.mkdir(exist_ok=True)
            files[name].write_text(f"CANARY_IN_{name}=canary-file-{tag}\n")
        (project / "canaries.json").write_text(json.dumps([*canaries.values(), tag]))
        subprocess.run(["chown", "-R", "nobody:nogroup", str(workspace)], check=True, timeout=60)
        workspace.chmod(0o755)
        yield Hostile(workspace, project, canaries, files)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def _run_hypertest(hostile: Hostile, setting: list[str], mode: str) -> tuple[subprocess.CompletedProcess[str], int]:
    chosen = _interpreter_for(setting)
    if chosen is None:
        pytest.skip("no Python interpreter with this project's packages that the normal user can run")
    python, extra = chosen
    home, tmp = hostile.workspace / "home", hostile.workspace / "tmp"  # the user's own (Playwright's caches)
    for folder in (home, tmp):
        folder.mkdir(exist_ok=True)
        shutil.chown(folder, "nobody", "nogroup")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "TMPDIR": str(tmp), **extra,
           "GITHUB_ACTIONS": "true",
           "GITHUB_WORKSPACE": str(hostile.workspace), "GITHUB_RUN_ID": "7", "GITHUB_SHA": "abc",
           "GITHUB_EVENT_NAME": "push", **hostile.canaries,
           **{name: str(path) for name, path in hostile.files.items()}}
    if mode == "action":
        argv = [python, str(ROOT / "entrypoint.py")]
        env.update({"INPUT_COMMAND": "invoke", "INPUT_WORKING_DIRECTORY": "e2e", "INPUT_ARGS": "--output out",
                    "INPUT_CONCURRENCY": "1", "INPUT_COMMENT": "off"})
        cwd = hostile.workspace
    else:
        argv = [python, str(ROOT / "entrypoint.py"), "invoke", "--output", "out", "--concurrency", "1"]
        cwd = hostile.project
    process = subprocess.Popen([*setting, *argv], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        out, err = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate(timeout=30)
    return subprocess.CompletedProcess(argv, process.returncode, out, err), process.pid


def _report(hostile: Hostile, completed: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    path = hostile.project / "hostile-report.json"
    assert path.is_file(), completed.stdout + completed.stderr
    report: dict[str, Any] = json.loads(path.read_text())
    return report


@pytest.mark.e2e
@pytest.mark.parametrize("mode", ["action", "run-step"])
@pytest.mark.parametrize("setting", list(SETTINGS))
def test_a_hostile_test_finds_no_secret_in_any_process_or_command_file(hostile: Hostile, setting: str,
                                                                      mode: str) -> None:
    completed, hypertest_pid = _run_hypertest(hostile, SETTINGS[setting], mode)
    report = _report(hostile, completed)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    # The walk happened: the test read environments (its own runner's at least) and went up to hypertest.
    assert report["readable"] >= 1, report
    above = {entry["pid"]: entry for entry in report["ancestors"]}
    assert str(hypertest_pid) in above, (hypertest_pid, report["ancestors"])
    assert report["found"] == [], report["found"]
    assert report["files"] == [], "the test learned where the workflow's command files are"
    if SETTINGS[setting]:  # neither hypertest's nor its runner's environment or memory opens to the test
        runners = [entry for entry in report["ancestors"] if " -m runner " in f"{entry['command']} "]
        assert len(runners) == 1, report["ancestors"]
        for entry in (above[str(hypertest_pid)], runners[0]):
            assert entry["environ"] != "opened" and entry["mem"] != "opened", report["ancestors"]
