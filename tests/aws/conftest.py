"""Fixtures for the AWS provider: moto on loopback, a function and bucket in it, the Invoke stand-in."""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.aws.lambda_standin import StandIn, lambda_standin
from tests.aws.moto_server import CREDENTIALS, moto_server, reset
from tests.conftest import DEMO

REGION = "eu-west-1"
BUCKET = "ht-artifacts"
FUNCTION = "hypertest-e2e"


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_server(tmp_path_factory.mktemp("moto")) as url:
        yield url


@dataclass
class AwsWorld:
    """What one AWS test works with."""

    moto: str
    project: Path
    standin: StandIn
    session: boto3.session.Session

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.moto)  # type: ignore[call-overload]

    def write_config(self, **aws: Any) -> Path:
        settings = {"region": REGION, "bucket": BUCKET, "functionName": FUNCTION, "timeout": 120,
                    "endpoints": {"lambda": self.standin.url, "s3": self.moto, "sts": self.moto}, **aws}
        path = self.project / "hypertest.yml"
        path.write_text(json.dumps({"provider": {"type": "aws", "aws": settings}, "concurrency": 2}))
        return path

    def keys(self, prefix: str = "") -> list[str]:
        listing = self.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix)
        return sorted(item["Key"] for item in listing.get("Contents", []))


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


@contextmanager
def aws_world(moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: Path = DEMO) -> Iterator[AwsWorld]:
    """moto reset with a bucket and a function, and the Invoke stand-in serving a copy of `source`."""
    reset(moto)
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    session = boto3.session.Session(region_name=REGION)
    session.client("s3", endpoint_url=moto).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    role = session.client("iam", endpoint_url=moto).create_role(
        RoleName="hypertest", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    session.client("lambda", endpoint_url=moto).create_function(
        FunctionName=FUNCTION, Runtime="python3.12", Role=role, Handler="handler.handler",
        Code={"ZipFile": _zip()}, Timeout=120, MemorySize=4096)
    root = tmp_path / "task-root"
    project = root / "project"
    shutil.copytree(source, project, ignore=shutil.ignore_patterns("node_modules", "hypertest-results",
                                                                   "test-results", "hypertest.yml"))
    (project / "node_modules").symlink_to(source / "node_modules")
    env = {**os.environ, **CREDENTIALS, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}
    with lambda_standin(moto, root, env) as standin:
        yield AwsWorld(moto=moto, project=project, standin=standin, session=session)


@pytest.fixture
def aws(moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsWorld]:
    with aws_world(moto, tmp_path, monkeypatch) as world:
        yield world
