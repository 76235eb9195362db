"""What the suite used of its sandboxes: the highest peak memory and /tmp use any unit of a run reported, kept in
the history so a provider can warn before a run that its limits are too small."""

from __future__ import annotations

from collections.abc import Iterable

from runner.model import UnitSummary


def unit_peaks(units: Iterable[UnitSummary]) -> dict[str, int]:
    """{"peakMemoryMb", "peakTmpMb"}: the highest of the units' resources (what none measured is left out)."""
    peaks: dict[str, int] = {}
    for unit in units:
        resources = unit.get("resources")
        if resources is None:
            continue
        for key, value in (("peakMemoryMb", resources["peakMemoryMb"]), ("peakTmpMb", resources["peakTmpMb"])):
            if value is not None:
                peaks[key] = max(peaks.get(key, 0), value)
    return peaks
