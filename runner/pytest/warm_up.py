"""Warm up a slot for a run's pytest units while the run still discovers its tests: the fork server the first
unit would start (runner/pytest/warm.py) is started now, with the unit's own key, and kept for the units."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.environment import child_environment
from runner.pytest.interpreter import activated
from runner.pytest.payload import PytestUnit, parse_unit
from runner.pytest.unit import interpreter, unit_command
from runner.pytest.warm import warm_up as start_server

WARM_UP_S = 120.0
PROBE_TIMEOUT_S = 30.0
# The unit options a plugin declares, by the module that declares it (as discovery reports them).
OPTION_MODULES = (("output", "pytest_playwright"), ("reruns", "pytest_rerunfailures"), ("numprocesses", "xdist"))
PROBE = ("import importlib.util, sys\n"
         "print(' '.join(o for o, m in zip(sys.argv[1::2], sys.argv[2::2]) if importlib.util.find_spec(m)))")


def warm_up(unit: Mapping[str, Any], run_id: str, environ: Mapping[str, str]) -> str:
    """Start the fork server a unit like this one would use; what happened, in words. With a bundle
    (HT_BUNDLE_DIR) that is the units' server: it imports from the project copy with the bundle laid over it,
    and is keyed by the bundle (unit_command does both, as for a unit)."""
    request = parse_unit(unit)
    if environ.get("HT_COPY_PROJECT") == "1":
        return "no warm pytest server (each unit has its own copy of the project)"
    if request.options is None:  # before discovery: the options the suite's interpreter has the plugins for
        request = dataclasses.replace(request, options=declared_options(request, environ))
    work = Path(tempfile.mkdtemp(prefix="ht-pytest-warm-up-"))
    try:
        staged = unit_command(request, run_id, "warm-up", env=environ, work=work)
        if isinstance(staged, str):
            return f"nothing to warm up: {staged}"
        return start_server(staged[0], time.monotonic() + WARM_UP_S)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def declared_options(request: PytestUnit, environ: Mapping[str, str]) -> tuple[str, ...]:
    """The unit options whose plugins the suite's interpreter can import (discovery's own list, but for a
    plugin that its settings turn off: then the first unit's key differs and it starts another server)."""
    python = interpreter(request)
    argv = [python, "-c", PROBE, *(part for pair in OPTION_MODULES for part in pair)]
    try:
        done = subprocess.run(argv, env=activated(child_environment(environ), Path(python)), capture_output=True,
                              text=True, timeout=PROBE_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(done.stdout.split()) if done.returncode == 0 else ()
