"""Where one unit's time goes: wall and CPU seconds of each phase of a one-test unit, measured on this
machine by running growing pieces of it and taking differences (medians of --repeat runs, warm caches).

Phases: runner start (Python imports), Playwright CLI and config load (TS transform), worker start,
browser launch, the test itself, and hypertest's own rest (payload, wrapper config, artifacts, blob,
result), of a cold unit (a new `python -m runner` running `playwright test`, HT_WARM_RUNNER=0). The anchor is
the same test under plain `playwright test`. Then the warm runner and browser (issue 12 items 2 and 3):
units run one after another in one process, as in a warm Lambda sandbox or a local slot's runner, in turn
cold (HT_WARM_RUNNER=0), in the process's warm Playwright host, and in the host with the process's browser
server (HT_WARM_BROWSER=1); CPU counts the process, its children, the host's and the server's processes. Usage:
python benchmarks/unit_phases.py [--repeat N] [--warm-only]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runner.node import find_node, find_playwright_cli  # noqa: E402 - after the path is set

CONFIG = """import { defineConfig } from '@playwright/test';
export default defineConfig({ testDir: './tests', reporter: 'dot',
  use: { launchOptions: { executablePath: process.env.BENCH_CHROMIUM || undefined } } });
"""
TESTS = """import { test, expect } from '@playwright/test';
test('nothing', () => {});
test('a page', async ({ page }) => {});
test('a short test', async ({ page }) => {
  await page.setContent('<button onclick="this.textContent = \\'done\\'">go</button>');
  await page.getByRole('button').click();
  await expect(page.getByRole('button')).toHaveText('done');
});
"""
Measure = tuple[float, float]  # wall seconds, CPU seconds of the child processes


def measured(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> Measure:
    """Wall and CPU (user + system of the processes it started) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    subprocess.run(list(argv), cwd=cwd, env=env, check=False, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=600)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_of(repeat: int, run: Callable[[], Measure]) -> Measure:
    """The median wall and CPU of repeat runs, after one warm-up run."""
    run()
    runs = [run() for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def project(folder: Path) -> Path:
    """A small Playwright project on the demo's node_modules: one file with the three tests."""
    (folder / "tests").mkdir(parents=True)
    (folder / "node_modules").symlink_to(ROOT / "examples" / "demo" / "node_modules")
    (folder / "playwright.config.ts").write_text(CONFIG)
    (folder / "tests" / "unit.spec.ts").write_text(TESTS)
    return folder


def unit_payload(folder: Path, store: Path, title: str, run: int) -> Path:
    """A runner payload for the one test titled title."""
    ref = {"project": "", "file": "unit.spec.ts", "titlePath": [title]}
    path = store.parent / f"payload-{run}.json"
    path.write_text(json.dumps({"runner": "playwright", "runId": f"bench{run}", "unitId": "u1",
                                "projectDir": str(folder), "timeoutMs": 120_000,
                                "artifacts": {"kind": "local", "root": str(store / f"r{run}")},
                                "unit": {"tests": [{**ref, "id": "t1"}], "selectors": [ref],
                                         "configFile": "playwright.config.ts", "retries": None}}))
    return path


def _process_cpu_s(pid: int) -> float:
    """User + system seconds of pid and of its reaped children (0 when it is gone)."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(")") + 2:].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


# The kinds of unit the warm comparison alternates, and their switches.
KINDS = {
    "cold": ("each unit a cold `playwright test` (HT_WARM_RUNNER=0)", {"HT_WARM_RUNNER": "0", "HT_WARM_BROWSER": "0"}),
    "runner": ("warm runner: the process's Playwright host", {"HT_WARM_RUNNER": "1", "HT_WARM_BROWSER": "0"}),
    "both": ("warm runner and warm browser (HT_WARM_BROWSER=1)", {"HT_WARM_RUNNER": "1", "HT_WARM_BROWSER": "1"}),
}


def units_in_one_process(folder: Path, store: Path, rounds: int) -> dict[str, list[Measure]]:
    """Run one-test units one after another in this process (a warm sandbox), the kinds of KINDS in turn
    (the order rotating each round), after a warm-up unit of each; wall and CPU of each measured unit, by
    kind. CPU counts this process, its reaped children, and the warm host's and browser server's processes."""
    from runner import browser_server, warm_host
    from runner.entry import execute

    browser_server.hold_between_invocations()

    def kept_cpu() -> float:
        server = browser_server.held_server()
        pids = [*(server.processes() if server is not None else []), *warm_host.held_pids()]
        return sum(_process_cpu_s(pid) for pid in pids)

    measures: dict[str, list[Measure]] = {kind: [] for kind in KINDS}
    names = list(KINDS)
    try:
        for round_number in range(rounds + 1):
            order = names[round_number % len(names):] + names[:round_number % len(names)]
            for kind in order:
                run = len(measures[kind]) + round_number * 10
                event = json.loads(unit_payload(folder, store, "a short test", run).read_text())
                event["runId"] = "bench"  # one run: its units may share a host
                env = {**os.environ, **KINDS[kind][1]}
                before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
                kept_before, started = kept_cpu(), time.monotonic()
                result = execute(event, time.monotonic() + 120, env)
                wall = time.monotonic() - started
                after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = sum((a.ru_utime - b.ru_utime) + (a.ru_stime - b.ru_stime)
                          for a, b in zip(after, before, strict=True))
                if result["tests"][0]["status"] != "passed":
                    raise RuntimeError(f"the benchmark's test did not pass: {result['tests'][0]}")
                if round_number > 0:  # the first round warms up (the host and the server start in it)
                    measures[kind].append((wall, cpu + max(0.0, kept_cpu() - kept_before)))
    finally:
        warm_host.stop_held()
        browser_server.stop_held()
    return measures


def warm_comparison(folder: Path, scratch: Path, repeat: int) -> dict[str, Measure]:
    """Median per-unit wall and CPU of repeat units of each kind, in turn in one process."""
    completed = subprocess.run(
        [sys.executable, __file__, "--units-in-one-process", str(folder), str(repeat)],
        cwd=scratch, check=True, capture_output=True, text=True, timeout=1200,
        env={**os.environ, "PYTHONPATH": str(ROOT), "HT_CHROMIUM_PATH": shutil.which("chromium") or ""})
    runs = json.loads(completed.stdout)
    return {name: (statistics.median(r[0] for r in measured), statistics.median(r[1] for r in measured))
            for name, measured in runs.items()}


def print_warm(figures: dict[str, Measure], repeat: int) -> None:
    """The warm comparison as a small table."""
    print(f"\none-test units one after another in one process (a warm sandbox); medians of {repeat} of each")
    print(f"{'':<56} {'wall s':>7} {'CPU s':>7}")
    for kind, (label, _) in KINDS.items():
        print(f"{label:<56} {figures[kind][0]:7.2f} {figures[kind][1]:7.2f}")
    for kind in ("runner", "both"):
        saved = figures["cold"][0] - figures[kind][0], figures["cold"][1] - figures[kind][1]
        print(f"{'saved per unit: ' + kind:<56} {saved[0]:7.2f} {saved[1]:7.2f}")


def main() -> int:
    """Measure each piece, print the phases side by side with plain Playwright's run of the same test."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warm-only", action="store_true", help="only the warm runner and browser comparison")
    parser.add_argument("--units-in-one-process", nargs=2, metavar=("FOLDER", "ROUNDS"),
                        help=argparse.SUPPRESS)  # the child process of the warm comparison
    args = parser.parse_args()
    if args.units_in_one_process:
        folder, rounds = args.units_in_one_process
        print(json.dumps(units_in_one_process(Path(folder), Path(folder).parent / "store-in-process", int(rounds))))
        return 0
    chromium = shutil.which("chromium")
    if not chromium:
        print("error: the benchmark needs /usr/bin/chromium (scripts/bootstrap.sh installs it)", file=sys.stderr)
        return 2
    if args.warm_only:
        with tempfile.TemporaryDirectory(prefix="ht-phases-") as scratch:
            folder = project(Path(scratch) / "project")
            print_warm(warm_comparison(folder, Path(scratch), args.repeat), args.repeat)
        return 0
    with tempfile.TemporaryDirectory(prefix="ht-phases-") as scratch:
        folder = project(Path(scratch) / "project")
        env = {**os.environ, "BENCH_CHROMIUM": chromium, "HT_CHROMIUM_PATH": chromium, "FORCE_COLOR": "0"}
        cli = [find_node(env), str(find_playwright_cli(folder)), "test"]

        def playwright(title: str) -> Measure:
            return measured([*cli, "--workers=1", "-g", title], folder, env)  # the titles are unique

        counter = iter(range(10_000))

        def hypertest_unit() -> Measure:
            payload = unit_payload(folder, Path(scratch) / "store", "a short test", next(counter))
            return measured([sys.executable, "-m", "runner", "--payload", str(payload), "--result",
                             str(payload.with_suffix(".result.json"))], Path(scratch),
                            {**env, "PYTHONPATH": str(ROOT), "HT_WARM_RUNNER": "0"})

        pieces = {
            "runner imports": median_of(args.repeat, lambda: measured(
                [sys.executable, "-c", "import runner.entry, runner.core"], folder, {**env, "PYTHONPATH": str(ROOT)})),
            "list": median_of(args.repeat, lambda: measured([*cli, "--list"], folder, env)),
            "nothing": median_of(args.repeat, lambda: playwright("nothing")),
            "a page": median_of(args.repeat, lambda: playwright("a page")),
            "a short test": median_of(args.repeat, lambda: playwright("a short test")),
            "unit": median_of(args.repeat, hypertest_unit),
        }
        warm = warm_comparison(folder, Path(scratch), args.repeat)

    def minus(a: str, b: str) -> Measure:
        return pieces[a][0] - pieces[b][0], pieces[a][1] - pieces[b][1]

    phases = [
        ("runner start (Python, imports)", pieces["runner imports"]),
        ("Playwright CLI and config load", pieces["list"]),
        ("worker start (and an empty test)", minus("nothing", "list")),
        ("browser launch (and a page)", minus("a page", "nothing")),
        ("the test itself", minus("a short test", "a page")),
        ("hypertest's rest: wrapper, artifacts, blob, result",
         (pieces["unit"][0] - pieces["a short test"][0] - pieces["runner imports"][0],
          pieces["unit"][1] - pieces["a short test"][1] - pieces["runner imports"][1])),
    ]
    print(f"one short test, {os.cpu_count()} CPUs, medians of {args.repeat} runs (warm caches)")
    print(f"{'phase':<52} {'wall s':>7} {'CPU s':>7}")
    for name, (wall, cpu) in phases:
        print(f"{name:<52} {wall:7.2f} {cpu:7.2f}")
    unit_wall, unit_cpu = pieces["unit"]
    anchor_wall, anchor_cpu = pieces["a short test"]
    print(f"{'hypertest unit (python -m runner), total':<52} {unit_wall:7.2f} {unit_cpu:7.2f}")
    print(f"{'plain playwright test -g (same test), total':<52} {anchor_wall:7.2f} {anchor_cpu:7.2f}")
    print(f"ratio: wall {unit_wall / anchor_wall:.2f}x, CPU {unit_cpu / anchor_cpu:.2f}x")
    print_warm(warm, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
