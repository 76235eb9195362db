"""Tests without a rebuild: what the deployed image holds against the local sources, and the content-addressed
bundle of changed test files that a unit lays over the image's copy (runner/bundle.py) instead of a deploy.

A change is one of three kinds. `same`: nothing to ship. `tests`: only files the tests read changed (the
bundle carries them). `deploy`: something the image is built from changed (the dependency manifests, the
test runner's config, the runner itself, or what deploy was told to build from), so the image must be
deployed again: a bundle cannot install a package.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import runner
from hypertest import __version__
from hypertest.core.contracts import ImageInputs
from hypertest.core.registry import runner_plugin
from hypertest.core.sources import source_files
from hypertest.errors import HypertestError
from hypertest.providers.test_image import is_secret
from runner.bundle_format import build_bundle

ChangeKind = Literal["same", "tests", "deploy"]
RUNNER_SKIPPED = frozenset({"__pycache__", "node_modules"})
MAX_LISTED = 5  # changed files named in a message


@dataclass(frozen=True)
class Sources:
    """What a test image is built from: the key of everything that needs a deploy, and the hash of each
    file the tests may read (project-relative path -> sha256)."""

    deploy_key: str
    files: Mapping[str, str]

    def to_json(self) -> dict[str, Any]:
        """The form a manifest or an image label stores."""
        return {"deployKey": self.deploy_key, "files": dict(sorted(self.files.items()))}


@dataclass(frozen=True)
class SourceChange:
    """How the local sources differ from the deployed ones."""

    kind: ChangeKind
    changed: tuple[str, ...] = ()  # files new or different here (kind tests)
    deleted: tuple[str, ...] = ()  # files the image has and the project no longer does (kind tests)
    reason: str = ""  # why a deploy is needed (kind deploy)

    def describe(self) -> str:
        """The change in words, naming a few files."""
        if self.kind == "deploy":
            return self.reason
        names = [*self.changed, *(f"{name} (deleted)" for name in self.deleted)]
        shown = ", ".join(names[:MAX_LISTED]) + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED
                                                 else "")
        return f"{len(names)} test file{'s' if len(names) != 1 else ''} changed since the deploy: {shown}"


@dataclass(frozen=True)
class TestBundle:
    """A bundle's bytes, named by their sha256."""

    sha256: str
    data: bytes
    files: int
    deleted: int

    @property
    def name(self) -> str:
        """Its object or file name in a bundle store."""
        return f"{self.sha256}.tar.gz"

    def reference(self, store: Mapping[str, Any]) -> dict[str, Any]:
        """The envelope's `bundle`: where a unit fetches it (store: shaped like the envelope's artifacts)."""
        return {"sha256": self.sha256, "key": self.name, "bytes": len(self.data), "store": dict(store)}

    def details(self) -> dict[str, Any]:
        """What results.json's providerDetails records of it."""
        return {"sha256": self.sha256, "bytes": len(self.data), "files": self.files, "deleted": self.deleted}


def runner_hash() -> str:
    """A hash of the runner package this hypertest ships (the code inside the image that runs units)."""
    root = Path(runner.__file__).resolve().parent
    total = hashlib.sha256(__version__.encode())
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in RUNNER_SKIPPED)
        for name in sorted(files):
            path = Path(folder, name)
            if name.endswith(".pyc") or not path.is_file():
                continue
            total.update(path.relative_to(root).as_posix().encode() + b"\0")
            total.update(hashlib.sha256(path.read_bytes()).digest())
    return total.hexdigest()


def local_sources(project_dir: Path, inputs: ImageInputs, config_file: Path, *, built_from: Sequence[str],
                  skip: frozenset[str] = frozenset()) -> Sources:
    """The project's sources as deploy would build them: built_from names what else the image is built from
    (base image, runner), which a bundle cannot change either."""
    files = {path.relative_to(project_dir).as_posix(): _file_hash(path)
             for path in source_files(project_dir, skip) if not is_secret(path)}
    key = hashlib.sha256()
    parts = [inputs.installer, *built_from, *(f"deps/{name}:{hashlib.sha256(data).hexdigest()}"
                                               for name, data in inputs.files)]
    parts.append(f"config/{_config_name(project_dir, config_file)}:{_config_hash(config_file)}")
    for part in parts:
        key.update(part.encode() + b"\0")
    return Sources(deploy_key=key.hexdigest(), files=files)


