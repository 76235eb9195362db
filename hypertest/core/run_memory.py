"""What a finished run leaves in the output folder for the next runs: its tests' durations (dispatch order,
packing), its units' peak resources (memory warnings), the unit overhead and fixture times it measured
(`granularity: auto`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from hypertest.core.durations import save_durations
from hypertest.core.fixture_times import save_fixture_times
from hypertest.core.peaks import save_peaks
from hypertest.core.unit_overhead import save_measured_overhead
from runner.model import RunResult


def remember_run(output: Path, result: RunResult, past_durations: Mapping[str, int], *, provider: str,
                 runner: str) -> None:
    """Keep what this run (results.json's document) measured for the next runs of this provider and runner."""
    records, units = result["tests"], result["units"]
    save_durations(output, past_durations, records)
    save_peaks(output, provider, units)
    save_measured_overhead(output, provider, runner, units, records)
    save_fixture_times(output, units, records)
