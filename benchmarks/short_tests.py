"""Sixty tests of about half a second each (or the demo suite): hypertest (local) against `playwright test
--workers N`.

Most real suites are full of short tests, where each unit's start-up (runner, Playwright, worker,
browser) weighs most. The suite is generated in a temporary folder (six files of ten tests, each
test opening a page and waiting ~0.5 s), using the demo's node_modules; `--suite demo` runs the demo's
eight tests instead (with the demo's settings and Chromium named in the config). Side by side, in one run:

* `playwright test --workers N --reporter=dot,junit,html` (the anchor, writing the reports hypertest
  writes by default);
* `hypertest invoke --concurrency N`, one unit per test, each unit a cold `playwright test`
  (HT_WARM_RUNNER=0: the plain path);
* the same with the warm runner (each slot's runner keeps a Playwright host) but a new Playwright worker
  for each unit (HT_WARM_WORKER=0);
* the same with warm workers (the default: the host keeps a unit's clean worker, with its browser, for
  the next unit);
* `--granularity auto`, on the history the previous runs left.

Printed per way: wall seconds, CPU seconds of all processes (user + system of the command and everything it
started, browsers included, counted by a control group: benchmarks/cpu_meter.py), both
as ratios to the anchor, and for hypertest the units' own time per test (the sum of the units'
durations, as the runner measures them, divided by the tests): what Lambda would bill per test for the
same units in warm sandboxes, which run the same runner code the local slots run. Targets (issue 12):
<= 1.3x wall and <= 1.5x CPU with granularity test; unit time per test at least halved.

Usage: python benchmarks/short_tests.py [--workers 2] [--tests-per-file 10] [--suite short|demo]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.cpu_meter import run_measured  # noqa: E402 - after the path is set
from runner.node import find_node, find_playwright_cli  # noqa: E402

DEMO = ROOT / "examples" / "demo"
FILES = 6
CONFIG = """import { defineConfig } from '@playwright/test';
export default defineConfig({
  testDir: './tests',
  fullyParallel: true,
  reporter: 'dot',
  use: { headless: true, launchOptions: process.env.BENCH_CHROMIUM
    ? { executablePath: process.env.BENCH_CHROMIUM, args: ['--disable-gpu', '--disable-dev-shm-usage'] } : {} },
  projects: [{ name: 'chromium' }],
});
"""
SPEC = """import { test, expect } from '@playwright/test';
for (let i = 0; i < %d; i++) {
  test(`order %d-${i}`, async ({ page }) => {
    await page.setContent(`<h1>order ${i}</h1>`);
    await page.waitForTimeout(450);
    await expect(page.getByRole('heading')).toHaveText(`order ${i}`);
  });
}
"""


DEMO_CONFIG = """import { defineConfig, devices } from '@playwright/test';
export default defineConfig({
  testDir: './tests',
  fullyParallel: true,
  reporter: 'dot',
  use: { trace: 'retain-on-failure', launchOptions: process.env.BENCH_CHROMIUM
    ? { executablePath: process.env.BENCH_CHROMIUM, args: ['--disable-gpu', '--disable-dev-shm-usage'] } : {} },
  projects: [{ name: 'chromium', use: { ...devices['Desktop Chrome'] } }],
});
"""


def make_demo(folder: Path) -> Path:
    """The demo's tests and app in folder, with the demo's settings and the benchmark's Chromium."""
    folder.mkdir(parents=True)
    for name in ("tests", "app"):  # copies: Playwright resolves linked test files to where they really are
        shutil.copytree(DEMO / name, folder / name)
    (folder / "node_modules").symlink_to(DEMO / "node_modules")
    (folder / "playwright.config.ts").write_text(DEMO_CONFIG, encoding="utf-8")
    return folder


