"""What Lambda bills per test for short tests, before and after the warm runner and warm workers.

The 60 short tests of benchmarks/short_tests.py (about 0.5 s each) run with `provider: docker`: the
image deploy would push, in warm sandboxes under Lambda's runtime contract (the image's own
awslambdaric, Lambda's user, a read-only root, /tmp of ephemeralStorage, the memory limit and CPU in
proportion), reused warm from invocation to invocation as Lambda reuses its sandboxes. The provider adds
up each invocation's duration, from its start to its answer, rounded up to the millisecond as Lambda
bills it (results.json providerDetails.billedDurationMs). Ways, one unit per test, side by side in one run:

* each unit a cold `playwright test` (HT_WARM_RUNNER=0 in the function's environment);
* the warm runner with a new Playwright worker for each unit (HT_WARM_WORKER=0);
* the warm runner and warm workers (the default);
* the default with `--granularity auto` on the history the earlier ways left.

Printed per way: wall time, invocations, cold starts, billed seconds per test, and the ratio to the cold
way. Target (issue 12): the billed time per sub-second test at least halved.

Needs a Docker daemon and a Python image on it for the runner base (or a runner base image): no image
registry is needed. Usage:
python benchmarks/billed_duration.py --docker-host URL (--python-image IMAGE | --base-image IMAGE)
    [--concurrency 2] [--tests-per-file 10] [--memory 4096]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.short_tests import DEMO, make_suite  # noqa: E402 - after the path is set

WAYS: list[tuple[str, dict[str, str], list[str]]] = [
    ("one unit per test, cold units (HT_WARM_RUNNER=0)", {"HT_WARM_RUNNER": "0"}, []),
    ("one unit per test, warm runner, a new worker per unit (HT_WARM_WORKER=0)", {"HT_WARM_WORKER": "0"}, []),
    ("one unit per test, warm runner and workers (the default)", {}, []),
    ("granularity auto (history), the default", {}, ["--granularity", "auto"]),
]


def write_config(suite: Path, docker: dict[str, Any], environment: dict[str, str], concurrency: int) -> None:
    """hypertest.yml for one way (JSON is YAML)."""
    config = {"provider": {"type": "docker", "docker": {**docker, "environment": environment}},
              "concurrency": concurrency}
    (suite / "hypertest.yml").write_text(json.dumps(config), encoding="utf-8")


def invoke(suite: Path, output: Path, env: dict[str, str], extra: list[str]) -> tuple[float, dict[str, Any]]:
    """Wall seconds of one `hypertest invoke`, and the results.json of the run it wrote."""
    known = set(output.iterdir()) if output.is_dir() else set()
    started = time.monotonic()
    completed = subprocess.run([sys.executable, str(ROOT / "entrypoint.py"), "invoke", f"--output={output}", *extra],
                               cwd=suite, env=env, capture_output=True, text=True, timeout=3600, check=False)
    wall = time.monotonic() - started
    runs = [folder for folder in output.iterdir() if folder.is_dir() and folder not in known]
    if completed.returncode not in (0, 1) or len(runs) != 1:
        raise RuntimeError(f"hypertest invoke exited {completed.returncode}:\n{completed.stdout[-3000:]}"
                           f"{completed.stderr[-3000:]}")
    return wall, json.loads((runs[0] / "results.json").read_text(encoding="utf-8"))


def main() -> int:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docker-host", default=os.environ.get("DOCKER_HOST"))
    image = parser.add_mutually_exclusive_group(required=True)
    image.add_argument("--python-image", help="the Python image the runner base is built FROM")
    image.add_argument("--base-image", help="a runner base image (runner/Dockerfile) on the daemon")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--tests-per-file", type=int, default=10)
    parser.add_argument("--memory", type=int, default=4096)
    args = parser.parse_args()
    if not args.docker_host:
        print("error: --docker-host (or DOCKER_HOST) must name a running Docker daemon", file=sys.stderr)
        return 2
    docker: dict[str, Any] = {"buildNetwork": "host", "memory": args.memory, "timeout": 300}
    docker.update({"baseImage": args.base_image} if args.base_image else {"pythonImage": args.python_image})
    env = {**os.environ, "DOCKER_HOST": args.docker_host, "FORCE_COLOR": "0"}
    rows = []
    with tempfile.TemporaryDirectory(prefix="ht-billed-") as scratch:
        suite = make_suite(Path(scratch) / "suite", args.tests_per_file)
        for name in ("package.json", "package-lock.json"):  # the test image installs the suite's packages
            shutil.copyfile(DEMO / name, suite / name)
        output = Path(scratch) / "results"
        write_config(suite, docker, {}, args.concurrency)  # builds the test image once, outside the figures
        invoke(suite, output, env, ["--grep", "order 0-0$"])
        for name, switches, extra in WAYS:
            write_config(suite, docker, switches, args.concurrency)
            wall, document = invoke(suite, output, env, extra)
            details, tests = document["providerDetails"], len(document["tests"])
            passed = sum(test["status"] == "passed" for test in document["tests"])
            rows.append((name, wall, details["invocations"], details["coldStarts"],
                         details["billedDurationMs"] / 1000 / max(1, tests), f"{passed}/{tests}"))
    print(f"{rows[0][-1].split('/')[1]} tests of ~0.5 s, provider docker, {args.memory} MB, concurrency "
          f"{args.concurrency}, {os.cpu_count()} CPUs\n")
    print("| way | wall | invocations | cold starts | billed per test | ratio to cold | passed |")
    print("|---|---|---|---|---|---|---|")
    for name, wall, invocations, cold, per_test, passed in rows:
        print(f"| {name} | {wall:.1f} s | {invocations} | {cold} | {per_test:.2f} s | **{per_test / rows[0][4]:.2f}** "
              f"| {passed} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
