"""A pytest suite's own keys of hypertest.yml (testRunner.python, args and paths, this plugin's schema
fragment), read from the test runner's settings and checked: the interpreter and every path must exist."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hypertest.core.config import TestRunnerSettings
from hypertest.errors import ConfigError


@dataclass(frozen=True)
class PytestSettings:
    """testRunner.python (absolute, its links kept: a virtualenv's python is a link), args, and paths (absolute),
    each with where it was set for messages."""

    python: Path | None = None
    args: tuple[str, ...] = ()
    paths: tuple[Path, ...] = ()
    python_origin: str = "testRunner.python"
    args_origin: str = "testRunner.args"


def pytest_settings(runner: TestRunnerSettings) -> PytestSettings:
    """The pytest keys of runner; a ConfigError naming file:line:column and the key when the interpreter or a
    path does not exist. python may lie outside the project: it is the config's explicit choice, and the
    suite's own code runs with it anyway."""
    options, base_dir = runner.options, runner.base_dir or runner.config.parent
    python = None
    if options.get("python") is not None:
        python = Path(os.path.normpath(base_dir / str(options["python"])))
        if not python.is_file() or not os.access(python, os.X_OK):
            state = "is not an executable file" if python.exists() else "does not exist"
            raise ConfigError(f"{runner.origin('python')}: {options['python']} {state} (looked at {python})",
                              hint="the path of a Python interpreter, relative to this file, for example "
                                   ".venv/bin/python")
    paths = []
    for index, configured in enumerate(options.get("paths", ())):
        path = Path(os.path.normpath(base_dir / str(configured)))
        if not path.exists():
            raise ConfigError(f"{runner.origin('paths', index)}: {configured} not found (looked at {path})",
                              hint="test files or folders, relative to this file")
        paths.append(path)
    return PytestSettings(python=python, args=tuple(str(arg) for arg in options.get("args", ())),
                          paths=tuple(paths), python_origin=runner.origin("python"),
                          args_origin=runner.origin("args"))
