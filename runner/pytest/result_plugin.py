"""A pytest plugin (`-p runner.pytest.result_plugin`) that reports a unit's tests as JSON lines.

One line per test report phase, appended and flushed as each report arrives (a killed unit keeps what
finished), to the file named by HT_PYTEST_RESULTS_OUTPUT:

- `{"type": "start", "rootdir", "pytestVersion"}` when the session starts;
- `{"type": "collectError", "nodeId", "message"}` for each collector that failed;
- `{"type": "collected", "nodeIds": [...]}` when collection is done (after the suite's own deselection);
- `{"type": "report", "nodeId", "phase", "outcome", "attempt", "wasxfail", "xpassStrict", "longrepr",
  "crash", "skipReason", "duration", "start", "artifacts"}` for each setup/call/teardown report:
  outcome is pytest's passed/failed/skipped, or "rerun" (pytest-rerunfailures); attempt is the rerun
  index pytest-rerunfailures sets (null without it); artifacts are pytest-playwright's kept screenshots,
  traces and videos of the attempt (`{"kind", "path"}`, absolute paths);
- `{"type": "end", "exitStatus"}` when the session finishes.

It also registers the `hypertest_together` marker, and makes pytest-playwright launch the runner's
Chromium (runner/pytest/launch.py) by completing the `browser_type_launch_args` fixture's value,
whichever conftest or plugin defined it.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path
from typing import IO, Any

import pytest

from runner.json_text import utf8_json
from runner.pytest import RESULTS_VARIABLE, TOGETHER_MARKER_LINE
from runner.pytest.collect_plugin import error_message
from runner.pytest.launch import apply_chromium

OUTPUT_VARIABLE = RESULTS_VARIABLE
LONGREPR_LIMIT = 20_000
ARTIFACT_PREFIX = "playwright_"


def pytest_configure(config: pytest.Config) -> None:
    """Register the hypertest_together marker and, when HT_PYTEST_RESULTS_OUTPUT is set, the writer."""
    config.addinivalue_line("markers", TOGETHER_MARKER_LINE)
    target = os.environ.get(OUTPUT_VARIABLE)
    # With pytest-xdist the controller reports every worker's tests: writing on the workers too would
    # report each phase twice.
    if target and not hasattr(config, "workerinput"):
        config.pluginmanager.register(ResultWriter(Path(target), config), "hypertest-result-writer")


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Generator[
        None, Any, Any]:
    """Complete pytest-playwright's launch options with the runner's Chromium, after the suite's own."""
    value = yield
    if fixturedef.argname == "browser_type_launch_args" and isinstance(value, dict):
        apply_chromium(value, request.config.getoption("browser", default=None) or [], os.environ)
    return value


class ResultWriter:
    """Appends one JSON line per event of a session to a file, flushed at once."""

    def __init__(self, path: Path, config: pytest.Config) -> None:
        self.config = config
        self.handle: IO[str] | None = path.open("a", encoding="utf-8")

    def write(self, entry: dict[str, Any]) -> None:
        """Append entry as one line and flush it to the file."""
        if self.handle is None:
            return
        self.handle.write(utf8_json(entry, separators=(",", ":")) + "\n")
        self.handle.flush()

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Record that pytest started, with its rootdir."""
        self.write({"type": "start", "rootdir": str(session.config.rootpath), "pytestVersion": pytest.__version__})

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """Record a collector that failed."""
        if report.failed:
            self.write({"type": "collectError", "nodeId": report.nodeid, "message": error_message(report)})

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Record which tests pytest is about to run."""
        self.write({"type": "collected", "nodeIds": [item.nodeid for item in session.items]})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Record one phase of one test."""
        self.write(report_entry(report, self.config.invocation_params.dir))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Record the end of the session and its exit status, and close the file."""
        self.write({"type": "end", "exitStatus": int(exitstatus)})
        self.close()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Close the file (when the session did not finish)."""
        self.close()

    def close(self) -> None:
        """Close the file; later events are dropped."""
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def report_entry(report: pytest.TestReport, invocation_dir: Path) -> dict[str, Any]:
    """The JSON line of one test report phase."""
    wasxfail = getattr(report, "wasxfail", None)
    longrepr = report.longreprtext if report.outcome in ("failed", "rerun") or wasxfail is not None else ""
    return {
        "type": "report",
        "nodeId": report.nodeid,
        "phase": report.when,
        "outcome": report.outcome,
        "attempt": getattr(report, "rerun", None),
        "wasxfail": None if wasxfail is None else str(wasxfail),
        "xpassStrict": report.failed and isinstance(report.longrepr, str)
                       and report.longrepr.startswith("[XPASS(strict)]"),
        "longrepr": longrepr[:LONGREPR_LIMIT],
        "crash": _crash(report, invocation_dir),
        "skipReason": _skip_reason(report),
        "duration": report.duration,
        "start": report.start,
        "artifacts": _artifacts(report, invocation_dir),
    }


def _crash(report: pytest.TestReport, invocation_dir: Path) -> dict[str, Any] | None:
    """The exception's one-line message and where it was raised, when pytest has them."""
    if isinstance(report.longrepr, str) and report.longrepr:
        return {"message": report.longrepr[:LONGREPR_LIMIT], "path": None, "line": None}
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is None:
        return None
    path = Path(str(crash.path))
    return {"message": str(crash.message)[:LONGREPR_LIMIT],
            "path": str(path if path.is_absolute() else invocation_dir / path), "line": int(crash.lineno)}


def _skip_reason(report: pytest.TestReport) -> str | None:
    """Why a skipped phase was skipped (pytest's `Skipped: ` prefix removed)."""
    if report.outcome != "skipped" or not isinstance(report.longrepr, tuple):
        return None
    reason = str(report.longrepr[2])
    return reason.removeprefix("Skipped: ")


def _artifacts(report: pytest.TestReport, invocation_dir: Path) -> list[dict[str, str]]:
    """pytest-playwright's artifacts of this attempt (it lists them on the teardown report)."""
    found = []
    for name, value in report.user_properties:
        if isinstance(name, str) and name.startswith(ARTIFACT_PREFIX) and isinstance(value, str):
            path = Path(value)
            found.append({"kind": name.removeprefix(ARTIFACT_PREFIX),
                          "path": str(path if path.is_absolute() else invocation_dir / path)})
    return found
