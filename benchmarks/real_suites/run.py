"""Run public suites (benchmarks/real_suites/manifest.toml) with their own runner and with hypertest on this
machine, and compare them test by test.

Usage: python benchmarks/real_suites/run.py --corpus DIR [--only NAME]... [--work DIR] [--reruns N]

DIR/<name> must be a checkout of each suite at its pinned commit with its dependencies installed; this script
fetches, builds and installs nothing (a checkout that is not ready is named with what to prepare, and skipped).
For each suite it runs, one after the other, under `nice -n 10`:
  plain:     playwright test --workers 2 --reporter=json (the manifest's projects), or
             <the suite's python> -m pytest -n 2 --junitxml (the manifest's paths and args)
  hypertest: python entrypoint.py invoke --concurrency 2, with a hypertest.yml written into a temporary folder
             (testRunner.config points at the checkout's config; nothing is written into tracked files)
and prints outcomes matched / total, every mismatch with its cause (a known gap of issue 18 when its words
appear), and the wall and CPU time of each side (CPU of every process either starts, browsers included,
counted by a control group: benchmarks/cpu_meter.py). A mismatching test is run again plainly a few times
(bounded) to tell a genuinely flaky test from a difference of hypertest's.

Chromium: browsers cannot be downloaded here, so both sides get PLAYWRIGHT_BROWSERS_PATH pointing at a
temporary folder whose Chromium entries (the revisions the suite's Playwright asks for) are links to the
system's Chromium, and HT_CHROMIUM_PATH naming the same binary.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.cpu_meter import CpuMeter  # noqa: E402 - after the path is set
from benchmarks.real_suites.compare import (  # noqa: E402
    Comparison,
    Key,
    Mismatch,
    Outcome,
    UnitFigures,
    compare,
    hypertest_outcomes,
    known_gap,
    playwright_outcomes,
    pytest_outcomes,
    unit_figures,
)
from benchmarks.real_suites.manifest import Suite, load_manifest  # noqa: E402

WORKERS = 2
NICE = ("nice", "-n", "10")
# Links that cover every layout Playwright's registry has used for Chromium and its headless shell on Linux.
CHROMIUM_LINKS = ("chrome-linux/chrome", "chrome-linux64/chrome", "chrome-linux/headless_shell",
                  "chrome-headless-shell-linux64/chrome-headless-shell")


@dataclass
class Measured:
    """One command's end: exit code (None when it timed out), wall and CPU seconds, where its output went."""

    exit_code: int | None
    wall_s: float
    cpu_s: float
    cpu_kind: str
    log: Path


@dataclass(frozen=True)
class Place:
    """Where and how one suite runs: its checkout, its work folder, its environment."""

    suite: Suite
    folder: Path
    work: Path
    env: Mapping[str, str]


@dataclass
class SuiteResult:
    """Both runs of one suite and their comparison."""

    suite: Suite
    plain: Measured
    hyper: Measured
    comparison: Comparison
    run_level: str = ""  # why hypertest gave no results at all, when it did not
    notes: list[str] = field(default_factory=list)
    units: UnitFigures | None = None  # how hypertest's units ran (None without its results.json)


# ---------------------------------------------------------------- checkouts


def checkout_problem(suite: Suite, folder: Path) -> str:
    """What is missing for this suite's checkout to be run, in one line, or ""."""
    prepare = (f"check out {suite.repo} at {suite.commit} into {folder} and install its dependencies "
               f"as its own README says")
    if not (folder / ".git").exists():
        return f"{suite.name}: no checkout: {prepare}"
    head = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=False).stdout.strip()
    if head != suite.commit:
        return f"{suite.name}: checkout is at {head[:12] or 'no commit'}, not the pinned one: {prepare}"
    missing = [need for need in suite.needs if not (folder / need).exists()]
    if missing:
        return f"{suite.name}: {', '.join(missing)} missing (dependencies not installed): {prepare}"
    absent = [tool for tool in suite.tools if shutil.which(tool) is None]
    if absent:
        return f"{suite.name}: {', '.join(absent)} not on PATH (its config runs it): put it on PATH"
    return ""


