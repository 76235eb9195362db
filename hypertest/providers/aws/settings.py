"""The AWS provider's settings, read from hypertest.yml's `provider.aws` (already schema-validated)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hypertest.errors import ConfigError


@dataclass(frozen=True)
class AwsSettings:
    """Everything the AWS provider needs; defaults as documented in the schema."""

    bucket: str
    region: str | None = None
    profile: str | None = None
    function_name: str = "hypertest"
    prefix: str = "hypertest"
    role_arn: str | None = None
    repository: str | None = None
    base_image: str | None = None
    memory_mb: int = 4096
    timeout_s: int = 900
    ephemeral_storage_mb: int = 2048
    architecture: str = "x86_64"
    environment: Mapping[str, str] = field(default_factory=dict)
    presign_expiry_s: int = 604800
    drift: str = "warn"
    throttle_retries: int = 8
    function_error_retries: int = 0
    endpoints: Mapping[str, str] = field(default_factory=dict)
    registry: str | None = None
    build_network: str = "default"

    @property
    def repository_name(self) -> str:
        """The ECR repository: configured, or named after the function."""
        return self.repository or self.function_name.lower()

    def key(self, *parts: str) -> str:
        """An S3 key below the prefix."""
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p.strip("/"))


def aws_settings(raw: Mapping[str, Any], source: str = "hypertest.yml") -> AwsSettings:
    """AwsSettings from the validated `provider.aws` mapping; the bucket is required."""
    if not raw.get("bucket"):
        raise ConfigError(f"{source}: provider.aws.bucket: required when provider.type is aws",
                          hint="name the S3 bucket for artifacts and reports")
    return AwsSettings(
        bucket=raw["bucket"],
        region=raw.get("region"),
        profile=raw.get("profile"),
        function_name=raw.get("functionName", "hypertest"),
        prefix=raw.get("prefix", "hypertest"),
        role_arn=raw.get("roleArn"),
        repository=raw.get("repository"),
        base_image=raw.get("baseImage"),
        memory_mb=int(raw.get("memory", 4096)),
        timeout_s=int(raw.get("timeout", 900)),
        ephemeral_storage_mb=int(raw.get("ephemeralStorage", 2048)),
        architecture=raw.get("architecture", "x86_64"),
        environment=dict(raw.get("environment", {})),
        presign_expiry_s=int(raw.get("presignExpiry", 604800)),
        drift=raw.get("drift", "warn"),
        throttle_retries=int(raw.get("throttleRetries", 8)),
        function_error_retries=int(raw.get("functionErrorRetries", 0)),
        endpoints=dict(raw.get("endpoints", {})),
        registry=raw.get("registry"),
        build_network=raw.get("buildNetwork", "default"),
    )
