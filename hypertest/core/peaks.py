"""What the suite used of its sandboxes in past runs, per provider: the highest peak memory and /tmp use
any unit reported, so a provider can warn before a run that its limits are too small."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from runner.model import UnitSummary

FILE_NAME = ".resources.json"


def load_peaks(output: Path, provider: str) -> dict[str, int]:
    """{"peakMemoryMb", "peakTmpMb"} seen in past runs on this provider (what was never measured is left out)."""
    try:
        document = json.loads((output / FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    found = document.get(provider) if isinstance(document, dict) else None
    if not isinstance(found, dict):
        return {}
    return {key: int(value) for key, value in found.items()
            if key in ("peakMemoryMb", "peakTmpMb") and isinstance(value, int) and not isinstance(value, bool)}


def save_peaks(output: Path, provider: str, units: Iterable[UnitSummary]) -> None:
    """Fold this run's units' resources into the provider's peaks."""
    peaks = load_peaks(output, provider)
    for unit in units:
        resources = unit.get("resources")
        if resources is None:
            continue
        for key, value in (("peakMemoryMb", resources["peakMemoryMb"]), ("peakTmpMb", resources["peakTmpMb"])):
            if value is not None:
                peaks[key] = max(peaks.get(key, 0), value)
    try:
        document = json.loads((output / FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        document = {}
    document = document if isinstance(document, dict) else {}
    document[provider] = peaks
    output.mkdir(parents=True, exist_ok=True)
    (output / FILE_NAME).write_text(json.dumps(document, sort_keys=True), encoding="utf-8")
