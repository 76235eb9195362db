"""The docker provider: Lambda's runtime contract emulated on this machine's Docker daemon, with the very
image deploy pushes (built here, not pushed). The Docker SDK loads only when the provider is used."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from hypertest.core.config import Settings
    from hypertest.core.contracts import Check, Discovery, Provider, ProviderEntry


class _DockerEntry:
    """The docker provider as the registry finds it (provider.type: docker)."""

    checks_tests = False

    def default_concurrency(self) -> int:
        """As many sandboxes as this machine has CPUs."""
        return os.cpu_count() or 2

    def create(self, settings: Settings, environ: Mapping[str, str], out: TextIO) -> Provider:
        """Emulated Lambda sandboxes of the test image."""
        _require_sdk()
        from hypertest.providers.docker.provider import DockerProvider
        from hypertest.providers.docker.settings import docker_settings

        return DockerProvider(docker_settings(settings.provider.options_of("docker")), settings,
                              settings.concurrency, out, environ)

    def doctor_checks(self, settings: Settings, environ: Mapping[str, str]) -> list[Check]:
        """The Docker daemon must answer."""
        from hypertest.core.contracts import Check
        from hypertest.errors import HypertestError

        try:
            _require_sdk()
            from hypertest.providers.test_image import docker_client

            version = docker_client(environ).version().get("Version", "?")
        except HypertestError as exc:
            return [Check("Docker", "error", exc.message, exc.hint)]
        return [Check("Docker", "ok", f"daemon {version}")]

    def test_warnings(self, settings: Settings, discovery: Discovery) -> list[str]:
        """Nothing to warn about before a run."""
        return []

    def deploy(self, settings: Settings, out: TextIO, environ: Mapping[str, str]) -> None:
        """Nothing to deploy: invoke builds the image on the daemon when the sources changed."""
        from hypertest.errors import UsageError

        raise UsageError("deploy needs provider.type: aws in hypertest.yml (the docker provider builds its image "
                         "at invoke)")


def _require_sdk() -> None:
    import importlib.util

    from hypertest.errors import UsageError

    if importlib.util.find_spec("docker") is None:
        raise UsageError("provider.type: docker needs the Python package docker, which is not installed",
                         hint="pip install 'hypertest[aws]'")


PROVIDER: ProviderEntry = _DockerEntry()