def browsers_json(suite: Suite, folder: Path) -> Path | None:
    """The browsers.json of the Playwright the suite runs (Node's playwright-core, or the Python package's driver)."""
    if suite.runner == "playwright":
        modules = folder / "node_modules"
        candidates = (modules / "playwright-core",  # npm's flat layout; pnpm keeps it beside its dependents:
                      (modules / "@playwright" / "test").resolve().parent.parent / "playwright-core",
                      (modules / "playwright").resolve().parent / "playwright-core")
        return next((c / "browsers.json" for c in candidates if (c / "browsers.json").is_file()), None)
    python = folder / suite.python
    found = subprocess.run([str(python), "-c", "import playwright, pathlib; "
                            "print(pathlib.Path(playwright.__file__).parent / 'driver/package/browsers.json')"],
                           capture_output=True, text=True, check=False).stdout.strip()
    return Path(found) if found and Path(found).is_file() else None


def browsers_folder(where: Path, described: Path | None, chromium: str) -> Path:
    """A PLAYWRIGHT_BROWSERS_PATH whose Chromium revisions (as described lists them) are the system's Chromium."""
    where.mkdir(parents=True, exist_ok=True)
    if described is None:
        return where
    for browser in json.loads(described.read_text(encoding="utf-8")).get("browsers", []):
        if browser.get("name") not in ("chromium", "chromium-headless-shell"):
            continue
        folder = where / f"{str(browser['name']).replace('-', '_')}-{browser['revision']}"
        for link in CHROMIUM_LINKS:
            target = folder / link
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.symlink_to(chromium)
        for marker in ("INSTALLATION_COMPLETE", "DEPENDENCIES_VALIDATED"):
            (folder / marker).touch()
    return where


# ---------------------------------------------------------------- commands


def run_logged(argv: Sequence[str], cwd: Path, env: Mapping[str, str], log: Path, *, label: str,
               timeout_s: float) -> Measured:
    """Run a command under nice with its output in log: exit code, wall and CPU (every process it starts)."""
    meter = CpuMeter(label)
    try:
        started = time.monotonic()
        with log.open("wb") as output:
            try:
                code: int | None = subprocess.run([*NICE, *argv], cwd=cwd, env=dict(env), check=False,
                                                  stdout=output, stderr=subprocess.STDOUT, timeout=timeout_s,
                                                  preexec_fn=meter.preexec).returncode
            except subprocess.TimeoutExpired:
                code = None
        return Measured(code, time.monotonic() - started, meter.seconds(), meter.kind, log)
    finally:
        meter.close()


def playwright_argv(folder: Path, projects: Sequence[str], *extra: str) -> list[str]:
    """`playwright test` of the checkout's own Playwright, for these projects."""
    return [str(folder / "node_modules" / ".bin" / "playwright"), "test", *extra,
            *(f"--project={project}" for project in projects)]


def pytest_argv(suite: Suite, folder: Path, junit: Path, targets: Sequence[str], workers: int) -> list[str]:
    """The suite's own pytest with xdist's -n, JUnit XML that names files, and the manifest's args."""
    return [str(folder / suite.python), "-m", "pytest", "-n", str(workers), "-p", "no:cacheprovider",
            "--junitxml", str(junit), "-o", "junit_family=xunit1", *suite.args, *targets]


def run_plain(suite: Suite, folder: Path, work: Path, env: Mapping[str, str]) -> tuple[Measured, dict[Key, Outcome]]:
    """The suite with its own runner: its measure and its outcomes."""
    if suite.runner == "playwright":
        report = work / "plain-report.json"
        argv = playwright_argv(folder, suite.projects, f"--workers={WORKERS}", "--reporter=json")
        measured = run_logged(argv, folder, {**env, "PLAYWRIGHT_JSON_OUTPUT_NAME": str(report)},
                              work / "plain.log", label="plain", timeout_s=suite.timeout_s)
        outcomes = playwright_outcomes(json.loads(report.read_text(encoding="utf-8"))) if report.is_file() else {}
        return measured, outcomes
    junit = work / "plain-junit.xml"
    measured = run_logged(pytest_argv(suite, folder, junit, suite.paths, WORKERS), folder, env, work / "plain.log",
                          label="plain", timeout_s=suite.timeout_s)
    return measured, (pytest_outcomes(junit) if junit.is_file() else {})


