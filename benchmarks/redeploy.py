"""A one-test-file change: redeploy against a test bundle (issue 23).

Part 1, `hypertest deploy` (aws): wall time and bytes pushed by a first deploy, an unchanged redeploy and a
one-test-file change, against what invoke does instead for that change: build the test bundle and put it in
S3 (its preflight). Loopback moto (ECR, Lambda, S3, IAM), a private dockerd and Debian's docker-registry, with
the offline test base image (busybox FROM scratch).

Part 2, the docker provider (the same path, end to end, on the real runner base image): from `hypertest
invoke` starting to the changed test's first attempt starting, and to the run's end, after a one-test-file
change, with `testBundles: false` (a new test image is built) and with test bundles (the image built before,
the bundle laid over its copy).

Usage: python benchmarks/redeploy.py [--docker-host unix:///…/docker.sock --python-image NAME] [--skip-docker]
(needs root for dockerd, like the deploy tests; without --docker-host, part 2 starts its own daemon and
imports an offline Debian Python image with debootstrap first, which takes minutes)
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402 - after the path is set
import datetime as dt  # noqa: E402

import boto3  # noqa: E402
import docker  # noqa: E402

from hypertest.cli import main as hypertest  # noqa: E402
from hypertest.core.load import load_settings  # noqa: E402
from hypertest.plugins.playwright.discovery import discover  # noqa: E402
from hypertest.providers.aws.provider import AwsProvider  # noqa: E402
from hypertest.providers.aws.settings import run_aws_settings  # noqa: E402
from hypertest.providers.runner_base import ensure_runner_base  # noqa: E402
from tests.aws.moto_server import CREDENTIALS, moto_server  # noqa: E402
from tests.aws.services import blobs, build_test_base, docker_daemon, registry  # noqa: E402
from tests.conftest import import_python_base  # noqa: E402

REGION: Final = "eu-west-1"
TURNS: Final = 3  # one-test changes each way, alternating


def blob_bytes(storage: Path, digests: set[str]) -> int:
    root = storage / "docker" / "registry" / "v2" / "blobs" / "sha256"
    return sum((root / d[7:9] / d[7:] / "data").stat().st_size for d in digests)


def deploy(project: Path) -> float:
    out = io.StringIO()
    started = time.monotonic()
    previous = Path.cwd()
    os.chdir(project)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = hypertest(["deploy"])
    finally:
        os.chdir(previous)
    if code != 0:
        raise SystemExit(f"deploy failed:\n{out.getvalue()}")
    return time.monotonic() - started


def bundle_upload(project: Path) -> tuple[float, int]:
    """What invoke does for a test change instead of a deploy: its preflight (manifest, bundle, upload)."""
    settings = load_settings(project / "hypertest.yml", project)
    out = io.StringIO()
    provider = AwsProvider(run_aws_settings(settings), 2, out=out, output=settings.output,
                           test_runner=settings.test_runner.type)
    discovery = discover(settings.test_runner)
    started = time.monotonic()
    provider.preflight(discovery, {})
    seconds = time.monotonic() - started
    if provider.bundle is None:
        raise SystemExit(f"invoke shipped no test bundle:\n{out.getvalue()}")
    return seconds, len(provider.bundle.data)


def deploy_rows() -> list[str]:
    """Part 1: deploy three times, then the same test change as a bundle."""
    os.environ.update(CREDENTIALS)
    with tempfile.TemporaryDirectory(prefix="ht-redeploy-") as scratch:
        base = Path(scratch)
        for name in ("moto", "dockerd", "registry", "base"):
            (base / name).mkdir()
        with moto_server(base / "moto") as moto, docker_daemon(base / "dockerd") as host, \
                registry(base / "registry") as (registry_host, storage):
            os.environ["DOCKER_HOST"] = host
            build_test_base(docker.DockerClient(base_url=host), base / "base", "hypertest-bench-base:1")
            session = boto3.session.Session(region_name=REGION)
            session.client("s3", endpoint_url=moto).create_bucket(
                Bucket="bench", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
            role = session.client("iam", endpoint_url=moto).create_role(
                RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            project = base / "project"
            shutil.copytree(ROOT / "examples" / "demo", project,
                            ignore=shutil.ignore_patterns("node_modules", "hypertest-results", "hypertest.yml"))
            (project / "node_modules").symlink_to(ROOT / "examples" / "demo" / "node_modules")
            (project / "hypertest.yml").write_text(json.dumps({"provider": {"type": "aws", "aws": {
                "region": REGION, "bucket": "bench", "functionName": "bench", "roleArn": role,
                "baseImage": "hypertest-bench-base:1", "registry": registry_host, "buildNetwork": "none",
                "endpoints": {"lambda": moto, "s3": moto, "ecr": moto, "sts": moto}}}}))
            rows = []
            before = blobs(storage)
            for label, change in (("first deploy", None), ("unchanged redeploy", None),
                                  ("one test file changed", "tests/page.spec.ts")):
                if change:
                    spec = project / change
                    spec.write_text(spec.read_text() + "\ntest('added', async () => {});\n")
                seconds = deploy(project)
                after = blobs(storage)
                rows.append((label, seconds, blob_bytes(storage, after - before), len(after - before)))
                before = after
            spec = project / "tests" / "page.spec.ts"
            spec.write_text(spec.read_text() + "\ntest('added again', async () => {});\n")
            bundle_seconds, bundle_bytes = bundle_upload(project)
    lines = ["part 1: deploy against loopback moto + dockerd + docker-registry, offline busybox base"]
    lines += [f"{label:32s} {seconds:6.2f} s   {pushed:>10,d} bytes pushed in {count} blobs"
              for label, seconds, pushed, count in rows]
    lines.append(f"{'one test file changed: bundle':32s} {bundle_seconds:6.2f} s   {bundle_bytes:>10,d} bytes "
                 "put in S3 (no deploy)")
    return lines


def invoke_docker(project: Path, title: str, output: Path, bundles: bool) -> tuple[float, float, str]:
    """`hypertest invoke --grep title` on the docker provider: seconds to the test's first attempt and to the
    end, and how the image was had (built, or the earlier one with a bundle)."""
    config = json.loads((project / "hypertest.yml").read_text())
    config["provider"]["docker"]["testBundles"] = bundles
    (project / "hypertest.yml").write_text(json.dumps(config))
    out = io.StringIO()
    began, started = time.time(), time.monotonic()
    previous = Path.cwd()
    os.chdir(project)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = hypertest(["invoke", "--grep", title, "--output", str(output)])
    finally:
        os.chdir(previous)
    seconds = time.monotonic() - started
    if code != 0:
        raise SystemExit(f"invoke failed:\n{out.getvalue()}")
    [run] = [folder for folder in output.iterdir() if (folder / "results.json").is_file()]
    document = json.loads((run / "results.json").read_text())
    starts = [dt.datetime.fromisoformat(attempt["startTime"].replace("Z", "+00:00")).timestamp()
              for test in document["tests"] for attempt in test["attempts"]]
    how = "bundle" if "testBundle" in document["providerDetails"] else "new image"
    return min(starts) - began, seconds, how


def docker_rows(host: str, python_image: str, scratch: Path) -> list[str]:
    """Part 2: a one-test change through the docker provider, a new image against a bundle, each twice."""
    os.environ["DOCKER_HOST"] = host
    client = docker.DockerClient(base_url=host, timeout=1200)
    base = ensure_runner_base(client, lambda text: None, python_image=python_image, platform="linux/amd64",
                              network="host")
    project = scratch / "docker-project"
    shutil.copytree(ROOT / "examples" / "demo", project,
                    ignore=shutil.ignore_patterns("node_modules", "hypertest-results", "hypertest.yml"))
    (project / "node_modules").symlink_to(ROOT / "examples" / "demo" / "node_modules")
    (project / "hypertest.yml").write_text(json.dumps({"concurrency": 1, "provider": {"type": "docker", "docker": {
        "baseImage": base.reference, "buildNetwork": "host", "memory": 2048, "timeout": 120}}}))
    spec = project / "tests" / "page.spec.ts"
    invoke_docker(project, "has a title", scratch / "out-0", bundles=False)  # the first image
    lines = ["part 2: the docker provider, one test file changed, then `invoke --grep` of the changed test",
             f"{'':32s} {'to its start':>12s} {'to the end':>11s}"]
    figures: dict[str, list[tuple[float, float]]] = {}
    for turn, bundles in enumerate((False, True) * TURNS, start=1):
        title = f"has a title, change {turn}"
        spec.write_text(re.sub(r"test\('has a title[^']*'", f"test('{title}'", spec.read_text()))
        to_start, to_end, how = invoke_docker(project, title, scratch / f"out-{turn}", bundles)
        figures.setdefault(how, []).append((to_start, to_end))
        lines.append(f"{how:32s} {to_start:10.2f} s {to_end:9.2f} s")
    for how, pairs in figures.items():
        lines.append(f"{'median, ' + how:32s} {statistics.median(p[0] for p in pairs):10.2f} s "
                     f"{statistics.median(p[1] for p in pairs):9.2f} s")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run both parts and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docker-host", help="a running dockerd for part 2 (default: start one)")
    parser.add_argument("--python-image", help="the Python image on that daemon (default: import one)")
    parser.add_argument("--skip-docker", action="store_true", help="part 1 only")
    args = parser.parse_args(argv)
    lines = deploy_rows()
    if not args.skip_docker:
        with tempfile.TemporaryDirectory(prefix="ht-redeploy-docker-") as scratch:
            folder = Path(scratch)
            if args.docker_host:
                python_image = args.python_image or import_python_base(args.docker_host, folder)
                lines += docker_rows(args.docker_host, python_image, folder)
            else:
                (folder / "dockerd").mkdir()
                with docker_daemon(folder / "dockerd") as host:
                    python_image = import_python_base(host, folder)
                    lines += docker_rows(host, python_image, folder)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
