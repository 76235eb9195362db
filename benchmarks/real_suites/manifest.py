"""The corpus's manifest (manifest.toml beside this file): which public suites, at which commit, run how."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = Path(__file__).resolve().with_name("manifest.toml")
RUNNERS = ("playwright", "pytest")
SHAPES = ("esm-config", "setup-storage-state", "projects-different-use", "web-server", "pytest-xdist-addopts")
KEYS = {"name", "repo", "commit", "runner", "shapes", "projects", "paths", "args", "python", "needs", "tools",
        "timeout_s", "hypertest", "notes"}


class ManifestError(ValueError):
    """The manifest is not as manifest.toml's header describes."""


@dataclass(frozen=True)
class Suite:
    """One public suite of the corpus."""

    name: str
    repo: str
    commit: str
    runner: str
    shapes: tuple[str, ...]
    projects: tuple[str, ...]
    paths: tuple[str, ...]
    args: tuple[str, ...]
    python: str
    needs: tuple[str, ...]
    tools: tuple[str, ...]
    timeout_s: float
    hypertest: dict[str, Any]
    notes: str


def _strings(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry[key]
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ManifestError(f"{where}: {key} must be a list of non-empty strings")
    return tuple(value)


def _suite(entry: dict[str, Any], index: int) -> Suite:
    where = f"suite {index + 1} ({entry.get('name', '?')})"
    if set(entry) != KEYS:
        raise ManifestError(f"{where}: keys {sorted(set(entry) ^ KEYS)} missing or unknown")
    for key in ("name", "repo", "commit", "runner", "python", "notes"):
        if not isinstance(entry[key], str):
            raise ManifestError(f"{where}: {key} must be a string")
    if not re.fullmatch(r"[A-Za-z0-9._-]+", entry["name"]):
        raise ManifestError(f"{where}: name must be a plain folder name")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", entry["repo"]):
        raise ManifestError(f"{where}: repo must be owner/name")
    if not re.fullmatch(r"[0-9a-f]{40}", entry["commit"]):
        raise ManifestError(f"{where}: commit must be 40 lowercase hex digits")
    if entry["runner"] not in RUNNERS:
        raise ManifestError(f"{where}: runner must be one of {RUNNERS}")
    suite = Suite(name=entry["name"], repo=entry["repo"], commit=entry["commit"], runner=entry["runner"],
                  shapes=_strings(entry, "shapes", where), projects=_strings(entry, "projects", where),
                  paths=_strings(entry, "paths", where), args=_strings(entry, "args", where),
                  python=entry["python"], needs=_strings(entry, "needs", where), tools=_strings(entry, "tools", where),
                  timeout_s=float(entry["timeout_s"]), hypertest=dict(entry["hypertest"]), notes=entry["notes"])
    _check_shape(suite, where)
    return suite


def _check_shape(suite: Suite, where: str) -> None:
    unknown = [shape for shape in suite.shapes if shape not in SHAPES]
    if unknown or not suite.shapes:
        raise ManifestError(f"{where}: shapes must be some of {SHAPES}, not {unknown or 'none'}")
    runner_type = suite.hypertest.get("testRunner", {}).get("type")
    if runner_type != suite.runner:
        raise ManifestError(f"{where}: hypertest.testRunner.type must be {suite.runner!r}")
    if suite.runner == "playwright" and (suite.paths or suite.args or suite.python or not suite.projects):
        raise ManifestError(f"{where}: a Playwright suite names its projects and has no paths, args or python")
    if suite.runner == "pytest" and (suite.projects or not suite.python):
        raise ManifestError(f"{where}: a pytest suite has no projects and names its python")
    if suite.timeout_s <= 0:
        raise ManifestError(f"{where}: timeout_s must be positive")


def load_manifest(path: Path = MANIFEST) -> list[Suite]:
    """Every suite of the manifest, checked; names are unique and the five shapes are all covered."""
    with path.open("rb") as stream:
        document = tomllib.load(stream)
    entries = document.get("suite")
    if not isinstance(entries, list) or not entries:
        raise ManifestError(f"{path}: no [[suite]] entries")
    suites = [_suite(entry, index) for index, entry in enumerate(entries)]
    names = [suite.name for suite in suites]
    if len(set(names)) != len(names):
        raise ManifestError(f"{path}: suite names repeat")
    missing = set(SHAPES) - {shape for suite in suites for shape in suite.shapes}
    if missing:
        raise ManifestError(f"{path}: no suite covers {sorted(missing)}")
    return suites