def hypertest_config(suite: Suite, folder: Path, output: Path, granularity: str | None = None) -> dict[str, Any]:
    """The manifest's hypertest.yml, pointed at the checkout: its config, paths and python made absolute (and
    testRunner.granularity when given)."""
    document: dict[str, Any] = json.loads(json.dumps(suite.hypertest))  # a deep copy
    runner = document.setdefault("testRunner", {})
    if granularity:
        runner["granularity"] = granularity
    if suite.runner == "playwright":
        configs = sorted(folder.glob("playwright.config.*"))
        if configs:
            runner.setdefault("config", str(configs[0]))
    else:
        runner.setdefault("config", str(folder / "pytest.ini"))
        if "python" in runner:
            runner["python"] = str(folder / runner["python"])
        if "paths" in runner:
            runner["paths"] = [str(folder / path) for path in runner["paths"]]
    document.setdefault("output", str(output))
    document.setdefault("reporters", ["console", "junit"])
    return document


def run_hypertest(suite: Suite, folder: Path, work: Path, env: Mapping[str, str], python: str, *,
                  granularity: str | None = None) -> tuple[Measured, dict[str, Any] | None]:
    """The suite with hypertest (local provider): its measure and its results.json (None without one). Under
    `granularity: auto` with no history in the output folder yet, a first run (not measured) leaves the
    history a CI cache would keep between runs."""
    config = work / "hypertest" / "hypertest.yml"
    config.parent.mkdir(parents=True, exist_ok=True)
    output = work / "hypertest-results"
    shutil.rmtree(output / "corpus", ignore_errors=True)  # a reused --work: never read an earlier run's results
    config.write_text(yaml.safe_dump(hypertest_config(suite, folder, output, granularity), sort_keys=False),
                      encoding="utf-8")
    argv = [python, str(ROOT / "entrypoint.py"), "invoke", "--config", str(config), "--concurrency", str(WORKERS),
            *(f"--project={project}" for project in suite.projects)]
    if granularity == "auto" and not any((output / ".history").glob("*/*.json")):
        print(f"[{suite.name}] granularity auto: a first hypertest run to leave history ...", flush=True)
        run_logged([*argv, "--run-id", "history"], folder, env, work / "hypertest-history.log", label="history",
                   timeout_s=suite.timeout_s)
        shutil.rmtree(output / "history", ignore_errors=True)
    measured = run_logged([*argv, "--run-id", "corpus"], folder, env, work / "hypertest.log", label="hypertest",
                          timeout_s=suite.timeout_s)
    results = output / "corpus" / "results.json"
    if not results.is_file():
        return measured, None
    document: dict[str, Any] = json.loads(results.read_text(encoding="utf-8"))
    return measured, document


# ---------------------------------------------------------------- causes and reruns


def tail(path: Path, lines: int = 60) -> str:
    """The last lines of a log (or of the run session's log), "" when absent."""
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    return ""


def run_level_failure(measured: Measured, work: Path) -> str:
    """Why hypertest gave no results.json: its exit and the first error line, with the known gap if any."""
    log = tail(measured.log, 200) + "\n" + tail(work / "hypertest-results" / "corpus" / "run-session.log", 200)
    first = next((line.strip() for line in log.splitlines() if "error" in line.lower()), "no error line")
    gap = known_gap(log)
    return f"hypertest exited {measured.exit_code} without results.json: {first[:200]}" + (f" [{gap}]" if gap else "")


def rerun_plain(place: Place, mismatch: Mismatch, index: int) -> Outcome | None:
    """Run one test again alone with the plain runner: its outcome, None when it was not reported."""
    suite, folder, work, env = place.suite, place.folder, place.work, place.env
    project, file, titles, _ = mismatch.key
    target = work / f"rerun-{index}"
    if suite.runner == "playwright":
        line = mismatch.plain.line if mismatch.plain else (mismatch.hypertest.line if mismatch.hypertest else 0)
        report = target.with_suffix(".json")
        argv = playwright_argv(folder, [project], "--workers=1", "--reporter=json", f"{file}:{line}" if line else file)
        run_logged(argv, folder, {**env, "PLAYWRIGHT_JSON_OUTPUT_NAME": str(report)}, target.with_suffix(".log"),
                   label=f"rerun{index}", timeout_s=suite.timeout_s)
        outcomes = playwright_outcomes(json.loads(report.read_text(encoding="utf-8"))) if report.is_file() else {}
    else:
        junit = target.with_suffix(".xml")
        run_logged(pytest_argv(suite, folder, junit, ["::".join((file, *titles))], 0), folder, env,
                   target.with_suffix(".log"), label=f"rerun{index}", timeout_s=suite.timeout_s)
        outcomes = pytest_outcomes(junit) if junit.is_file() else {}
    return outcomes.get(mismatch.key)


