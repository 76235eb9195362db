"""`hypertest init` takes its providers from the registry: a new provider folder (its schema fragment and its
PROVIDER) is a choice of --provider, and what init writes for it beyond hypertest.yml is its entry's."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import hypertest.providers
from hypertest.core.registry import provider_names, provider_starter
from tests.conftest import CliResult

ENTRY = '''
from hypertest.core.contracts import Starter


class _Entry:
    checks_tests = False

    def starter(self, *, function, bucket):
        return Starter(concurrency=7, folder="setup", documents={"grant.json": {"function": function}},
                       next_steps="next: apply setup/grant.json")


PROVIDER = _Entry()
'''


def add_provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, entry: str) -> None:
    """A provider folder hypertest.providers finds, as if it shipped: schema.json and __init__.py."""
    folder = tmp_path / "more-providers" / name
    folder.mkdir(parents=True)
    (folder / "schema.json").write_text(json.dumps({"label": "a provider of the test",
                                                    "options": {"type": "object", "default": {}}}))
    (folder / "__init__.py").write_text(entry)
    monkeypatch.setattr(hypertest.providers, "__path__", [*hypertest.providers.__path__, str(folder.parent)])
    monkeypatch.delitem(sys.modules, f"hypertest.providers.{name}", raising=False)
    importlib.invalidate_caches()


def test_the_shipped_providers_are_the_choices() -> None:
    assert provider_names() == ("aws", "docker", "local")


def test_init_offers_a_new_provider_folder_and_writes_its_starter(
        cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_provider(tmp_path, monkeypatch, "fake", ENTRY)
    project = tmp_path / "project"
    project.mkdir()
    result = cli("init", "--provider", "fake", "--function-name", "fn", cwd=project)
    assert result.code == 0, result.err
    text = (project / "hypertest.yml").read_text()
    assert "  type: fake " in text and "concurrency: ${HT_CONCURRENCY:-7}" in text
    assert json.loads((project / "setup" / "grant.json").read_text()) == {"function": "fn"}
    assert result.out.splitlines()[-1] == "next: apply setup/grant.json"


def test_a_provider_without_a_starter_gets_the_plain_one(
        cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_provider(tmp_path, monkeypatch, "bare", "class _Entry:\n    checks_tests = False\n\n\nPROVIDER = _Entry()\n")
    assert provider_starter("bare", function="f", bucket="b").documents == {}
    assert cli("init", "--provider", "bare", cwd=tmp_path).code == 0
    assert "concurrency: ${HT_CONCURRENCY:-4}" in (tmp_path / "hypertest.yml").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hypertest.yml", "more-providers"]


def test_the_aws_starter_is_its_policies_in_iam() -> None:
    starter = provider_starter("aws", function="e2e", bucket="team-artifacts")
    assert starter.concurrency == 100 and starter.folder == "iam"
    assert sorted(starter.documents) == ["bucket-cors.json", "deploy-policy.json", "function-role-policy.json",
                                         "function-trust-policy.json", "invoke-policy.json"]
    local = provider_starter("local", function="e2e", bucket="team-artifacts")
    assert (local.concurrency, local.documents) == (4, {})
