"""The pytest runner's part of the invocation payload: which node ids of which project one unit runs.

`{"projectDir": "/abs/path" (or relative to HT_PROJECT_ROOT), "configFile": "pytest.ini" (optional, relative
to projectDir: pytest's -c), "tests": [{"id", "nodeId", "file", "line", "titlePath"}], "retries": int | null,
"args": [str, ...], "python": "/abs/bin/python" (optional: the interpreter; default the runner's own),
"options": [str, ...] (optional: the options discovery found declared, of `output`, `reruns`, `numprocesses`;
default: looked up in the runner's own interpreter, without numprocesses), "paths": [str, ...] (optional: the
test paths discovery collected, relative to projectDir: what a warm server imports ahead)}`. Other keys (the
runner's own: runId, unitId, artifacts...) are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class UnitPayloadError(ValueError):
    """A unit payload that does not have the shape the pytest runner needs."""


@dataclass(frozen=True)
class RequestedTest:
    """One requested test: its stable id, its pytest node id, and where it is."""

    id: str
    node_id: str
    file: str
    line: int
    title_path: tuple[str, ...]


@dataclass(frozen=True)
class PytestUnit:
    """Everything the pytest runner needs for one unit."""

    project_dir: str
    config_file: str | None
    tests: tuple[RequestedTest, ...]
    retries: int | None
    args: tuple[str, ...]
    python: str | None = None
    options: tuple[str, ...] | None = None
    paths: tuple[str, ...] = ()


def parse_unit(unit: Mapping[str, Any]) -> PytestUnit:
    """Validate the plugin-owned part of the payload, naming the first bad field."""
    if not isinstance(unit, Mapping):
        raise UnitPayloadError("the unit must be a JSON object")
    project_dir = unit.get("projectDir")
    if not isinstance(project_dir, str) or not project_dir or "\0" in project_dir:
        raise UnitPayloadError("projectDir: expected a non-empty path")
    config_file = unit.get("configFile")
    if config_file is not None and (not isinstance(config_file, str) or not config_file or "\0" in config_file):
        raise UnitPayloadError("configFile: expected null or a path relative to projectDir")
    tests = unit.get("tests")
    if not isinstance(tests, list) or not tests:
        raise UnitPayloadError("tests: expected a non-empty list")
    parsed = tuple(_test(entry, index) for index, entry in enumerate(tests))
    ids = [test.id for test in parsed]
    if len(set(ids)) != len(ids):
        raise UnitPayloadError("tests: two tests have the same id")
    retries = unit.get("retries")
    if retries is not None and (not isinstance(retries, int) or isinstance(retries, bool) or retries < 0):
        raise UnitPayloadError("retries: expected null or a non-negative integer")
    args = unit.get("args", [])
    if args is None:
        args = []
    if not isinstance(args, list) or not all(isinstance(arg, str) and "\0" not in arg for arg in args):
        raise UnitPayloadError("args: expected a list of strings")
    python = unit.get("python")
    if python is not None and (not isinstance(python, str) or not Path(python).is_absolute() or "\0" in python):
        raise UnitPayloadError("python: expected null or an absolute path")
    options = unit.get("options")
    if options is not None and (not isinstance(options, list) or not all(isinstance(o, str) for o in options)):
        raise UnitPayloadError("options: expected null or a list of strings")
    paths = unit.get("paths", [])
    if not isinstance(paths, list) or not all(isinstance(path, str) and path and "\0" not in path for path in paths):
        raise UnitPayloadError("paths: expected a list of paths")
    return PytestUnit(project_dir=project_dir, config_file=config_file, tests=parsed, retries=retries,
                      args=tuple(args), python=python, options=None if options is None else tuple(options),
                      paths=tuple(paths))


def _test(entry: Any, index: int) -> RequestedTest:
    where = f"tests[{index}]"
    if not isinstance(entry, Mapping):
        raise UnitPayloadError(f"{where}: expected an object")
    test_id, node_id, file = entry.get("id"), entry.get("nodeId"), entry.get("file")
    if not isinstance(test_id, str) or not test_id:
        raise UnitPayloadError(f"{where}.id: expected a non-empty string")
    if not isinstance(node_id, str) or not node_id or "\0" in node_id:
        raise UnitPayloadError(f"{where}.nodeId: expected a non-empty string")
    if not isinstance(file, str):
        raise UnitPayloadError(f"{where}.file: expected a string")
    line = entry.get("line", 0)
    if not isinstance(line, int) or isinstance(line, bool) or line < 0:
        raise UnitPayloadError(f"{where}.line: expected a non-negative integer")
    title_path = entry.get("titlePath")
    if not isinstance(title_path, list) or not title_path or not all(isinstance(t, str) for t in title_path):
        raise UnitPayloadError(f"{where}.titlePath: expected a non-empty list of strings")
    return RequestedTest(id=test_id, node_id=node_id, file=file, line=line, title_path=tuple(title_path))
