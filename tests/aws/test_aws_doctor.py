"""`hypertest doctor` and `validate` on the AWS provider, against moto on loopback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.aws.conftest import AwsWorld
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def lines_of(out: str, name: str) -> str:
    return "\n".join(line for line in out.splitlines() if f" {name}:" in line)


def test_doctor_reports_each_check(aws: AwsWorld, cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    aws.write_config(endpoints={"lambda": aws.moto, "s3": aws.moto, "sts": aws.moto, "ecr": aws.moto,
                                "service-quotas": aws.moto}, memory=4096, timeout=120, ephemeralStorage=2048)
    result = cli("doctor", cwd=aws.project)
    assert result.code == 0, result.out + result.err
    assert lines_of(result.out, "credentials").startswith("ok") and "123456789012" in result.out
    assert "ok     S3 bucket: ht-artifacts" in result.out
    assert lines_of(result.out, "ECR repository").startswith("warn")
    function = lines_of(result.out, "Lambda function")
    assert function.startswith("warn") and "EphemeralStorage 512 (config: 2048)" in function
    assert lines_of(result.out, "Docker daemon").startswith("warn")
    assert "fix: `hypertest deploy` applies the configured values" in result.out
    assert "concurrency quota" in result.out


def test_doctor_fails_on_errors(aws: AwsWorld, cli: Cli) -> None:
    aws.write_config(bucket="missing-bucket", endpoints={"lambda": aws.moto, "s3": aws.moto, "sts": aws.moto,
                                                         "ecr": aws.moto})
    result = cli("doctor", cwd=aws.project)
    assert result.code == 3
    assert "error  S3 bucket: missing-bucket: does not exist" in result.out
    assert "fix: create it, or fix provider.aws.bucket" in result.out


def test_validate_warns_about_test_timeouts_beyond_the_function(aws: AwsWorld, cli: Cli) -> None:
    config = aws.project / "playwright.config.ts"
    config.write_text(config.read_text().replace("retries: 0,", "retries: 0,\n  timeout: 200_000,"))
    aws.write_config(timeout=120)
    result = cli("validate", cwd=aws.project)
    assert result.code == 0, result.err
    assert "warning: project 'chromium''s test timeout (200 s) is longer than the 110 s" in result.out
