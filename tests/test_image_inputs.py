"""What a cloud image installs, per test runner: the Playwright plugin's npm manifests, the pytest plugin's
requirements (requirements.txt, else pyproject.toml's dependencies), each in a layer of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from hypertest.core.registry import runner_plugin
from hypertest.errors import UsageError
from hypertest.providers.test_image import prepare_context


def context(project: Path, folder: Path, runner: str) -> tuple[str, str]:
    """(tag, Dockerfile) of the build context of project for the runner's plugin."""
    folder.mkdir()
    built = prepare_context(project, folder, runner_plugin(runner).image_inputs(project), base_image="base:1",
                            base_id="sha256:1", platform="linux/amd64")
    return built.tag, (folder / "Dockerfile").read_text()


def test_a_pytest_image_installs_the_requirements_with_pip(tmp_path: Path) -> None:
    project = tmp_path / "suite"
    (project / "tests").mkdir(parents=True)
    (project / "requirements.txt").write_text("pytest-playwright==0.10.0\n")
    (project / "tests" / "test_a.py").write_text("def test_a():\n    pass\n")
    tag, dockerfile = context(project, tmp_path / "c1", "pytest")
    assert 'RUN ["/opt/hypertest/bin/install-deps", "python"]' in dockerfile
    assert dockerfile.index("COPY deps/") < dockerfile.index("install-deps") < dockerfile.index("COPY project/")
    assert (tmp_path / "c1" / "deps" / "requirements.txt").read_text() == "pytest-playwright==0.10.0\n"
    assert (tmp_path / "c1" / "project" / "tests" / "test_a.py").is_file()
    (project / "requirements.txt").write_text("pytest-playwright==0.10.0\nrequests\n")
    assert context(project, tmp_path / "c2", "pytest")[0] != tag  # a new dependency is a new image


def test_pyproject_dependencies_stand_in_for_requirements(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "s"\ndependencies = ["pytest-playwright"]\n'
                                             '[project.optional-dependencies]\ntest = ["pytest-rerunfailures"]\n')
    inputs = runner_plugin("pytest").image_inputs(tmp_path)
    assert inputs.files == (("requirements.txt", b"pytest-playwright\npytest-rerunfailures\n"),)
    assert inputs.installer == "python"


@pytest.mark.parametrize(("files", "expected"), [
    ({}, "no requirements.txt, and no [project] dependencies"),
    ({"pyproject.toml": "[project\n"}, "not valid TOML"),
    ({"pyproject.toml": "[tool.pytest.ini_options]\n"}, "no requirements.txt, and no [project] dependencies"),
])
def test_a_pytest_project_without_dependencies_is_a_clear_error(tmp_path: Path, files: dict[str, str],
                                                                 expected: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(UsageError, match=expected.replace("[", r"\[")):
        runner_plugin("pytest").image_inputs(tmp_path)


def test_a_playwright_image_installs_the_lockfile_with_npm_ci(tmp_path: Path) -> None:
    project = tmp_path / "suite"
    project.mkdir()
    (project / "package.json").write_text('{"name": "s"}\n')
    with pytest.raises(UsageError, match=r"no package-lock\.json"):
        runner_plugin("playwright").image_inputs(project)
    (project / "package-lock.json").write_text("{}\n")
    _, dockerfile = context(project, tmp_path / "c", "playwright")
    assert 'RUN ["/opt/hypertest/bin/install-deps", "npm"]' in dockerfile
    assert sorted(p.name for p in (tmp_path / "c" / "deps").iterdir()) == ["package-lock.json", "package.json"]


def test_the_base_images_header_names_every_installer_install_deps_has() -> None:
    import itertools
    import re

    from tests.conftest import ROOT

    installers = re.findall(r"^  (\w+)\) exec ", (ROOT / "runner" / "install-deps").read_text(), re.MULTILINE)
    lines = (ROOT / "runner" / "Dockerfile").read_text().splitlines(keepends=True)
    header = "".join(itertools.takewhile(lambda line: line.startswith("#"), lines))  # its leading comment
    assert installers == ["npm", "python"]
    for installer in installers:
        assert f"`install-deps {installer}`" in header
    assert "requirements.txt" in header and "pyproject.toml" in header
