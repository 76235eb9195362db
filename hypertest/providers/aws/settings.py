"""The AWS provider's settings, read from hypertest.yml's `provider.aws` (already schema-validated)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hypertest.core.config import Settings, load_schema
from hypertest.core.schema_defaults import schema_at, with_defaults
from hypertest.errors import ConfigError


@dataclass(frozen=True)
class AwsSettings:
    """Everything the AWS provider needs (aws_settings fills in the schema's defaults)."""

    bucket: str
    region: str | None
    profile: str | None
    function_name: str
    prefix: str
    role_arn: str | None
    repository: str | None
    base_image: str | None
    python_image: str
    memory_mb: int
    timeout_s: int
    ephemeral_storage_mb: int
    architecture: str
    environment: Mapping[str, str]
    presign_expiry_s: int
    drift: str
    test_bundles: bool
    throttle_retries: int
    function_error_retries: int
    endpoints: Mapping[str, str]
    registry: str | None
    build_network: str

    @property
    def repository_name(self) -> str:
        """The ECR repository: configured, or named after the function."""
        return self.repository or self.function_name.lower()

    def key(self, *parts: str) -> str:
        """An S3 key below the prefix."""
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p.strip("/"))


def run_aws_settings(settings: Settings) -> AwsSettings:
    """The AWS provider's settings of a run's configuration (its `provider.aws`)."""
    return aws_settings(settings.provider.options_of("aws"), str(settings.source or "hypertest.yml"))


def aws_settings(raw: Mapping[str, Any], source: str = "hypertest.yml") -> AwsSettings:
    """AwsSettings from the validated `provider.aws` mapping; the bucket is required."""
    if not raw.get("bucket"):
        raise ConfigError(f"{source}: provider.aws.bucket: required when provider.type is aws",
                          hint="name the S3 bucket for artifacts and reports")
    raw = with_defaults(raw, schema_at(load_schema(), "provider", "aws"))  # the schema's defaults
    return AwsSettings(
        bucket=raw["bucket"],
        region=raw.get("region"),
        profile=raw.get("profile"),
        function_name=raw["functionName"],
        prefix=raw["prefix"],
        role_arn=raw.get("roleArn"),
        repository=raw.get("repository"),
        base_image=raw.get("baseImage"),
        python_image=raw["pythonImage"],
        memory_mb=int(raw["memory"]),
        timeout_s=int(raw["timeout"]),
        ephemeral_storage_mb=int(raw["ephemeralStorage"]),
        architecture=raw["architecture"],
        environment=dict(raw["environment"]),
        presign_expiry_s=int(raw["presignExpiry"]),
        drift=raw["drift"],
        test_bundles=bool(raw["testBundles"]),
        throttle_retries=int(raw["throttleRetries"]),
        function_error_retries=int(raw["functionErrorRetries"]),
        endpoints=dict(raw["endpoints"]),
        registry=raw.get("registry"),
        build_network=raw["buildNetwork"],
    )
