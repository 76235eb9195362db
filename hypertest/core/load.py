"""Settings from hypertest.yml: the config read and validated (core/config.py), then completed with what only
the chosen test runner and provider know (found by name in core/registry.py). The one place that joins them,
so that neither config nor the registry imports the other."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from hypertest.core.config import Settings, build_settings, read_config
from hypertest.core.registry import provider_entry, runner_plugin


def load_settings(path: Path | None, cwd: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """The validated Settings of the config at path (the defaults when None), relative to cwd."""
    config = read_config(path, cwd, environ)
    plugin = runner_plugin(config.runner_type)
    return build_settings(config, plugin, provider_entry(config.provider_type).default_concurrency())