def project_sources(test_runner: str, project_dir: Path, config_file: Path, built_from: Sequence[str],
                    skip: frozenset[str] = frozenset()) -> Sources | None:
    """A project's sources as its runner plugin builds an image of them; None when it cannot (no lockfile,
    say: a deploy would say so)."""
    try:
        inputs = runner_plugin(test_runner).image_inputs(project_dir)
    except HypertestError:
        return None
    return local_sources(project_dir, inputs, config_file, built_from=built_from, skip=skip)


def deploy_input_names(test_runner: str, project_dir: Path, config_file: Path) -> tuple[str, ...]:
    """The project's files whose change needs a deploy, as named in messages: dependency manifests, config."""
    try:
        names = [name for name, _ in runner_plugin(test_runner).image_inputs(project_dir).files]
    except HypertestError:
        names = []
    return (*names, _config_name(project_dir, config_file))


def sources_from_json(document: Any) -> Sources | None:
    """Sources as a manifest or label stores them; None when the document does not hold them (an older deploy)."""
    if not isinstance(document, Mapping):
        return None
    key, files = document.get("deployKey"), document.get("files")
    if not isinstance(key, str) or not isinstance(files, Mapping):
        return None
    if not all(isinstance(name, str) and isinstance(value, str) for name, value in files.items()):
        return None
    return Sources(deploy_key=key, files=dict(files))


def compare(deployed: Sources | None, local: Sources, *, deploy_inputs: Sequence[str] = ()) -> SourceChange:
    """How local differs from what the image holds (deployed None: an image whose sources are not known)."""
    if deployed is None:
        return SourceChange("deploy", reason="the deployed image does not record its test files (deployed by an "
                                             "older hypertest)")
    if deployed.deploy_key != local.deploy_key:
        named = [name for name in deploy_inputs if deployed.files.get(name) != local.files.get(name)]
        what = ", ".join(named) if named else "the runner, its base image or the test runner's config"
        return SourceChange("deploy", reason=f"what the image is built from changed since the deploy ({what})")
    changed = tuple(sorted(name for name, digest in local.files.items() if deployed.files.get(name) != digest))
    deleted = tuple(sorted(name for name in deployed.files if name not in local.files))
    if not changed and not deleted:
        return SourceChange("same")
    return SourceChange("tests", changed=changed, deleted=deleted)


def make_bundle(project_dir: Path, change: SourceChange, local: Sources) -> TestBundle:
    """The bundle of a `tests` change: the changed files' content and the deleted files' names."""
    files = {name: local.files[name] for name in change.changed}
    data = build_bundle(project_dir, files, change.deleted)
    return TestBundle(sha256=hashlib.sha256(data).hexdigest(), data=data, files=len(files),
                      deleted=len(change.deleted))


def bundle_line(change: SourceChange, bundle: TestBundle) -> str:
    """What invoke says when it ships a bundle instead of asking for a deploy."""
    return (f"{change.describe()}; shipping them as test bundle {bundle.sha256[:12]} ({_size(len(bundle.data))}) "
            "instead of a deploy")


def _size(count: int) -> str:
    return f"{count / 1024:.1f} KiB" if count < 1024 * 1024 else f"{count / 1024 / 1024:.1f} MiB"


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _config_name(project_dir: Path, config_file: Path) -> str:
    try:
        return config_file.resolve().relative_to(project_dir.resolve()).as_posix()
    except ValueError:
        return config_file.name


def _config_hash(config_file: Path) -> str:
    try:
        return _file_hash(config_file)
    except OSError:
        return "missing"
