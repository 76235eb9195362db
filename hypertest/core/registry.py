"""Plugins, providers and reporters by the names the config gives: `testRunner.type: pytest` is the PLUGIN
of hypertest.plugins.pytest, `provider.type: aws` the PROVIDER of hypertest.providers.aws, `reporters:
[junit]` the REPORTER of hypertest.reporters.junit. Core imports none of them by name in its code."""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from typing import Any, TextIO, cast

from hypertest.core.contracts import ProviderEntry, ProviderStarter, Reporter, Starter, TestRunnerPlugin
from hypertest.errors import UsageError

_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def runner_plugin(name: str) -> TestRunnerPlugin:
    """The test-runner plugin registered under name."""
    return cast(TestRunnerPlugin, _entry("plugins", name, "PLUGIN", "testRunner.type"))


def provider_entry(name: str) -> ProviderEntry:
    """The provider registered under name."""
    return cast(ProviderEntry, _entry("providers", name, "PROVIDER", "provider.type"))


def provider_names() -> tuple[str, ...]:
    """Every provider's name, as provider.type accepts them (those whose schema fragment ships), by name."""
    from hypertest.core.schema_compose import fragments

    return tuple(name for name, _ in fragments("providers"))


def provider_starter(name: str, *, function: str, bucket: str) -> Starter:
    """What `hypertest init` writes for the provider registered under name."""
    entry = provider_entry(name)
    if not callable(getattr(entry, "starter", None)):
        return Starter()
    return cast(ProviderStarter, entry).starter(function=function, bucket=bucket)


def reporters(names: Sequence[str], out: TextIO) -> list[Reporter]:
    """The reporters the `reporters` setting names, in its order."""
    return [_entry("reporters", name, "REPORTER", "reporters")(out) for name in names]


def _entry(package: str, name: str, attribute: str, key: str) -> Any:
    if not _NAME.fullmatch(name):
        raise UsageError(f"{key}: {name!r} is not a name hypertest knows")
    try:
        module = importlib.import_module(f"hypertest.{package}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"hypertest.{package}.{name}":
            raise UsageError(f"{key}: {name!r} is not a name hypertest knows") from None
        missing = (exc.name or "").split(".")[0]
        raise UsageError(f"{key}: {name} needs the Python package {missing!r}, which is not installed",
                         hint=f"pip install 'hypertest[{name}]'") from None
    found = getattr(module, attribute, None)
    if found is None:
        raise UsageError(f"{key}: hypertest.{package}.{name} registers no {attribute}")
    return found
