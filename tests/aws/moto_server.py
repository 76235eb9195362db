"""moto as a real HTTP server on 127.0.0.1, started and stopped by the test session."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.aws.processes import free_port, stop

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


@contextmanager
def moto_server(log_dir: Path) -> Iterator[str]:
    """Run `moto_server` on a free loopback port; yields its URL."""
    port = free_port()
    log = (log_dir / "moto.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **CREDENTIALS})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"moto_server did not start: see {log_dir / 'moto.log'}") from None
                time.sleep(0.2)
        yield url
    finally:
        stop(process)
        log.close()


def reset(url: str) -> None:
    """Forget every resource moto holds."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass
