"""Dispatch efficiency of the AWS provider against a loopback Invoke stand-in with a fixed latency.

For each scenario it prints efficiency = ideal wall / measured wall (ideal: ceil(units / concurrency)
waves of the latency) and the orchestrator's CPU milliseconds per invocation, first with hypertest's
dispatcher and tuned shared client, then with boto3's default client in a plain thread pool.
Targets: efficiency >= 0.95 and <= 1 ms CPU per invocation. The stand-in runs in its own process.

Usage: python benchmarks/dispatch.py [--quick]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402 - after the path is set
from botocore.config import Config  # noqa: E402

from hypertest.core.dispatcher import Dispatcher  # noqa: E402
from hypertest.core.suite import Unit  # noqa: E402
from hypertest.providers.aws.clients import AwsClients  # noqa: E402
from hypertest.providers.aws.invoker import Invoker  # noqa: E402
from hypertest.providers.aws.settings import aws_settings  # noqa: E402
from tests.aws.processes import free_port  # noqa: E402

SCENARIOS = [(5000, 2000, 5.0), (2000, 500, 2.0)]
QUICK = [(1000, 400, 2.0), (400, 100, 1.0)]
PAYLOAD = {"runId": "bench", "unitId": "u", "tests": [{"id": "t", "project": "p", "file": "a.spec.ts",
                                                      "titlePath": ["a test"]}]}


def start_server(latency_s: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "invoke_server.py"), str(port),
                               str(latency_s)], stdout=subprocess.PIPE)
    assert server.stdout is not None
    server.stdout.readline()
    return server, f"http://127.0.0.1:{port}"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(run: Callable[[], int], units: int) -> tuple[float, float, int]:
    """(wall seconds, CPU ms per invocation, failures)."""
    cpu, wall = cpu_seconds(), time.monotonic()
    failures = run()
    return time.monotonic() - wall, (cpu_seconds() - cpu) * 1000 / units, failures


def hypertest_run(endpoint: str, units: int, concurrency: int) -> Callable[[], int]:
    """The dispatch of units through hypertest's dispatcher and Invoker (clients made beforehand)."""
    settings = aws_settings({"bucket": "bench", "region": "us-east-1", "endpoints": {"lambda": endpoint},
                             "timeout": 60})
    invoker = Invoker(AwsClients(settings, concurrency).client("lambda"), "bench", retries=0)
    fake_units = [Unit(id=f"u{n}", tests=()) for n in range(units)]
    failures = 0
    lock = threading.Lock()

    def execute(unit: Unit) -> Mapping[str, Any]:
        nonlocal failures
        result = invoker.invoke(PAYLOAD).result
        if result.get("status") != "ok":
            with lock:
                failures += 1
        return result

    def run() -> int:
        Dispatcher(execute, concurrency).run(fake_units)
        return failures

    return run


def default_client_run(endpoint: str, units: int, concurrency: int) -> Callable[[], int]:
    """The same with boto3's default client configuration in a thread pool."""
    client = boto3.client("lambda", region_name="us-east-1", endpoint_url=endpoint,
                          config=Config(read_timeout=120))  # read timeout only, so a 5 s answer is not re-sent
    body = b'{"runId": "bench"}'

    def call(_: int) -> bool:
        try:
            client.invoke(FunctionName="bench", Payload=body)
            return True
        except Exception:  # counted as a failure
            return False

    def run() -> int:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            return sum(1 for ok in pool.map(call, range(units)) if not ok)

    return run


def main() -> int:
    """Run the scenarios and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller scenarios (about a minute)")
    args = parser.parse_args()
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    print(f"{os.cpu_count()} CPUs; loopback Invoke stand-in in its own process")
    for units, concurrency, latency in (QUICK if args.quick else SCENARIOS):
        server, endpoint = start_server(latency)
        try:
            ideal = math.ceil(units / concurrency) * latency
            for name, prepare in (("hypertest (tuned client, dispatcher)", hypertest_run),
                                  ("boto3 default client, thread pool ", default_client_run)):
                wall, cpu_ms, failures = measure(prepare(endpoint, units, concurrency), units)
                print(f"{units} units, concurrency {concurrency}, latency {latency:g} s | {name}: "
                      f"efficiency {ideal / wall:.3f} (wall {wall:.1f} s, ideal {ideal:.0f} s), "
                      f"CPU {cpu_ms:.2f} ms/invocation, failures {failures}")
        finally:
            server.kill()
            server.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
