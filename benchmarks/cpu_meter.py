"""CPU time of a command and of every process it starts, however those end.

getrusage(RUSAGE_CHILDREN) counts a process only when its parent reaps it, and its parent's parent reaps
that parent, up to the benchmark. Browsers break that chain: Chromium's renderers outlive the zygote that
forked them and are reaped by init (or by a subreaper on the way), so their CPU time, most of a browser
test's, is counted for one tool and not for another. A control group counts every process placed in it
and all they start, whoever reaps them. This meter uses cgroup v1's cpuacct or cgroup v2's cpu.stat (root
only); without either it reads the whole machine's busy time from /proc/stat, which is right only on an
otherwise quiet machine (`kind` says which it used).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

V1 = Path("/sys/fs/cgroup/cpuacct")


def _v2_root() -> Path | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mounts").read_text().splitlines():
            fields = line.split()
            if len(fields) > 2 and fields[2] == "cgroup2":
                return Path(fields[1])
    return None


def _machine_busy_s() -> float:
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    busy = sum(fields[:3]) + sum(fields[5:8])  # user nice system, irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """One measured command: start it with preexec() as its preexec_fn, read seconds() after it ended."""

    def __init__(self, label: str) -> None:
        name = f"hypertest-bench-{os.getpid()}-{label}"
        self._group: Path | None = None
        self.kind = "machine-wide /proc/stat"
        v2 = _v2_root()
        for base, usage, kind in ((V1, "cpuacct.usage", "cgroup cpuacct"), (v2, "cpu.stat", "cgroup v2")):
            if base is None or not (base / usage).is_file():
                continue
            try:
                (base / name).mkdir(exist_ok=True)
                self._group, self._usage, self.kind = base / name, usage, kind
                break
            except OSError:
                continue
        self._start = self._read()

    def preexec(self) -> None:
        """Place the calling (new) process in the group; what it starts is counted with it."""
        if self._group is not None:
            (self._group / "cgroup.procs").write_text(str(os.getpid()))

    def leave(self) -> None:
        """Move the calling process (placed in the group by preexec) back out of the group."""
        if self._group is not None:
            with contextlib.suppress(OSError):
                (self._group.parent / "cgroup.procs").write_text(str(os.getpid()))

    def seconds(self) -> float:
        """CPU seconds the command and all it started used so far."""
        return self._read() - self._start

    def close(self) -> None:
        """Remove the group (once every process in it ended)."""
        if self._group is None:
            return
        with contextlib.suppress(OSError):  # what the command left running must not outlive the benchmark
            for pid in (self._group / "cgroup.procs").read_text().split():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(pid), signal.SIGKILL)
        for _ in range(50):
            try:
                self._group.rmdir()
                return
            except OSError:
                time.sleep(0.1)

    def _read(self) -> float:
        if self._group is None:
            return _machine_busy_s()
        text = (self._group / self._usage).read_text()
        if self._usage == "cpuacct.usage":
            return int(text.strip()) / 1e9
        values = dict(line.split() for line in text.splitlines() if line.strip())
        return int(values["usage_usec"]) / 1e6


def run_measured(argv: Sequence[str], cwd: Path, env: Mapping[str, str], *, label: str,
                 timeout_s: float) -> tuple[float, float, str]:
    """Run a command (output discarded): its wall seconds, the CPU seconds of it and every process it
    started, and how CPU was counted."""
    meter = CpuMeter(label)
    try:
        started = time.monotonic()
        subprocess.run(list(argv), cwd=cwd, env=dict(env), check=False, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=timeout_s, preexec_fn=meter.preexec)
        return time.monotonic() - started, meter.seconds(), meter.kind
    finally:
        meter.close()
