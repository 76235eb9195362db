"""What tests/test_fresh_retries.py and tests/test_infra_retries.py share: records and unit results made by hand,
and one `hypertest invoke` of tests/fixtures/retry_suite with the retry settings given."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypertest.core.suite import TestCase, Unit
from runner.model import TestRecord, UnitResult, error_unit_result, make_attempt, ran_unit_result
from tests.conftest import DEMO, ROOT, load_results

RETRY_SUITE = ROOT / "tests" / "fixtures" / "retry_suite"


def case(name: str, serial_group: str | None = None) -> TestCase:
    """A test of project p in a.spec.ts."""
    return TestCase(id=f"t-{name}", project="p", file="a.spec.ts", line=1, column=1, title_path=(name,), tags=(),
                    expected_status="passed", serial_group=serial_group)


def record(test: TestCase, status: str, *, sandbox: str = "local pid 1", outcome: str | None = None) -> TestRecord:
    """A runner's record of one attempt of test, with a screenshot of it."""
    expected = status in ("passed", "skipped")
    return {"id": test.id, "project": test.project, "file": test.file, "line": 1, "column": 1,
            "titlePath": list(test.title_path), "status": status, "expectedStatus": "passed",
            "outcome": outcome or ("expected" if expected else "unexpected"), "annotations": [],
            "attempts": [{**make_attempt(status=status), "sandbox": sandbox}],
            "artifacts": [{"name": "screenshot", "path": f"{test.id}/attempt-0/00-shot.png",
                           "contentType": "image/png", "attempt": 0}]}


def ok_result(unit: Unit, records: list[TestRecord]) -> UnitResult:
    """A unit its test runner ran to its end."""
    return ran_unit_result(run_id="r", unit_id=unit.id, status="ok", error=None, exit_code=0, tests=records,
                           blob=None, unrequested=0, output_tail="")


def lost_result(unit: Unit, message: str, **extra: Any) -> UnitResult:
    """A unit the infrastructure lost, its tests' records as core makes them (error, the unit's message)."""
    result = error_unit_result(message, unit_id=unit.id)
    result["tests"] = [{**record(test, "error"), "artifacts": []} for test in unit.tests]
    return {**result, **extra}  # type: ignore[typeddict-item]


@dataclass(frozen=True)
class Run:
    """One `hypertest invoke` of the retry suite: its exit code, output and results.json."""

    code: int
    output: str
    run_dir: Path
    results: dict[str, Any]

    def test(self, title: str) -> dict[str, Any]:
        """The record of the test with this title."""
        [found] = [t for t in self.results["tests"] if t["titlePath"][-1] == title]
        return found


def invoke_retry_suite(base: Path, settings: str, grep: str) -> Run:
    """Run the retry suite's tests matching grep on the local provider, with settings (YAML lines: top-level
    keys and, indented by two, testRunner's) and a fresh state folder."""
    folder = base / "suite"
    shutil.copytree(RETRY_SUITE, folder)
    (folder / "node_modules").symlink_to(DEMO / "node_modules")
    state = base / "state"
    state.mkdir()
    runner_lines = "\n".join(line for line in settings.splitlines() if line.startswith("  "))
    top_lines = "\n".join(line for line in settings.splitlines() if line and not line.startswith("  "))
    (folder / "hypertest.yml").write_text(f"testRunner:\n  type: playwright\n  grep: {grep!r}\n{runner_lines}\n"
                                          f"{top_lines}\nconcurrency: 2\n")
    env = {k: v for k, v in os.environ.items() if k not in ("CI",)}
    env.update({"RETRY_STATE": str(state), "FORCE_COLOR": "0"})
    out = base / "out"
    completed = subprocess.run([sys.executable, str(ROOT / "entrypoint.py"), "invoke", "--output", str(out)],
                               cwd=folder, env=env, check=False, capture_output=True, text=True, timeout=600)
    results = load_results(out)
    run_dir = next(p for p in out.iterdir() if (p / "results.json").is_file())
    return Run(completed.returncode, completed.stdout + completed.stderr, run_dir, results)
