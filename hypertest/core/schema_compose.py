"""The configuration's JSON Schema, composed: core's part (hypertest/core/config.schema.json), each test
runner's fragment (its `testRunner` keys) and each provider's (its `provider.<name>` options), found in
the plugin and provider packages. schema/hypertest.schema.json is this composition, written by
scripts/compose_schema.py for editors and users; a test keeps the two equal."""

from __future__ import annotations

import copy
import importlib
import json
import pkgutil
from functools import cache
from pathlib import Path
from typing import Any

CORE_PART = Path(__file__).resolve().parent / "config.schema.json"


@cache
def composed_schema() -> dict[str, Any]:
    """The whole schema of hypertest.yml."""
    schema: dict[str, Any] = json.loads(CORE_PART.read_text(encoding="utf-8"))
    runner = schema["properties"]["testRunner"]
    provider = schema["properties"]["provider"]
    runner_labels = []
    for name, fragment in fragments("plugins"):
        runner["properties"]["type"]["enum"].append(name)
        runner_labels.append(f"{name} ({fragment['label']})")
        for key, subschema in fragment.get("testRunner", {}).items():
            runner["properties"].setdefault(key, copy.deepcopy(subschema))
    provider_labels = []
    for name, fragment in fragments("providers"):
        provider["properties"]["type"]["enum"].append(name)
        provider_labels.append(f"{name} ({fragment['label']})")
        provider["properties"][name] = copy.deepcopy(fragment["options"])
    runner["properties"]["type"]["description"] = "The test framework: " + ", ".join(runner_labels) + "."
    provider["properties"]["type"]["description"] = "Where the tests run: " + ", ".join(provider_labels) + "."
    return schema


@cache
def runner_keys() -> tuple[frozenset[str], dict[str, tuple[str, ...]]]:
    """The testRunner keys of core's part, and every plugin's own keys with the plugins that have each."""
    core: dict[str, Any] = json.loads(CORE_PART.read_text(encoding="utf-8"))
    owners: dict[str, tuple[str, ...]] = {}
    for name, fragment in fragments("plugins"):
        for key in fragment.get("testRunner", {}):
            owners[key] = (*owners.get(key, ()), name)
    return frozenset(core["properties"]["testRunner"]["properties"]), owners


def fragments(package: str) -> list[tuple[str, dict[str, Any]]]:
    """(name, schema fragment) of every plugin or provider below hypertest.<package>, by name."""
    found = []
    base = importlib.import_module(f"hypertest.{package}")
    for module in sorted(pkgutil.iter_modules(base.__path__), key=lambda m: m.name):
        folder = Path(str(getattr(module.module_finder, "path", base.__path__[0])))
        path = folder / module.name / "schema.json" if module.ispkg else folder / f"{module.name}.schema.json"
        if path.is_file():
            found.append((module.name, json.loads(path.read_text(encoding="utf-8"))))
    return found
