"""`hypertest doctor`: every thing a run needs, checked, each with a one-line fix. The test-runner plugin
and the provider the config names say what to check."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

from hypertest.core.config import Settings
from hypertest.core.registry import provider_entry, runner_plugin
from hypertest.errors import ExitCode
from hypertest.reporters.console import printable

MARKS = {"ok": "ok   ", "warn": "warn ", "error": "error"}


def run_doctor(settings: Settings, out: TextIO, environ: Mapping[str, str] | None = None) -> int:
    """Run every check that applies to the settings, print them, and return the exit code."""
    env = dict(os.environ if environ is None else environ)
    checks = [*runner_plugin(settings.test_runner.type).doctor_checks(settings, env),
              *provider_entry(settings.provider.type).doctor_checks(settings, env)]
    for check in checks:
        out.write(printable(f"{MARKS[check.level]}  {check.name}: {check.detail}") + "\n")
        if check.fix and check.level != "ok":
            out.write(printable(f"       fix: {check.fix}") + "\n")
    errors = sum(1 for c in checks if c.level == "error")
    warnings = sum(1 for c in checks if c.level == "warn")
    out.write(f"{len(checks)} checks: {errors} errors, {warnings} warnings\n")
    return int(ExitCode.INFRASTRUCTURE if errors else ExitCode.OK)
