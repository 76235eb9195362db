"""What a unit wrote into the project (a setup project's saved sign-in, say), carried to later units.

On the local provider every unit runs in the one project folder, so later units see the files in
place. In the cloud each invocation has its own copy of the project: a unit of an early phase packs
the files it created or changed, and units of later phases unpack them before Playwright starts.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

SKIPPED_DIRS = frozenset({"node_modules", ".git", "hypertest-results", "blob-report", "playwright-report"})
MAX_STATE_BYTES = 256 * 1024 * 1024
Snapshot = Mapping[str, tuple[int, int]]


class StateError(ValueError):
    """A state archive that cannot be unpacked safely."""


def snapshot(root: Path, exclude: Iterable[str] = ()) -> dict[str, tuple[int, int]]:
    """Every regular file below root (relative path -> modification time, size), skipping build folders."""
    excluded = {part.strip("/") for part in exclude if part.strip("/")}
    found: dict[str, tuple[int, int]] = {}
    for folder, dirs, files in os.walk(root):
        relative_folder = Path(folder).relative_to(root)
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and (relative_folder / d).as_posix() not in excluded]
        for name in files:
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                continue
            stat = path.stat()
            found[(relative_folder / name).as_posix()] = (stat.st_mtime_ns, stat.st_size)
    return found


def changed_files(root: Path, before: Snapshot, exclude: Iterable[str] = ()) -> list[str]:
    """Files created or modified since the snapshot, relative to root, sorted."""
    return sorted(path for path, stamp in snapshot(root, exclude).items() if before.get(path) != stamp)


def pack(root: Path, files: Iterable[str]) -> bytes:
    """A gzipped tar of the files (relative to root)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for relative in files:
            archive.add(root / relative, arcname=relative, recursive=False)
    return buffer.getvalue()


def unpack(data: bytes, root: Path) -> list[str]:
    """Write the archive's regular files below root (never outside it); returns their paths."""
    written = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        total = 0
        for member in archive.getmembers():
            target = (root / member.name).resolve()
            if not member.isfile() or not target.is_relative_to(root.resolve()):
                raise StateError(f"the state archive holds {member.name!r}, which is not a file inside the project")
            total += member.size
            if total > MAX_STATE_BYTES:
                raise StateError(f"the state archive unpacks to more than {MAX_STATE_BYTES} bytes")
            source = archive.extractfile(member)
            if source is None:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with source, target.open("wb") as handle:
                shutil.copyfileobj(source, handle)
            written.append(member.name)
    return written


def task_root_copy(project_dir: Path) -> Path:
    """A fresh writable copy of a read-only project (Lambda's task root) at one fixed path in the temp folder.

    Every unit of every sandbox then runs its tests from the same folder, which merging the units' blobs
    into one HTML report needs: Playwright refuses blobs whose test folders differ. A sandbox runs one
    unit at a time; the copy replaces the previous unit's.
    """
    target = Path(tempfile.gettempdir()) / "hypertest-project" / project_dir.name
    shutil.rmtree(target.parent, ignore_errors=True)
    target.parent.mkdir(parents=True)
    return writable_copy(project_dir, target)


def writable_copy(project_dir: Path, target: Path) -> Path:
    """A copy of a read-only project (Lambda's task root) that tests may write into; node_modules linked."""
    def ignore(folder: str, names: list[str]) -> list[str]:
        return [name for name in names if name in SKIPPED_DIRS]

    shutil.copytree(project_dir, target, ignore=ignore, symlinks=True)
    for name in ("node_modules",):
        if (project_dir / name).exists():
            (target / name).symlink_to(project_dir / name)
    return target
