"""A pytest plugin for `pytest --collect-only -q -p runner.pytest.collect_plugin`: writes the collected tests.

At the end of collection it writes JSON to the file named by HT_PYTEST_COLLECT_OUTPUT:
`{"rootdir", "pytestVersion", "python": {"executable", "version"}, "options": [...], "parallel": [...],
"items": [{"nodeId", "file", "line", "titlePath", "tags", "group"}], "errors": [{"nodeId", "message"}]}`.
`options` names the options a unit may add that this session declares (`output`: pytest-playwright's
--output, `reruns`: pytest-rerunfailures' --reruns, `numprocesses`: pytest-xdist's -n); `parallel` is what
the session asks of pytest-xdist for the whole run (`-n auto`, `--dist loadgroup`, ...), as given.
`file` is relative to the rootdir, '/'-separated; `line` is 1-based; `titlePath` names the classes and the
test (with its parameter id); `tags` are the test's marker names but pytest's own parametrize/usefixtures/
filterwarnings; `group` names tests that must run in one unit: the `xdist_group` marker's name, or the node
id of the class (or module) marked `hypertest_together`, else null. It registers the `hypertest_together`
marker, so `--strict-markers` suites accept it.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from runner.pytest import TOGETHER_MARKER, TOGETHER_MARKER_LINE

OUTPUT_VARIABLE = "HT_PYTEST_COLLECT_OUTPUT"
UNTAGGED_MARKERS = frozenset({"parametrize", "usefixtures", "filterwarnings"})
MESSAGE_LIMIT = 20_000
UNIT_OPTIONS = ("numprocesses", "output", "reruns")



def pytest_configure(config: pytest.Config) -> None:
    """Register the hypertest_together marker, and the collector of this session."""
    config.addinivalue_line("markers", TOGETHER_MARKER_LINE)
    config.pluginmanager.register(CollectionWriter(), "hypertest-collection-writer")


class CollectionWriter:
    """Remembers the collection errors of one session and writes the document at the end of collection."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """Remember a collector that failed (a syntax error, an import error) with its file:line."""
        if report.failed:
            self.errors.append({"nodeId": report.nodeid, "message": error_message(report)})

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Write the collected items and the collection errors to HT_PYTEST_COLLECT_OUTPUT."""
        target = os.environ.get(OUTPUT_VARIABLE)
        if not target:
            return
        rootdir = session.config.rootpath
        document = {
            "rootdir": str(rootdir),
            "pytestVersion": pytest.__version__,
            "python": {"executable": sys.executable, "version": platform.python_version()},
            "options": declared_options(session.config),
            "parallel": parallel_options(session.config),
            "items": [item_entry(item, rootdir) for item in session.items],
            "errors": self.errors,
        }
        Path(target).write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")


def declared_options(config: pytest.Config) -> list[str]:
    """Which of the options a unit may add (--output, --reruns, -n) this session's plugins declare."""
    return [name for name in UNIT_OPTIONS if hasattr(config.option, name)]


def parallel_options(config: pytest.Config) -> list[str]:
    """What the session asks of pytest-xdist for the whole run, as given (`-n auto`, not the CPU count)."""
    given = config.known_args_namespace
    asked = []
    workers = getattr(given, "numprocesses", None)
    if workers:
        asked.append(f"-n {workers}")
    dist = getattr(given, "dist", None)
    if dist and dist != "no":
        asked.append(f"--dist {dist}")
    if getattr(given, "distload", False):
        asked.append("-d")
    asked += [f"--tx {spec}" for spec in getattr(given, "tx", None) or ()]
    return asked


def item_entry(item: pytest.Item, rootdir: Path) -> dict[str, Any]:
    """What hypertest needs to know of one collected test."""
    return {
        "nodeId": item.nodeid,
        "file": _relative(item.path, rootdir),
        "line": (item.location[1] or 0) + 1,
        "titlePath": title_path(item),
        "tags": tags(item),
        "group": group(item),
    }


def title_path(item: pytest.Item) -> list[str]:
    """The names below the test's file: classes, then the test with its parameter id."""
    chain = item.listchain()
    files = [index for index, node in enumerate(chain) if isinstance(node, pytest.File)]
    start = files[-1] + 1 if files else len(chain) - 1
    return [node.name for node in chain[start:]]


def tags(item: pytest.Item) -> list[str]:
    """The test's marker names (its own, its class's and its module's), once each, in order."""
    names: list[str] = []
    for marker in item.iter_markers():
        if marker.name not in UNTAGGED_MARKERS and marker.name not in names:
            names.append(marker.name)
    return names


def group(item: pytest.Item) -> str | None:
    """The key of the tests this one must run with, or None."""
    xdist = item.get_closest_marker("xdist_group")
    if xdist is not None:
        name = xdist.kwargs.get("name", xdist.args[0] if xdist.args else None)
        if name is not None:
            return str(name)
    for node in reversed(item.listchain()[:-1]):
        if isinstance(node, (pytest.Class, pytest.Module)) and any(
                marker.name == TOGETHER_MARKER for marker in node.own_markers):
            return node.nodeid
    return None


def _relative(path: Path, rootdir: Path) -> str:
    try:
        return path.relative_to(rootdir).as_posix()
    except ValueError:
        return path.as_posix()


def error_message(report: pytest.CollectReport) -> str:
    """The collector's error: file:line (when one can be found) and the exception, then pytest's text."""
    text = report.longreprtext.strip()
    place = _location(text, report) or report.nodeid or "(collection)"
    raised = [line[1:].strip() for line in text.splitlines() if re.match(r"E\s+\w+(Error|Exception)\b", line)]
    headline = f"{place}: {raised[-1]}" if raised else f"{place}: {text.splitlines()[0] if text else 'error'}"
    return f"{headline}\n\n{text}"[:MESSAGE_LIMIT]


def _location(text: str, report: pytest.CollectReport) -> str | None:
    """file:line of the error: the last `File "...", line N` or `path:N:` that names the failing file."""
    file_part = report.nodeid.split("::", 1)[0]
    if not file_part:
        return None
    name = re.escape(Path(file_part).name)
    found = re.findall(rf'File "[^"]*{name}", line (\d+)', text) or re.findall(rf"{name}:(\d+)", text)
    return f"{file_part}:{found[-1]}" if found else None