def make_suite(folder: Path, per_file: int) -> Path:
    """The generated suite in folder."""
    (folder / "tests").mkdir(parents=True)
    (folder / "node_modules").symlink_to(DEMO / "node_modules")
    (folder / "playwright.config.ts").write_text(CONFIG, encoding="utf-8")
    for number in range(FILES):
        (folder / "tests" / f"orders{number}.spec.ts").write_text(SPEC % (per_file, number), encoding="utf-8")
    return folder


def unit_time_per_test(output: Path, known: set[Path]) -> float:
    """Seconds of unit time per test of the run that wrote the one new run folder in output."""
    [run] = [folder for folder in output.iterdir() if folder.is_dir() and folder not in known]
    known.add(run)
    document = json.loads((run / "results.json").read_text(encoding="utf-8"))
    total_ms = sum(int(unit["durationMs"]) for unit in document["units"])
    return total_ms / 1000 / max(1, len(document["tests"]))


def main() -> int:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tests-per-file", type=int, default=10)
    parser.add_argument("--suite", choices=("short", "demo"), default="short")
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if not chromium:
        print("error: the benchmark needs /usr/bin/chromium (scripts/bootstrap.sh installs it)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="ht-short-") as scratch:
        suite = (make_demo(Path(scratch) / "suite") if args.suite == "demo"
                 else make_suite(Path(scratch) / "suite", args.tests_per_file))
        output = Path(scratch) / "results"
        env = {**os.environ, "FORCE_COLOR": "0"}
        # The anchor writes the reports hypertest writes by default (JUnit XML and the HTML report).
        playwright = [find_node(env), str(find_playwright_cli(suite)), "test", f"--workers={args.workers}",
                      "--reporter=dot,junit,html"]
        anchor_env = {**env, "BENCH_CHROMIUM": chromium, "PLAYWRIGHT_HTML_OPEN": "never",
                      "PLAYWRIGHT_HTML_OUTPUT_DIR": str(Path(scratch) / "anchor-report"),
                      "PLAYWRIGHT_JUNIT_OUTPUT_FILE": str(Path(scratch) / "anchor-junit.xml")}
        hypertest = [sys.executable, str(ROOT / "entrypoint.py"), "invoke", f"--concurrency={args.workers}",
                     f"--output={output}"]
        ways = [("hypertest, one unit per test, cold units", hypertest, {**env, "HT_WARM_RUNNER": "0"}),
                ("hypertest, one unit per test, warm runner, a new worker per unit", hypertest,
                 {**env, "HT_WARM_WORKER": "0"}),
                ("hypertest, one unit per test, warm runner and workers (the default)", hypertest, env),
                ("hypertest, granularity auto (history), the default", [*hypertest, "--granularity", "auto"], env)]
        wall, cpu, kind = run_measured(playwright, suite, anchor_env, label="anchor", timeout_s=1800)
        rows: list[tuple[str, tuple[float, float], float | None]] = [("playwright test", (wall, cpu), None)]
        known: set[Path] = set()
        for number, (name, argv, way_env) in enumerate(ways):
            wall, cpu, _ = run_measured(argv, suite, way_env, label=f"way{number}", timeout_s=1800)
            rows.append((name, (wall, cpu), unit_time_per_test(output, known)))
    anchor_wall, anchor_cpu = rows[0][1]
    what = ("the demo's 8 tests" if args.suite == "demo" else f"{FILES * args.tests_per_file} tests of ~0.5 s")
    print(f"{what}, {args.workers} workers / concurrency {args.workers}, {os.cpu_count()} CPUs, CPU by {kind}\n")
    print("| way | wall | CPU | wall ratio | CPU ratio | unit time per test |")
    print("|---|---|---|---|---|---|")
    for name, (wall, cpu), per_test in rows:
        billed = f"{per_test:.2f} s" if per_test is not None else "–"
        print(f"| {name} | {wall:.1f} s | {cpu:.1f} s | **{wall / anchor_wall:.2f}** | **{cpu / anchor_cpu:.2f}** "
              f"| {billed} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