def judge(mismatch: Mismatch, reruns: Sequence[Outcome | None]) -> str:
    """What the plain reruns say: genuinely flaky (they gave hypertest's verdict too), or hypertest's difference."""
    verdicts = ["/".join(rerun.verdict) if rerun else "not reported" for rerun in reruns]
    said = ", ".join(verdicts)
    hyper = mismatch.hypertest.verdict if mismatch.hypertest else None
    plain = mismatch.plain.verdict if mismatch.plain else None
    if hyper is not None and any(rerun and rerun.verdict == hyper for rerun in reruns):
        return f"genuinely flaky: plain reruns gave {said}"
    if plain is not None and all(rerun and rerun.verdict == plain for rerun in reruns):
        return f"hypertest's difference: plain reruns all agree with the plain run ({said})"
    return f"plain reruns vary ({said})"


def explain(place: Place, comparison: Comparison, *, reruns: int, max_tests: int) -> list[Mismatch]:
    """Each mismatch with its cause: the known gap its errors name, and plain reruns (bounded: every mismatch
    no known gap explains, and the first of each known gap, at most max_tests tests in all)."""
    explained: list[Mismatch] = []
    hyper_log = tail(place.work / "hypertest.log", 200)
    checked_gaps: set[str] = set()
    rerun_tests = 0
    for index, mismatch in enumerate(comparison.mismatches):
        errors = [outcome.error for outcome in (mismatch.hypertest, mismatch.plain) if outcome]
        gap = known_gap(*errors) or (known_gap(hyper_log) if mismatch.hypertest is None else "")
        parts = [gap or "no known gap named by the errors"]
        if mismatch.hypertest and mismatch.hypertest.error:
            parts.append(f"hypertest's error: {mismatch.hypertest.error.strip().splitlines()[0][:160]}")
        if rerun_tests < max_tests and reruns > 0 and (not gap or gap not in checked_gaps):
            checked_gaps.add(gap)
            rerun_tests += 1
            outcomes = [rerun_plain(place, mismatch, index * reruns + n) for n in range(reruns)]
            parts.append(judge(mismatch, outcomes))
        elif gap in checked_gaps:
            parts.append("not rerun: same known gap as a test rerun above")
        explained.append(Mismatch(mismatch.key, mismatch.plain, mismatch.hypertest, "; ".join(parts)))
    return explained


# ---------------------------------------------------------------- one suite, and the report


