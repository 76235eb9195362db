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


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a Python file, lazy ones inside functions included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    """Every import below package of a module in forbidden."""
    problems = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in imports_of(path):
            if any(module == name or module.startswith(name + ".") for name in forbidden):
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
