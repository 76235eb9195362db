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


def deployed_from_here(aws: AwsWorld) -> None:
    """A deploy manifest in moto's bucket for the world's project as it is now (no image: doctor reads only this)."""
    from hypertest.core.load import load_settings
    from hypertest.core.sources import sources_hash
    from hypertest.providers.aws.manifest import Manifest, aws_built_from, write_manifest
    from hypertest.providers.aws.settings import run_aws_settings
    from hypertest.providers.test_bundle import project_sources

    settings = load_settings(aws.project / "hypertest.yml", aws.project)
    configured = run_aws_settings(settings)
    sources = project_sources("playwright", aws.project, settings.test_runner.config, aws_built_from(configured))
    write_manifest(aws.client("s3"), configured, Manifest(
        image_uri="registry.invalid/f@sha256:0", image_digest="sha256:0", sources_hash=sources_hash(aws.project),
        hypertest_version="0", playwright_version="1", tests=(), deployed_at="2026-12-07T10:00:00Z",
        sources=sources))


def test_doctor_says_whether_the_deployed_tests_need_a_deploy(aws: AwsWorld, cli: Cli) -> None:
    aws.write_config(endpoints={"lambda": aws.moto, "s3": aws.moto, "sts": aws.moto, "ecr": aws.moto})
    assert lines_of(cli("doctor", cwd=aws.project).out, "deployed tests").startswith("warn")  # nothing deployed
    deployed_from_here(aws)
    said = lines_of(cli("doctor", cwd=aws.project).out, "deployed tests")
    assert said.startswith("ok") and "the ones deployed at 2026-12-07T10:00:00Z" in said
    spec = aws.project / "tests" / "page.spec.ts"
    spec.write_text(spec.read_text().replace("has a title", "has a new title"))
    said = lines_of(cli("doctor", cwd=aws.project).out, "deployed tests")
    assert said.startswith("ok") and "1 test file changed since the deploy: tests/page.spec.ts: invoke ships " \
                                     "them as a test bundle, no deploy needed" in said
    package = aws.project / "package.json"
    package.write_text(package.read_text().replace('"private"', '"description": "x", "private"', 1))
    result = cli("doctor", cwd=aws.project)
    said = lines_of(result.out, "deployed tests")
    assert said.startswith("warn") and "changed since the deploy (package.json)" in said
    assert "fix: `hypertest deploy` (the action: command deploy-and-invoke)" in result.out
