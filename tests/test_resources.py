"""What units used of their sandbox: the runner samples memory (itself and every process below it) and /tmp
where it is a filesystem of its own; the host keeps the highest per provider across runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hypertest.core.history import History, RunEntry, decode_entry, encode_entry
from hypertest.core.peaks import unit_peaks
from runner.resources import ResourceMeter

SHM = Path("/dev/shm")


@pytest.mark.integration
def test_memory_of_the_processes_below_the_runner_counts() -> None:
    with ResourceMeter(interval_s=0.05) as meter:
        child = subprocess.Popen([sys.executable, "-c", "b = bytearray(150 * 1024 * 1024); import time; "
                                  "time.sleep(1)"])
        child.wait(timeout=30)
    peaks = meter.peaks()
    assert peaks["peakMemoryMb"] is not None and peaks["peakMemoryMb"] >= 150
    assert peaks["peakTmpMb"] is None or isinstance(peaks["peakTmpMb"], int)


@pytest.mark.skipif(not SHM.is_dir() or SHM.stat().st_dev == Path("/").stat().st_dev,
                    reason="needs /dev/shm as a filesystem of its own")
def test_tmp_of_its_own_is_measured_at_its_peak(tmp_path: Path) -> None:
    big = SHM / f"hypertest-meter-{os.getpid()}"
    with ResourceMeter(tmp=SHM, interval_s=0.05) as meter:
        before = meter.peak_tmp
        big.write_bytes(b"\0" * 32 * 1024 * 1024)
        time.sleep(0.3)
        big.unlink()  # the peak stays
    assert meter.peaks()["peakTmpMb"] is not None
    assert meter.peak_tmp - before >= 30 * 1024 * 1024


def test_peaks_are_kept_per_provider_at_their_highest() -> None:
    def run(run_id: str, day: int, provider: str, units: list[Any]) -> RunEntry:
        return RunEntry(run_id=run_id, started_at=f"2026-12-0{day}T10:00:00Z", branch="main", commit="",
                        provider=provider, runner="playwright", peaks=unit_peaks(units))

    history = History(runs=(
        run("r3", 3, "local", [{"resources": {"peakMemoryMb": 5000, "peakTmpMb": None}}]),
        run("r2", 2, "aws", [{"resources": {"peakMemoryMb": 1000, "peakTmpMb": 250}}]),
        run("r1", 1, "aws", [{"resources": {"peakMemoryMb": 900, "peakTmpMb": 300}},
                             {"resources": {"peakMemoryMb": 1200, "peakTmpMb": None}}, {"status": "error"}])))
    assert history.peaks("aws") == {"peakMemoryMb": 1200, "peakTmpMb": 300}
    assert history.peaks("local") == {"peakMemoryMb": 5000}
    raw = json.loads(encode_entry(run("r4", 4, "aws", [])))
    raw["peaks"] = {"peakMemoryMb": "lots"}
    assert decode_entry(json.dumps(raw).encode()).peaks == {}
