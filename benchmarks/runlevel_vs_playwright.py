"""Wall time of `hypertest invoke` against `playwright test --workers N` on a suite with run-level work.

benchmarks/runlevel_suite models a typical application suite: a webServer that "builds" for about
3 s before it listens, a `setup` project whose sign-in takes about 2 s (with a `teardown` project),
and 24 app tests of 0.5-3 s that depend on it. `playwright test` starts the server and signs in once
per run; a runner that starts one `playwright test` per unit pays for both in every unit unless it
does them once per run. hypertest runs once with one test per unit and once with one file per unit. Prints the wall
times, each ratio to Playwright's (target: at most 1.3), how often each run
started the web server and ran the sign-in (the server and the setup test append a line to the file
named by $BENCH_COUNTS), and hypertest's conclusion. A hypertest run that fails or crashes is
reported, not raised. Usage: python benchmarks/runlevel_vs_playwright.py [--workers N] [--suite DIR]
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.local_vs_playwright import benchmark_arguments, run_hypertest, run_playwright  # noqa: E402 - after the path is set

TARGET_RATIO = 1.3
DEFAULT_PORT = 39517
# The events server.cjs and the setup/teardown tests append to $BENCH_COUNTS, in print order.
EVENTS = ("server-start", "server-listening", "server-error", "setup", "teardown")


@dataclass
class RunFigures:
    """What one run of the suite did."""

    label: str
    seconds: float
    counts: Counter[str]
    outcome: str  # "passed", "failed", or what went wrong
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every test passed."""
        return self.outcome == "passed"


@contextmanager
def counting_into(path: Path) -> Iterator[None]:
    """Point $BENCH_COUNTS at a fresh, empty file for the runs inside (both runners copy os.environ)."""
    path.unlink(missing_ok=True)
    previous = os.environ.get("BENCH_COUNTS")
    os.environ["BENCH_COUNTS"] = str(path)
    try:
        yield
    finally:
        if previous is None:
            del os.environ["BENCH_COUNTS"]
        else:
            os.environ["BENCH_COUNTS"] = previous


