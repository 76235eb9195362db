"""The runner base image: which files name it (its content hash), and, with a real Docker daemon, what
ensure_runner_base does when the Python image is missing or the build fails."""

from __future__ import annotations

import re
from pathlib import Path

import docker
import pytest

from hypertest.errors import InfrastructureError, UsageError
from hypertest.providers.runner_base import (
    DEFAULT_PYTHON_IMAGE,
    content_hash,
    ensure_runner_base,
    input_files,
    source_root,
)
from tests.aws.processes import free_port
from tests.aws.services import build_test_base
from tests.conftest import ROOT

ID = "sha256:" + "1" * 64


def fake_root(folder: Path) -> Path:
    """The inputs' layout as in a checkout: the Dockerfile, the package, the runner, schema/ linked in."""
    files = {"pyproject.toml": "[project]\n", "README.md": "# readme\n", "runner/Dockerfile": "FROM x\n",
             "runner/handler.py": "def handler(): ...\n", "runner/install-deps": "#!/bin/sh\n",
             "hypertest/__init__.py": "", "hypertest/cli.py": "print()\n", "schema/a.schema.json": "{}\n",
             "tests/test_x.py": "", "docs/notes.md": "notes\n"}
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    (folder / "runner" / "install-deps").chmod(0o755)
    (folder / "hypertest" / "schema").symlink_to("../schema")
    return folder


def hash_of(root: Path, python_id: str = ID, platform: str = "linux/amd64") -> str:
    return content_hash(input_files(root), python_id, platform)


def test_the_inputs_are_what_the_dockerfile_copies_with_links_followed(tmp_path: Path) -> None:
    root = fake_root(tmp_path)
    (root / "runner" / "__pycache__").mkdir()
    (root / "runner" / "__pycache__" / "handler.cpython-312.pyc").write_bytes(b"\0")
    (root / "hypertest" / "stale.pyc").write_bytes(b"\0")
    names = [name for name, _ in input_files(root)]
    assert names == ["README.md", "hypertest/__init__.py", "hypertest/cli.py", "hypertest/schema/a.schema.json",
                     "pyproject.toml", "runner/Dockerfile", "runner/handler.py", "runner/install-deps",
                     "schema/a.schema.json"]


def test_the_hash_changes_with_a_runner_file_and_not_with_an_unrelated_one(tmp_path: Path) -> None:
    root = fake_root(tmp_path)
    first = hash_of(root)
    assert re.fullmatch(r"[0-9a-f]{24}", first)
    assert hash_of(root) == first  # stable

    (root / "tests" / "test_x.py").write_text("assert True\n")
    (root / "docs" / "notes.md").write_text("other notes\n")
    (root / "runner" / "__pycache__").mkdir()
    (root / "runner" / "__pycache__" / "handler.cpython-312.pyc").write_bytes(b"\1")
    assert hash_of(root) == first  # not an input

    (root / "runner" / "handler.py").write_text("def handler(): return 1\n")
    second = hash_of(root)
    assert second != first
    (root / "schema" / "a.schema.json").write_text('{"type": "object"}\n')
    third = hash_of(root)
    assert third != second
    (root / "runner" / "install-deps").chmod(0o644)  # the image keeps the mode
    assert hash_of(root) != third
    (root / "runner" / "install-deps").chmod(0o755)
    (root / "runner" / "new.py").write_text("")
    assert hash_of(root) != third
    (root / "runner" / "new.py").unlink()
    assert hash_of(root) == third


def test_the_hash_names_the_python_image_and_the_platform(tmp_path: Path) -> None:
    root = fake_root(tmp_path)
    base = hash_of(root)
    assert hash_of(root, python_id="sha256:" + "2" * 64) != base
    assert hash_of(root, platform="linux/arm64") != base


@pytest.mark.parametrize("missing", ["runner/Dockerfile", "pyproject.toml", "schema"])
def test_without_the_inputs_the_base_cannot_be_built_here(tmp_path: Path, missing: str) -> None:
    root = fake_root(tmp_path)
    path = root / missing
    if path.is_dir():
        for child in path.iterdir():
            child.unlink()
        path.rmdir()
    else:
        path.unlink()
    with pytest.raises(UsageError) as caught:
        input_files(root)
    assert "cannot be built here" in caught.value.message and missing in caught.value.message
    assert "baseImage" in caught.value.hint


def test_this_checkout_holds_the_inputs() -> None:
    assert source_root() == ROOT
    names = {name for name, _ in input_files(ROOT)}
    assert {"runner/Dockerfile", "runner/install-deps", "runner/handler.py", "hypertest/cli.py",
            "hypertest/schema/hypertest.schema.json", "schema/hypertest.schema.json", "pyproject.toml",
            "README.md"} <= names
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)


def test_deploy_builds_on_the_dockerfiles_default_python_image() -> None:
    from hypertest.core.config import load_schema
    from hypertest.core.schema_defaults import schema_at

    dockerfile = (ROOT / "runner" / "Dockerfile").read_text()
    assert f"\nARG BASE={DEFAULT_PYTHON_IMAGE}\n" in dockerfile
    assert schema_at(load_schema(), "provider", "aws", "pythonImage")["default"] == DEFAULT_PYTHON_IMAGE


def first_instruction(dockerfile: Path) -> str:
    """The instruction after FROM, continuation lines joined as Docker joins them."""
    lines = [line for line in dockerfile.read_text().splitlines() if line.strip() and not line.startswith("#")]
    joined: list[str] = []
    for line in lines:
        if joined and joined[-1].endswith("\\"):
            joined[-1] = joined[-1][:-1] + line
        else:
            joined.append(line)
    after = next(i for i, line in enumerate(joined) if line.startswith("FROM ")) + 1
    return joined[after]


def test_the_action_image_and_the_runner_base_share_their_first_layer() -> None:
    runner = first_instruction(ROOT / "runner" / "Dockerfile")
    assert runner == first_instruction(ROOT / "Dockerfile")
    assert runner.startswith("RUN apt-get update")
    for package in ("chromium", "fonts-liberation", "fonts-noto-color-emoji", "fonts-wqy-zenhei"):
        assert f" {package} " in runner  # Latin, emoji and CJK text in screenshots


@pytest.mark.e2e
def test_a_python_image_that_cannot_be_pulled_names_the_setting(docker_host: str) -> None:
    client = docker.DockerClient(base_url=docker_host, timeout=120)
    image = f"127.0.0.1:{free_port()}/no-such-python:3"  # nothing listens there
    with pytest.raises(UsageError) as caught:
        ensure_runner_base(client, lambda _: None, python_image=image, platform="linux/amd64", network="none",
                           setting="provider.aws.pythonImage")
    assert caught.value.message.startswith(f"provider.aws.pythonImage: the Python image {image} cannot be")


@pytest.mark.e2e
def test_a_failed_build_shows_its_last_lines(docker_host: str, tmp_path: Path) -> None:
    client = docker.DockerClient(base_url=docker_host, timeout=120)
    build_test_base(client, tmp_path, "hypertest-test-not-python:1")  # busybox: no apt-get
    said: list[str] = []
    with pytest.raises(InfrastructureError) as caught:
        ensure_runner_base(client, said.append, python_image="hypertest-test-not-python:1", platform="linux/amd64",
                           network="none")
    assert caught.value.message.startswith("docker build of the runner base image failed:")
    assert "apt-get: not found" in caught.value.message  # the build's own output
    assert any("building the runner base image hypertest-base:" in line for line in said)
    assert any(line.strip().startswith("Step 2/") for line in said)
