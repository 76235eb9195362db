"""Where a unit's artifacts go: an ArtifactStore puts files under `<runId>/` by key."""

from __future__ import annotations

import mimetypes
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol


class ArtifactStore(Protocol):
    """Stores files of one run; keys are `/`-separated paths below the run's folder."""

    def put(self, source: Path, key: str, content_type: str) -> str:
        """Store source under key; returns the locator written into results (a path or URL)."""

    def put_bytes(self, data: bytes, key: str, content_type: str) -> str:
        """Store data under key; returns its locator."""

    def get_bytes(self, key: str) -> bytes:
        """The data stored under key (raises OSError or the store's error when missing)."""


class LocalDirectoryStore:
    """Artifacts in a folder on this machine: `<root>/<key>`; locators are paths relative to root."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, source: Path, key: str, content_type: str) -> str:
        """Copy source to root/key."""
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return key

    def put_bytes(self, data: bytes, key: str, content_type: str) -> str:
        """Write data to root/key."""
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return key

    def get_bytes(self, key: str) -> bytes:
        """Read root/key."""
        return (self.root / key).read_bytes()


class UnknownStoreError(ValueError):
    """The payload names an artifact store this runner does not know."""


class AttemptStore:
    """A fresh attempt's store: keys below a test's `attempt-<k>` folder move to `attempt-<k + first>`, and its
    own other folders (`<testId>/custom/...`) below `<testId>/attempt-<first>/`, so that a retry's files sit
    beside, never over, the earlier attempts' (a unit's own folders, `units/<unitId>/...`, differ already)."""

    def __init__(self, inner: ArtifactStore, first: int) -> None:
        self.inner = inner
        self.first = first

    def key(self, key: str) -> str:
        """Where key goes for this attempt."""
        head, _, rest = key.partition("/")
        if not rest or head in UNIT_FOLDERS:
            return key
        match = re.fullmatch(r"attempt-(\d+)(/.*)", rest)
        if match:
            return f"{head}/attempt-{int(match.group(1)) + self.first}{match.group(2)}"
        return f"{head}/attempt-{self.first}/{rest}"

    def put(self, source: Path, key: str, content_type: str) -> str:
        """Store source under this attempt's key."""
        return self.inner.put(source, self.key(key), content_type)

    def put_bytes(self, data: bytes, key: str, content_type: str) -> str:
        """Store data under this attempt's key."""
        return self.inner.put_bytes(data, self.key(key), content_type)

    def get_bytes(self, key: str) -> bytes:
        """Read key as stored (earlier phases' files are no attempt's)."""
        return self.inner.get_bytes(key)


UNIT_FOLDERS = frozenset({"units", "blobs", "state", "results"})  # a unit's own keys: its id tells them apart


def store_from_payload(artifacts: Mapping[str, Any]) -> ArtifactStore:
    """The store the payload's `artifacts` object describes (an AttemptStore over it for a fresh attempt whose
    `attempt` is past the first)."""
    store = _store_of(artifacts)
    first = artifacts.get("attempt")
    if isinstance(first, int) and not isinstance(first, bool) and first > 0:
        return AttemptStore(store, first)
    return store


def _store_of(artifacts: Mapping[str, Any]) -> ArtifactStore:
    kind = artifacts.get("kind", "local")
    if kind == "local":
        root = artifacts.get("root")
        if not isinstance(root, str) or not root:
            raise UnknownStoreError("artifacts.root: expected the run folder's path")
        return LocalDirectoryStore(Path(root))
    if kind == "s3":
        from runner.s3_store import S3Store

        bucket, prefix = artifacts.get("bucket"), artifacts.get("prefix")
        if not isinstance(bucket, str) or not bucket or not isinstance(prefix, str) or not prefix:
            raise UnknownStoreError("artifacts: an s3 store needs bucket and prefix")
        endpoint = artifacts.get("endpointUrl")
        return S3Store(bucket, prefix, endpoint if isinstance(endpoint, str) else None)
    raise UnknownStoreError(f"artifacts.kind: unknown store {kind!r}")


def guess_content_type(path: Path, declared: str | None = None) -> str:
    """The content type to store a file with."""
    if declared:
        return declared
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def safe_segment(name: str, limit: int = 80) -> str:
    """A file-name-safe version of an attachment name."""
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name).strip(".-")
    return (cleaned or "attachment")[:limit]


def store_for_unit(records: Sequence[dict[str, Any]], test_ids: Sequence[str], unit_id: str, store: ArtifactStore,
                   *, source: Path, kind: str, relative: str) -> None:
    """Store a file of the unit's that no one attempt owns: a unit of one test keeps it in the test's folder
    (`<testId>/<kind>/...`), a unit of several in one folder of the unit (`units/<unitId>/<kind>/...`), listed
    on each record."""
    prefix = f"{test_ids[0]}/{kind}" if len(test_ids) == 1 else f"units/{unit_id}/{kind}"
    content_type = guess_content_type(source)
    entry = {"name": relative, "path": store.put(source, f"{prefix}/{relative}", content_type),
             "contentType": content_type, "attempt": None}
    for record in records:
        record["artifacts"].append(dict(entry))


def store_custom_artifacts(records: Sequence[dict[str, Any]], test_ids: Sequence[str], unit_id: str, folder: Path,
                           store: ArtifactStore) -> None:
    """Store the files the tests wrote below HT_TEST_ARTIFACTS_OUTPUT_PATH (folder), for the unit."""
    if not folder.is_dir():
        return
    for source in sorted(p for p in folder.rglob("*") if p.is_file()):
        store_for_unit(records, test_ids, unit_id, store, source=source, kind="custom",
                       relative=source.relative_to(folder).as_posix())
