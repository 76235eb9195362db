"""The AWS provider: ECR for the image, Lambda for the units, S3 for artifacts, reports and manifests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from hypertest.core.config import Settings
    from hypertest.core.contracts import Check, Discovery, Provider, ProviderEntry, Starter


class _AwsEntry:
    """The AWS provider as the registry finds it (provider.type: aws); boto3 loads only when used."""

    checks_tests = True

    def default_concurrency(self) -> int:
        """Lambda runs many sandboxes at once: 100 (an account's default quota is 1,000)."""
        return 100

    def create(self, settings: Settings, environ: Mapping[str, str], out: TextIO) -> Provider:
        """Lambda invocations, S3 artifacts."""
        _require_sdk()
        from hypertest.providers.aws.provider import AwsProvider
        from hypertest.providers.aws.settings import run_aws_settings

        return AwsProvider(run_aws_settings(settings), settings.concurrency, out=out, output=settings.output,
                           test_runner=settings.test_runner.type)

    def doctor_checks(self, settings: Settings, environ: Mapping[str, str]) -> list[Check]:
        """Credentials, repository, function, bucket, quota and Docker."""
        _require_sdk()
        from hypertest.providers.aws.doctor_checks import aws_checks

        return aws_checks(settings, environ)


    def test_warnings(self, settings: Settings, discovery: Discovery) -> list[str]:
        """Tests whose timeout is longer than the function's."""
        from hypertest.providers.aws.settings import run_aws_settings
        from hypertest.providers.aws.timeouts import timeout_warnings

        return timeout_warnings(discovery, run_aws_settings(settings))


    def starter(self, *, function: str, bucket: str) -> Starter:
        """A concurrency of 100, and in iam/ the least-privilege policies and the bucket's CORS rules."""
        from hypertest.core.contracts import Starter
        from hypertest.providers.aws.iam import BUCKET_CORS, policies

        documents = {**policies(function, bucket, "hypertest", function.lower()), "bucket-cors.json": BUCKET_CORS}
        return Starter(concurrency=100, folder="iam", documents=documents, next_steps=(
            "next: create the function's role with iam/function-trust-policy.json and "
            "iam/function-role-policy.json, let the trace viewer read traces (aws s3api put-bucket-cors "
            "--cors-configuration file://iam/bucket-cors.json), set provider.aws.roleArn, then "
            "`hypertest doctor` and `hypertest deploy` (its first run builds the runner base image)"))

    def deploy(self, settings: Settings, out: TextIO, environ: Mapping[str, str]) -> None:
        """The test image to ECR, the function pointed at it, the manifest to S3."""
        _require_sdk()
        from hypertest.providers.aws.deploy import deploy

        deploy(settings, out, environ)


def _require_sdk() -> None:
    import importlib.util

    from hypertest.errors import UsageError

    missing = [name for name in ("boto3", "botocore", "docker") if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"provider.type: aws needs the Python packages {', '.join(missing)}, which are not "
                         "installed", hint="pip install 'hypertest[aws]'")


PROVIDER: ProviderEntry = _AwsEntry()