def read_counts(path: Path) -> Counter[str]:
    """How often each event was recorded: the first word of each line."""
    if not path.is_file():
        return Counter()
    return Counter(line.split()[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def port_in_use(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port (Playwright would reuse it instead of starting the server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def measure_playwright(suite: Path, workers: int, chromium: str, counts_file: Path) -> RunFigures:
    """One `playwright test --workers N` run; its outcome comes from Playwright's test-results/.last-run.json."""
    last_run = suite / "test-results" / ".last-run.json"
    last_run.unlink(missing_ok=True)
    with counting_into(counts_file):
        seconds = run_playwright(suite, workers, chromium)
    figures = RunFigures(f"playwright test --workers {workers}", seconds, read_counts(counts_file), "no result")
    try:
        report: dict[str, Any] = json.loads(last_run.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        figures.outcome = f"no result ({exc})"
        return figures
    figures.outcome = str(report.get("status", "unknown"))
    failed = report.get("failedTests") or []
    if failed:
        figures.notes.append(f"{len(failed)} failed test(s)")
    return figures


def measure_hypertest(suite: Path, workers: int, output: Path, run_id: str, counts_file: Path, *,
                      granularity: str) -> RunFigures:
    """One `hypertest invoke --concurrency N` run; a crash, a timeout or a missing results.json is reported."""
    label = f"hypertest invoke --concurrency {workers} --granularity {granularity}"
    started = time.monotonic()
    with counting_into(counts_file):
        try:
            seconds, result = run_hypertest(suite, workers, output, run_id, [f"--granularity={granularity}"])
        except subprocess.TimeoutExpired as exc:
            return RunFigures(label, time.monotonic() - started, read_counts(counts_file),
                              f"timed out after {exc.timeout:.0f} s")
        except (OSError, ValueError) as exc:  # no results.json, or a malformed one
            return RunFigures(label, time.monotonic() - started, read_counts(counts_file),
                              f"no results.json ({type(exc).__name__}: {exc})")
    figures = RunFigures(label, seconds, read_counts(counts_file), str(result.get("conclusion", "unknown")))
    figures.notes.extend(_hypertest_notes(result))
    return figures


def _hypertest_notes(result: dict[str, Any]) -> list[str]:
    """Its stats, its units and the most common first lines of its errors."""
    notes = []
    stats = result.get("stats") or {}
    if stats:
        notes.append("stats: " + ", ".join(f"{key} {value}" for key, value in stats.items()))
    units = result.get("units") or []
    if units:
        unit_s = sum(unit.get("durationMs") or 0 for unit in units) / 1000
        failed_units = sum(1 for unit in units if unit.get("status") != "ok")
        notes.append(f"{len(units)} units, {unit_s:.1f} s inside units, {failed_units} unit(s) not ok")
    errors: Counter[str] = Counter()
    for test in result.get("tests") or []:
        if test.get("outcome") in ("unexpected", "flaky"):
            errors[_first_error_line(test)] += 1
    for message, times in errors.most_common(4):
        notes.append(f"{times} x {message}")
    if len(errors) > 4:
        notes.append(f"... and {len(errors) - 4} other error message(s)")
    return notes


def _first_error_line(test: dict[str, Any]) -> str:
    for attempt in reversed(test.get("attempts") or []):
        error = attempt.get("error") or {}
        for line in str(error.get("message") or "").splitlines():
            if line.strip():
                return _strip_ansi(line.strip())[:160]
    return f"status {test.get('status')}"


def _strip_ansi(text: str) -> str:
    out, skipping = [], False
    for char in text:
        if char == "\x1b":
            skipping = True
        elif skipping:
            skipping = not char.isalpha()
        else:
            out.append(char)
    return "".join(out)


def report(suite: Path, workers: int, playwright: RunFigures, hypertests: Sequence[RunFigures],
           write: Callable[[str], object] = print) -> None:
    """Print the runs side by side, with each hypertest run's ratio to Playwright's."""
    shown = suite.relative_to(ROOT) if suite.is_relative_to(ROOT) else suite
    write(f"suite: {shown}, N={workers}, {os.cpu_count()} CPUs")
    runs = [playwright, *hypertests]
    width = max(16, *(len(run.label) for run in runs))
    write(f"{'':{width}}  {'wall time':>9}  " + "  ".join(f"{event:>16}" for event in EVENTS) + "  outcome")
    for run in runs:
        write(f"{run.label:{width}}  {run.seconds:7.2f} s  "
              + "  ".join(f"{run.counts[event]:>16}" for event in EVENTS) + f"  {run.outcome}")
    for hypertest in hypertests:
        ratio = hypertest.seconds / playwright.seconds if playwright.seconds > 0 else float("nan")
        verdict = "within" if ratio <= TARGET_RATIO else "ABOVE"
        caveat = "" if playwright.passed and hypertest.passed else "; not comparable: not every run passed"
        write(f"ratio {hypertest.label} / playwright: {ratio:.2f}   ({verdict} the target <= {TARGET_RATIO}{caveat})")
    for run in runs:
        for note in run.notes:
            write(f"  {run.label}: {note}")


def main() -> int:
    """Warm up, run both, print the figures."""
    parsed = benchmark_arguments(__doc__, ROOT / "benchmarks" / "runlevel_suite")
    if parsed is None:
        return 2
    args, chromium = parsed
    suite = args.suite
    if not (suite / "node_modules" / "@playwright" / "test").is_dir():
        print(f"error: no @playwright/test in {suite}; run scripts/bootstrap.sh (or npm ci there)", file=sys.stderr)
        return 2
    port = int(os.environ.get("BENCH_PORT", DEFAULT_PORT))
    if port_in_use(port):
        print(f"warning: something already listens on port {port}; with reuseExistingServer the runs use it "
              "and start no server of their own", file=sys.stderr)
    if os.environ.get("CI"):
        print("warning: CI is set, so reuseExistingServer is off", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="ht-runlevel-") as scratch:
        folder = Path(scratch)
        run_playwright(suite, args.workers, chromium)  # warm caches (transform and compile caches, disk)
        playwright = measure_playwright(suite, args.workers, chromium, folder / "playwright.counts")
        hypertests = [measure_hypertest(suite, args.workers, folder / "results", f"runlevel-{granularity}",
                                        folder / f"hypertest-{granularity}.counts", granularity=granularity)
                      for granularity in ("test", "file")]
        if port_in_use(port):
            hypertests[-1].notes.append(f"something still listens on port {port} after the run (a server left behind)")
    report(suite, args.workers, playwright, hypertests)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
