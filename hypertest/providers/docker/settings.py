"""The docker provider's settings, read from hypertest.yml's `provider.docker` (already schema-validated)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hypertest.core.config import load_schema
from hypertest.core.schema_defaults import schema_at, with_defaults


@dataclass(frozen=True)
class DockerSettings:
    """Everything the docker provider needs (docker_settings fills in the schema's defaults)."""

    base_image: str | None
    python_image: str
    memory_mb: int
    timeout_s: int
    ephemeral_storage_mb: int
    environment: Mapping[str, str]
    build_network: str
    test_bundles: bool = True

    @property
    def network(self) -> str | None:
        """The build network as the Docker SDK takes it (None: the daemon's default)."""
        return None if self.build_network == "default" else self.build_network


def docker_settings(raw: Mapping[str, Any]) -> DockerSettings:
    """DockerSettings from the validated `provider.docker` mapping."""
    data = with_defaults(dict(raw), schema_at(load_schema(), "provider", "docker"))
    return DockerSettings(base_image=data.get("baseImage"), python_image=str(data["pythonImage"]),
                          memory_mb=int(data["memory"]), timeout_s=int(data["timeout"]),
                          ephemeral_storage_mb=int(data["ephemeralStorage"]),
                          environment=dict(data["environment"]), build_network=str(data["buildNetwork"]),
                          test_bundles=bool(data["testBundles"]))
