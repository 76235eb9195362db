"""Wall time and bytes pushed by `hypertest deploy`: a first deploy, an unchanged redeploy, and a
one-test-file change. Everything runs on loopback: moto (ECR, Lambda, S3, IAM), a private dockerd
and Debian's docker-registry, with the offline test base image (busybox FROM scratch).

Usage: python benchmarks/redeploy.py   (needs root for dockerd, like the deploy tests)
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402 - after the path is set
import docker  # noqa: E402

from hypertest.cli import main as hypertest  # noqa: E402
from tests.aws.moto_server import CREDENTIALS, moto_server  # noqa: E402
from tests.aws.services import blobs, build_test_base, docker_daemon, registry  # noqa: E402

REGION: Final = "eu-west-1"


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


def main() -> int:
    """Deploy three times and print the figures."""
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
    print("deploy against loopback moto + dockerd (vfs) + docker-registry, offline busybox base")
    for label, seconds, pushed, count in rows:
        print(f"{label:24s} {seconds:6.2f} s   {pushed:>10,d} bytes pushed in {count} blobs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
