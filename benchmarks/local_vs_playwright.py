"""Wall time of `hypertest invoke` (local provider) against `playwright test --workers N` on one suite.

Prints both times, their ratio (target: at most 1.25 on the 2-core build machine), and where
hypertest's extra time goes. Usage: python benchmarks/local_vs_playwright.py [--workers N] [--suite DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runner.node import find_node, find_playwright_cli  # noqa: E402 - after the path is set


def run_playwright(suite: Path, workers: int, chromium: str) -> float:
    """Seconds `playwright test --workers N` takes on the suite (its config reads BENCH_CHROMIUM)."""
    env = {**os.environ, "BENCH_CHROMIUM": chromium, "SUITE_CHROMIUM": chromium, "FORCE_COLOR": "0"}
    argv = [find_node(env), str(find_playwright_cli(suite)), "test", f"--workers={workers}", "--reporter=dot"]
    started = time.monotonic()
    subprocess.run(argv, cwd=suite, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=1800)
    return time.monotonic() - started


def run_hypertest(suite: Path, workers: int, output: Path, run_id: str,
                  extra_args: Sequence[str] = ()) -> tuple[float, dict[str, Any]]:
    """Seconds `hypertest invoke --concurrency N [extra_args]` takes on the suite, and its results.json."""
    env = {k: v for k, v in os.environ.items() if k not in ("BENCH_CHROMIUM", "SUITE_CHROMIUM")}
    argv = [sys.executable, str(ROOT / "entrypoint.py"), "invoke", f"--concurrency={workers}",
            f"--output={output}", f"--run-id={run_id}", *extra_args]
    started = time.monotonic()
    subprocess.run(argv, cwd=suite, env=env, check=False, stdout=subprocess.DEVNULL, timeout=1800)
    elapsed = time.monotonic() - started
    return elapsed, json.loads((output / run_id / "results.json").read_text(encoding="utf-8"))


def benchmark_arguments(description: str | None, default_suite: Path) -> tuple[argparse.Namespace, str] | None:
    """--workers and --suite (resolved), and the system Chromium; None (after saying why) when it is missing."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--suite", type=Path, default=default_suite)
    args = parser.parse_args()
    args.suite = args.suite.resolve()
    chromium = shutil.which("chromium")
    if not chromium:
        print("error: the benchmark needs /usr/bin/chromium (scripts/bootstrap.sh installs it)", file=sys.stderr)
        return None
    return args, chromium


def main() -> int:
    """Run both, print the figures."""
    parsed = benchmark_arguments(__doc__, ROOT / "benchmarks" / "suite")
    if parsed is None:
        return 2
    args, chromium = parsed
    suite = args.suite
    with tempfile.TemporaryDirectory(prefix="ht-bench-") as scratch:
        run_playwright(suite, args.workers, chromium)  # warm caches (transform and compile caches, disk)
        playwright_s = run_playwright(suite, args.workers, chromium)
        first_s, _ = run_hypertest(suite, args.workers, Path(scratch), "first")  # no past durations yet
        hypertest_s, result = run_hypertest(suite, args.workers, Path(scratch), "second")  # longest first
    tests = result["tests"]
    test_s = sum(a["durationMs"] for t in tests for a in t["attempts"]) / 1000
    unit_s = sum(u["durationMs"] for u in result["units"]) / 1000
    print(f"suite: {suite.relative_to(ROOT) if suite.is_relative_to(ROOT) else suite}, "
          f"{len(tests)} tests, {len(result['units'])} units, N={args.workers}, {os.cpu_count()} CPUs")
    print(f"playwright test --workers {args.workers}: {playwright_s:7.2f} s")
    print(f"hypertest invoke, first run:  {first_s:7.2f} s   (discovery order: no past durations)")
    print(f"hypertest invoke, next run:   {hypertest_s:7.2f} s   (longest first; {result['conclusion']}, "
          f"{result['stats']['passed']} passed)")
    print(f"ratio hypertest / playwright:  {first_s / playwright_s:7.2f} first run, {hypertest_s / playwright_s:.2f} "
          "next runs   (target <= 1.25)")
    print(f"time inside tests: {test_s:.1f} s; inside units: {unit_s:.1f} s; "
          f"per-unit overhead: {(unit_s - test_s) / max(1, len(result['units'])):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
