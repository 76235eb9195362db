"""The config schema is composed from core's part and the plugins' and providers' fragments: the
published schema/hypertest.schema.json is that composition, and a new provider or plugin package is
found, validated and configured without a change to core."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import hypertest.plugins
import hypertest.providers
from hypertest.core import schema_compose
from hypertest.core.load import load_settings
from hypertest.core.registry import provider_entry, runner_plugin
from hypertest.errors import ConfigError
from tests.conftest import ROOT


def test_the_published_schema_is_the_composition() -> None:
    published = json.loads((ROOT / "schema" / "hypertest.schema.json").read_text(encoding="utf-8"))
    assert published == schema_compose.composed_schema(), "run: python scripts/compose_schema.py"


@pytest.fixture
def third_parties(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A provider `echo` and a test runner `nose` in their own folders, added to the packages' paths."""
    provider = tmp_path / "providers" / "echo"
    provider.mkdir(parents=True)
    (provider / "__init__.py").write_text("class Entry:\n    def default_concurrency(self):\n        return 3\n\n"
                                          "PROVIDER = Entry()\n")
    (provider / "schema.json").write_text(json.dumps({"label": "echoes", "options": {
        "type": "object", "additionalProperties": False, "default": {},
        "properties": {"loudness": {"type": "integer", "minimum": 1, "default": 3}}}}))
    plugin = tmp_path / "plugins" / "nose"
    plugin.mkdir(parents=True)
    (plugin / "__init__.py").write_text("PLUGIN = 'the nose plugin'\n")
    (plugin / "schema.json").write_text(json.dumps({"label": "nose", "testRunner": {
        "noseArgs": {"type": "array", "items": {"type": "string"}}}}))
    monkeypatch.setattr(hypertest.providers, "__path__", [*hypertest.providers.__path__, str(provider.parent)])
    monkeypatch.setattr(hypertest.plugins, "__path__", [*hypertest.plugins.__path__, str(plugin.parent)])
    schema_compose.composed_schema.cache_clear()
    yield tmp_path
    schema_compose.composed_schema.cache_clear()


def test_a_new_provider_and_plugin_need_no_change_to_core(third_parties: Path) -> None:
    schema = schema_compose.composed_schema()
    assert schema["properties"]["provider"]["properties"]["type"]["enum"] == ["aws", "docker", "echo", "local"]
    assert "echo (echoes)" in schema["properties"]["provider"]["properties"]["type"]["description"]
    assert schema["properties"]["testRunner"]["properties"]["type"]["enum"] == ["nose", "playwright", "pytest"]
    assert "noseArgs" in schema["properties"]["testRunner"]["properties"]
    assert provider_entry("echo").default_concurrency() == 3
    assert runner_plugin("nose") == "the nose plugin"
    project = third_parties / "project"
    project.mkdir()
    (project / "playwright.config.ts").write_text("export default {};\n")
    config = project / "hypertest.yml"
    config.write_text("provider:\n  type: echo\n  echo:\n    loudness: 5\n")
    settings = load_settings(config, project, {})
    assert settings.provider.type == "echo"
    assert settings.provider.options_of("echo") == {"loudness": 5}  # its own options, for it to read
    assert settings.concurrency == 3  # the provider's default
    config.write_text("provider:\n  type: echo\n  echo:\n    loudness: 0\n")
    with pytest.raises(ConfigError, match=r"hypertest.yml:4:15: provider.echo.loudness"):
        load_settings(config, project, {})
