"""What a unit used of its sandbox: the peak memory of the runner and every process below it, and the peak
use of /tmp where /tmp is a filesystem of its own (Lambda's ephemeral storage), sampled while it runs."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from pathlib import Path
from types import TracebackType

from runner.proc import descendants, rss_bytes

SAMPLE_S = 0.5
MB = 1024 * 1024


class ResourceMeter:
    """Samples memory and /tmp in a thread while a unit runs; peaks() says the highest seen."""

    def __init__(self, tmp: Path = Path("/tmp"), interval_s: float = SAMPLE_S) -> None:  # noqa: S108 - Lambda's /tmp
        self.tmp = tmp
        self.interval_s = interval_s
        self.own_tmp = _own_filesystem(tmp)
        self.peak_memory = 0
        self.peak_tmp = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hypertest-resource-meter", daemon=True)

    def __enter__(self) -> ResourceMeter:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sample()

    def peaks(self) -> dict[str, int | None]:
        """{"peakMemoryMb", "peakTmpMb"} (peakTmpMb is None where /tmp is not a filesystem of its own)."""
        return {"peakMemoryMb": -(-self.peak_memory // MB),
                "peakTmpMb": -(-self.peak_tmp // MB) if self.own_tmp else None}

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def _sample(self) -> None:
        self.peak_memory = max(self.peak_memory, sum(rss_bytes(pid) for pid in (os.getpid(), *descendants())))
        if self.own_tmp:
            with contextlib.suppress(OSError):
                self.peak_tmp = max(self.peak_tmp, shutil.disk_usage(self.tmp).used)


def _own_filesystem(path: Path) -> bool:
    try:
        return path.stat().st_dev != Path("/").stat().st_dev
    except OSError:
        return False
