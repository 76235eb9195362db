"""Import layers, in the spirit of Playwright's DEPS.list: core owns the contracts and imports no
implementation; plugins, providers and reporters do not reach into each other; the runner (shipped
alone in the Lambda image) imports nothing of the host side."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

# package (a folder or module below the repository) -> imports it must not make
RULES: dict[str, tuple[str, ...]] = {
    "hypertest/core": ("hypertest.plugins", "hypertest.providers", "hypertest.reporters", "hypertest.github",
                       "hypertest.cli", "hypertest.doctor", "hypertest.init"),
    "hypertest/plugins": ("hypertest.providers", "hypertest.github", "hypertest.cli"),
    "hypertest/providers": ("hypertest.plugins", "hypertest.github", "hypertest.cli"),
    # providers share only the modules beside them (test_image, runner_base, image_stream)
    "hypertest/providers/aws": ("hypertest.providers.docker", "hypertest.providers.local"),
    "hypertest/providers/docker": ("hypertest.providers.aws", "hypertest.providers.local"),
    "hypertest/reporters": ("hypertest.plugins", "hypertest.providers", "hypertest.cli"),
    "hypertest/github": ("hypertest.cli", "hypertest.plugins", "hypertest.providers.local"),
    "runner": ("hypertest",),
}


def imports_in(source: str, package: str) -> list[tuple[int, str]]:
    """(line, module) of every import in Python source whose own package is `package` (dotted), lazy ones
    inside functions included. `from a import b` counts as both `a` and `a.b` (b may be a module), and a
    relative import is resolved against the package."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[:len(parts) - node.level + 1], *([base] if base else [])])
            if node.module:
                found.append((node.lineno, base))
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names if alias.name != "*")
    return found


def package_of(path: Path) -> str:
    """The dotted package a file below the repository belongs to (a package's __init__.py: the package)."""
    return ".".join(path.relative_to(ROOT).parent.parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a Python file below the repository."""
    return imports_in(path.read_text(encoding="utf-8"), package_of(path))


def violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    """Every import below package of a module in forbidden (`from a import b` once, as `a` when a is)."""
    problems = []
    for path in sorted((ROOT / package).rglob("*.py")):
        reported: list[tuple[int, str]] = []
        for line, module in imports_of(path):
            if any(line == seen and module.startswith(name + ".") for seen, name in reported):
                continue
            if any(module == name or module.startswith(name + ".") for name in forbidden):
                reported.append((line, module))
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return problems


@pytest.mark.parametrize("package", list(RULES))
def test_layer_imports_only_what_it_may(package: str) -> None:
    assert violations(package, RULES[package]) == []


def test_the_checker_finds_a_forbidden_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "bad.py").write_text("def f():\n    from hypertest.plugins.playwright import PLUGIN\n")
    monkeypatch.setattr("tests.test_import_layers.ROOT", tmp_path)
    assert violations("core", ("hypertest.plugins",)) == ["core/bad.py:2 imports hypertest.plugins.playwright"]


@pytest.mark.parametrize(("source", "package", "found"), [
    ("from hypertest import cli\n", "hypertest.github", "hypertest.cli"),
    ("from hypertest import providers\n", "hypertest.core", "hypertest.providers"),
    ("from hypertest.providers import local as lp\n", "hypertest.github", "hypertest.providers.local"),
    ("from ..reporters import console\n", "hypertest.core", "hypertest.reporters.console"),
    ("from .. import plugins\n", "hypertest.core", "hypertest.plugins"),
    ("from ..cli import main\n", "hypertest.github", "hypertest.cli"),
])
def test_the_checker_sees_every_form_of_import(source: str, package: str, found: str) -> None:
    assert found in [module for _, module in imports_in(source, package)]


def test_relative_imports_resolve_against_the_files_package(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "hypertest" / "core").mkdir(parents=True)
    (tmp_path / "hypertest" / "github").mkdir()
    (tmp_path / "hypertest" / "core" / "bad.py").write_text("from ..reporters import console\n")
    (tmp_path / "hypertest" / "github" / "bad.py").write_text("from hypertest import cli\n")
    (tmp_path / "hypertest" / "github" / "fine.py").write_text("from . import markdown\nfrom ..core import suite\n")
    monkeypatch.setattr("tests.test_import_layers.ROOT", tmp_path)
    assert violations("hypertest/core", RULES["hypertest/core"]) == [
        "hypertest/core/bad.py:1 imports hypertest.reporters"]
    assert violations("hypertest/github", RULES["hypertest/github"]) == [
        "hypertest/github/bad.py:1 imports hypertest.cli"]


def test_github_names_no_provider() -> None:
    """The GitHub side shows what a provider recorded (providerDetails); it branches on no provider's name."""
    from hypertest.core.registry import provider_names

    names = set(provider_names())
    found = [f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}"
             for path in sorted((ROOT / "hypertest" / "github").rglob("*.py"))
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Constant) and node.value in names]
    assert found == []
