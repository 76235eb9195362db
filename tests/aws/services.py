"""A real Docker daemon and a real registry (Debian's docker-registry) on loopback, for deploy tests.

The daemon gets its own socket, data root and exec root, so it never touches a system Docker; it
runs with no bridge or iptables, which is what works on the build machines, and with the overlay2
storage driver where the filesystem allows it, else vfs (which copies every layer for each container
and build step: far slower, and gigabytes per session once the action image is built).
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.aws.processes import free_port, stop


def _wait(check: str, process: subprocess.Popen[bytes], log: Path, what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(check, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{what} did not start; its log: {log}") from None
            time.sleep(0.2)


STORAGE_DRIVERS = ("overlay2", "vfs")  # the first that starts and says it is in use


def _start_dockerd(dockerd: str, folder: Path, driver: str) -> subprocess.Popen[bytes]:
    with (folder / f"dockerd-{driver}.log").open("wb") as handle:
        return subprocess.Popen(
            [dockerd, "--storage-driver", driver, "--iptables=false", "--bridge=none", "--data-root",
             str(folder / "data"), "--exec-root", str(folder / "exec"), "--pidfile", str(folder / "dockerd.pid"),
             "--host", f"unix://{folder / 'docker.sock'}"], stdout=handle, stderr=subprocess.STDOUT)


def _dockerd_ready(folder: Path, process: subprocess.Popen[bytes], driver: str, timeout_s: float = 60) -> bool:
    """Whether the daemon answers within timeout_s and runs with driver."""
    host = f"unix://{folder / 'docker.sock'}"
    deadline = time.monotonic() + timeout_s
    while process.poll() is None and time.monotonic() < deadline:
        done = subprocess.run(["docker", "-H", host, "info", "--format", "{{.Driver}}"], capture_output=True,
                              check=False, timeout=30)
        if done.returncode == 0:
            return done.stdout.decode().strip() == driver
        time.sleep(0.3)
    return False


def _mounts_below(folder: Path) -> list[str]:
    """The mount points inside folder, deepest first."""
    prefix = f"{folder.resolve()}/"
    with Path("/proc/self/mounts").open(encoding="utf-8") as mounts:
        # Octal escapes (\040 for a space) stay as they are: a tmp folder's path has none.
        points = [line.split()[1] for line in mounts if len(line.split()) > 1]
    return sorted((point for point in points if point.startswith(prefix)), key=len, reverse=True)


def _stop_dockerd(process: subprocess.Popen[bytes], folder: Path) -> None:
    """Stop the daemon and remove its data (the layers) and exec root."""
    stop(process)
    # The daemon's network namespace stays mounted, and a daemon that failed to start leaves its data root
    # bind-mounted on itself: they must be unmounted before they can be removed.
    for mount_point in _mounts_below(folder):
        subprocess.run(["umount", mount_point], capture_output=True, check=False)
    for name in ("data", "exec"):
        shutil.rmtree(folder / name, ignore_errors=True)
    (folder / "docker.sock").unlink(missing_ok=True)


@contextmanager
def docker_daemon(folder: Path) -> Iterator[str]:
    """Run dockerd on a private socket, with overlay2 when it works here, else vfs; yields the DOCKER_HOST
    value."""
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise RuntimeError("dockerd not found: scripts/bootstrap.sh installs Debian's docker.io")
    for driver in STORAGE_DRIVERS:
        process = _start_dockerd(dockerd, folder, driver)
        try:
            ready = _dockerd_ready(folder, process, driver)
        except BaseException:
            _stop_dockerd(process, folder)
            raise
        if ready:
            break
        _stop_dockerd(process, folder)
    else:
        raise RuntimeError(f"dockerd did not start with {' or '.join(STORAGE_DRIVERS)}; its logs: {folder}")
    try:
        yield f"unix://{folder / 'docker.sock'}"
    finally:
        _stop_dockerd(process, folder)


@contextmanager
def registry(folder: Path) -> Iterator[tuple[str, Path]]:
    """Run Debian's docker-registry on a free loopback port; yields (host:port, storage root)."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise RuntimeError("docker-registry not found: scripts/bootstrap.sh installs it")
    port = free_port()
    storage = folder / "storage"
    config = folder / "config.yml"
    config.write_text(f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {storage}\n"
                      f"  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n")
    log = folder / "registry.log"
    with log.open("wb") as handle:
        process = subprocess.Popen([binary, "serve", str(config)], stdout=handle, stderr=subprocess.STDOUT)
    try:
        _wait(f"http://127.0.0.1:{port}/v2/", process, log, "docker-registry")
        yield f"127.0.0.1:{port}", storage
    finally:
        stop(process)


def blobs(storage: Path) -> set[str]:
    """Every blob digest the registry stores."""
    root = storage / "docker" / "registry" / "v2" / "blobs" / "sha256"
    return {f"sha256:{path.parent.name}" for path in root.glob("*/*/data")} if root.is_dir() else set()


INSTALL_DEPS = """#!/bin/sh
# Stands in for `npm ci` in the test base image: records the lockfile it installed from.
set -e
mkdir -p node_modules
cp package-lock.json node_modules/.installed-from-lock
"""


def build_test_base(client: Any, folder: Path, tag: str) -> None:
    """A base image made offline: FROM scratch, a static busybox, and an install-deps stand-in."""
    rootfs = folder / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    (rootfs / "opt" / "hypertest" / "bin").mkdir(parents=True)
    (rootfs / "tmp").mkdir()
    (rootfs / "bin" / "busybox").write_bytes(Path("/bin/busybox").read_bytes())
    (rootfs / "bin" / "busybox").chmod(0o755)
    for name in ("sh", "mkdir", "cp"):
        (rootfs / "bin" / name).symlink_to("busybox")
    script = rootfs / "opt" / "hypertest" / "bin" / "install-deps"
    script.write_text(INSTALL_DEPS)
    script.chmod(0o755)
    (folder / "Dockerfile").write_text('FROM scratch\nCOPY rootfs/ /\nENV PATH=/bin\nCMD ["sh"]\n')
    client.images.build(path=str(folder), tag=tag, rm=True)
