"""The runner base image (runner/Dockerfile): built on this machine's Docker daemon and tagged with the
content hash of its inputs, so that a daemon which already has the tag reuses it without a build.

The inputs are what runner/Dockerfile COPYs (pyproject.toml, README.md, hypertest/, runner/, schema/),
the Dockerfile itself, the id of the Python image it is built FROM and the platform. They are found
beside the hypertest package: a checkout, or /opt/hypertest in the action's image."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import hypertest
from hypertest.errors import InfrastructureError, UsageError
from hypertest.providers.image_stream import explain, follow

if TYPE_CHECKING:
    import docker

DEFAULT_PYTHON_IMAGE = "python:3.12-slim-bookworm"  # runner/Dockerfile's default ARG BASE
LOCAL_REPOSITORY = "hypertest-base"
DOCKERFILE = "runner/Dockerfile"
INPUT_FILES = ("pyproject.toml", "README.md")
INPUT_FOLDERS = ("hypertest", "runner", "schema")
# Never part of the image (the repository's .dockerignore says the same), nor of the hash.
SKIPPED_FOLDERS = frozenset({"__pycache__", "node_modules", "hypertest-results", "test-results"})
SKIPPED_SUFFIXES = (".pyc",)
HASH_LENGTH = 24
MAX_DEPTH = 32  # folders below an input folder (a link cycle ends here at the latest)


@dataclass(frozen=True)
class RunnerBase:
    """A runner base image on the daemon."""

    reference: str  # the local tag, f"hypertest-base:{content_hash}"
    content_hash: str  # 24 hex chars
    image_id: str  # the daemon's image id


def source_root() -> Path:
    """The folder holding the hypertest package (and, in a checkout or the action image, runner/)."""
    return Path(hypertest.__file__).resolve().parents[1]


def input_files(root: Path) -> list[tuple[str, Path]]:
    """The build inputs as (path in the build context, file), sorted; links are followed.

    Raises UsageError when root does not hold them (an installed wheel has no runner/Dockerfile)."""
    missing = [name for name in (DOCKERFILE, *INPUT_FILES) if not (root / name).is_file()]
    missing += [name for name in INPUT_FOLDERS if not (root / name).is_dir()]
    if missing:
        raise UsageError(f"the runner base image cannot be built here: {', '.join(missing)} not found in {root}",
                         hint="set baseImage to a runner base image built from runner/Dockerfile and pushed "
                              "(runner/build-base.sh), or run hypertest from a checkout of its repository")
    found = [(name, root / name) for name in INPUT_FILES]
    for folder in INPUT_FOLDERS:
        found.extend(_walk(root / folder, folder))
    return sorted(found)


def _walk(folder: Path, name: str) -> Iterator[tuple[str, Path]]:
    seen: set[str] = set()
    for current, folders, files in os.walk(folder, followlinks=True):
        relative = Path(current).relative_to(folder)
        real = os.path.realpath(current)
        if real in seen or len(relative.parts) >= MAX_DEPTH:
            folders[:] = []
            continue
        seen.add(real)
        folders[:] = sorted(f for f in folders if f not in SKIPPED_FOLDERS)
        for file in files:
            path = Path(current) / file
            if file.endswith(SKIPPED_SUFFIXES) or not path.is_file():
                continue
            yield (Path(name, relative, file).as_posix(), path)


def content_hash(files: list[tuple[str, Path]], python_image_id: str, platform: str) -> str:
    """The hash naming the image: each input's path, executable bit and content, the Python image's id
    and the platform."""
    digest = hashlib.sha256()
    for part in ("hypertest-runner-base/1", python_image_id, platform):
        digest.update(part.encode() + b"\0")
    for name, path in files:
        executable = "x" if os.access(path, os.X_OK) else "-"
        digest.update(f"{name}\0{executable}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\0".encode())
    return digest.hexdigest()[:HASH_LENGTH]


def python_image_id(docker: docker.DockerClient, python_image: str, say: Callable[[str], None], *,
                    setting: str = "pythonImage") -> str:
    """The daemon's id of python_image, pulling it when the daemon does not have it."""
    from docker.errors import APIError, ImageNotFound, NotFound

    try:
        return str(docker.images.get(python_image).id)
    except ImageNotFound:
        pass
    say(f"pulling the Python image {python_image}")
    try:
        return str(docker.images.pull(python_image).id)
    except (ImageNotFound, NotFound, APIError) as exc:
        raise UsageError(f"{setting}: the Python image {python_image} cannot be found or pulled ({explain(exc)})",
                         hint=f"set {setting} to a Python image the Docker daemon has or can pull") from None


def local_reference(digest: str) -> str:
    """The daemon's tag of the runner base image with this content hash."""
    return f"{LOCAL_REPOSITORY}:{digest}"


def runner_base_hash(docker: docker.DockerClient, say: Callable[[str], None], *, python_image: str, platform: str,
                     setting: str = "pythonImage") -> str:
    """The content hash ensure_runner_base would tag the image with, without a build (the Python image is
    pulled when the daemon does not have it: its id is an input)."""
    files = input_files(source_root())
    return content_hash(files, python_image_id(docker, python_image, say, setting=setting), platform)


def ensure_runner_base(docker: docker.DockerClient, say: Callable[[str], None], *, python_image: str,
                       platform: str, network: str | None, setting: str = "pythonImage") -> RunnerBase:
    """The runner base image built from runner/Dockerfile FROM python_image, tagged with the content hash of its
    inputs; reused when the daemon already has that tag.

    `setting` names the option that chose python_image, in the error when it cannot be pulled."""
    from docker.errors import APIError, ImageNotFound

    python_id = python_image_id(docker, python_image, say, setting=setting)
    with tempfile.TemporaryDirectory(prefix="ht-runner-base-") as scratch:
        # The context is a copy of the inputs, and the hash is that copy's: the tag names what is built even
        # when a source changes meanwhile.
        copied = []
        for name, path in input_files(source_root()):
            target = Path(scratch, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)  # follows links
            shutil.copymode(path, target)
            copied.append((name, target))
        digest = content_hash(copied, python_id, platform)
        reference = local_reference(digest)
        try:
            image_id = str(docker.images.get(reference).id)
        except ImageNotFound:
            pass
        else:
            say(f"runner base image {reference}: already built, reused")
            return RunnerBase(reference=reference, content_hash=digest, image_id=image_id)
        say(f"building the runner base image {reference} from {DOCKERFILE} FROM {python_image} "
            "(Chromium, Node.js, the runner: minutes the first time)")
        try:
            stream = docker.api.build(path=scratch, dockerfile=DOCKERFILE, tag=reference,
                                      buildargs={"BASE": python_image}, platform=platform, network_mode=network,
                                      pull=False, rm=True, forcerm=True, decode=True)
            follow(stream, "build of the runner base image", say)
        except APIError as exc:
            raise InfrastructureError(f"docker build of the runner base image failed: {explain(exc)}") from None
    try:
        image_id = str(docker.images.get(reference).id)
    except ImageNotFound:
        raise InfrastructureError(f"docker build of the runner base image ended without an image {reference}"
                                  ) from None
    return RunnerBase(reference=reference, content_hash=digest, image_id=image_id)