def environment(work: Path, suite: Suite, folder: Path, chromium: str) -> dict[str, str]:
    """This machine's environment, both sides' Chromium the system's, nothing that changes the suite's mode."""
    env = dict(os.environ)
    env["PLAYWRIGHT_BROWSERS_PATH"] = str(browsers_folder(work / "browsers", browsers_json(suite, folder), chromium))
    env["HT_CHROMIUM_PATH"] = chromium
    env["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    for name in ("CI", "PLAYWRIGHT_JSON_OUTPUT_NAME", "VIRTUAL_ENV"):
        env.pop(name, None)
    return env


def run_suite(suite: Suite, folder: Path, work: Path, *, chromium: str, python: str, reruns: int,
              max_rerun_tests: int, granularity: str | None = None) -> SuiteResult:
    """Plain, then hypertest, then the comparison and the causes of each mismatch."""
    work.mkdir(parents=True, exist_ok=True)
    env = environment(work, suite, folder, chromium)
    print(f"[{suite.name}] plain run ...", flush=True)
    plain, plain_outcomes = run_plain(suite, folder, work, env)
    print(f"[{suite.name}] hypertest run ...", flush=True)
    hyper, document = run_hypertest(suite, folder, work, env, python, granularity=granularity)
    hyper_outcomes = hypertest_outcomes(document) if document is not None else None
    comparison = compare(plain_outcomes, hyper_outcomes or {})
    result = SuiteResult(suite, plain, hyper, comparison, units=unit_figures(document) if document else None)
    if not plain_outcomes:
        result.notes.append(f"the plain run reported no test (exit {plain.exit_code}); see {plain.log}")
    if hyper_outcomes is None:
        result.run_level = run_level_failure(hyper, work)
        comparison.mismatches = [Mismatch(m.key, m.plain, m.hypertest, result.run_level)
                                 for m in comparison.mismatches]
    else:
        print(f"[{suite.name}] {len(comparison.mismatches)} mismatches: explaining ...", flush=True)
        comparison.mismatches = explain(Place(suite, folder, work, env), comparison, reruns=reruns,
                                        max_tests=max_rerun_tests)
    return result


def ratio(hyper: float, plain: float) -> str:
    """hyper / plain as ×N.NN, or – when plain is zero."""
    return f"×{hyper / plain:.2f}" if plain > 0 else "–"


def print_suite(result: SuiteResult, max_listed: int) -> None:
    """The suite's figures and mismatches, side by side."""
    suite, plain, hyper, comparison = result.suite, result.plain, result.hyper, result.comparison
    selection = ", ".join(suite.projects or suite.paths)
    print(f"\n== {suite.name}: {suite.repo} @ {suite.commit[:12]} ({suite.runner}: {selection}); "
          f"shapes: {', '.join(suite.shapes)}")
    print(f"   outcomes matched: {comparison.matched}/{comparison.total}"
          + (f" (+{sum(1 for m in comparison.mismatches if m.plain is None)} only in hypertest)"
             if any(m.plain is None for m in comparison.mismatches) else ""))
    print(f"   plain:     wall {plain.wall_s:6.1f} s, CPU {plain.cpu_s:6.1f} s, exit {plain.exit_code}  ({plain.log})")
    print(f"   hypertest: wall {hyper.wall_s:6.1f} s, CPU {hyper.cpu_s:6.1f} s, exit {hyper.exit_code}  "
          f"wall {ratio(hyper.wall_s, plain.wall_s)}, CPU {ratio(hyper.cpu_s, plain.cpu_s)}  ({hyper.log})")
    if result.units is not None:
        print(f"   {result.units.describe()}")
    for note in result.notes:
        print(f"   note: {note}")
    if result.run_level:
        print(f"   run-level: {result.run_level}")
    for mismatch in comparison.mismatches[:max_listed]:
        print(f"   - {mismatch.describe()}")
    if len(comparison.mismatches) > max_listed:
        print(f"   ... and {len(comparison.mismatches) - max_listed} more like them")


def print_table(results: Sequence[SuiteResult]) -> None:
    """One Markdown row per suite."""
    print("\n| suite | matched / total | plain wall, CPU | hypertest wall, CPU | ratios (wall, CPU) |")
    print("|---|---|---|---|---|")
    for result in results:
        plain, hyper = result.plain, result.hyper
        print(f"| {result.suite.name} | {result.comparison.matched} / {result.comparison.total} | "
              f"{plain.wall_s:.1f} s, {plain.cpu_s:.1f} s | {hyper.wall_s:.1f} s, {hyper.cpu_s:.1f} s | "
              f"{ratio(hyper.wall_s, plain.wall_s)}, {ratio(hyper.cpu_s, plain.cpu_s)} |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="folder holding one checkout per suite name")
    parser.add_argument("--only", action="append", default=[], help="run only this suite (repeatable)")
    parser.add_argument("--work", type=Path, help="where runs write (default: a new temporary folder)")
    parser.add_argument("--reruns", type=int, default=3, help="plain reruns of each mismatching test (default 3)")
    parser.add_argument("--max-rerun-tests", type=int, default=5, help="mismatching tests rerun per suite")
    parser.add_argument("--python", default=sys.executable, help="the Python that runs hypertest")
    parser.add_argument("--list-mismatches", type=int, default=25, help="mismatches printed per suite")
    parser.add_argument("--granularity", choices=("test", "file", "auto"),
                        help="hypertest's testRunner.granularity (auto: after a first run that leaves history)")
    options = parser.parse_args(argv)
    chromium = os.environ.get("HT_CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("error: no system Chromium (set HT_CHROMIUM_PATH)")
        return 2
    suites = [suite for suite in load_manifest() if not options.only or suite.name in options.only]
    work = options.work or Path(tempfile.mkdtemp(prefix="real-suites-"))
    print(f"real-suite corpus, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} at start; runs under nice -n 10, one suite at a time; work: {work}")
    results: list[SuiteResult] = []
    for suite in suites:
        folder = options.corpus.resolve() / suite.name
        problem = checkout_problem(suite, folder)
        if problem:
            print(f"skipped: {problem}")
            continue
        result = run_suite(suite, folder, work / suite.name, chromium=chromium, python=options.python,
                           reruns=options.reruns, max_rerun_tests=options.max_rerun_tests,
                           granularity=options.granularity)
        print_suite(result, options.list_mismatches)
        results.append(result)
    print_table(results)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end (the machine is shared: figures are under load)")
    return 0 if results and all(not r.comparison.mismatches for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
