"""The history store of the providers that run on this machine (local, docker) and of the action: a folder
(`history.path`, default <output>/.history) with one sub-folder per branch and one file per run, which a
workflow keeps between jobs with actions/cache."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from hypertest.core.regular_file import open_regular

ENTRY_SUFFIX = ".json"


class FolderHistory:
    """A HistoryStore in a folder of this machine: `<folder>/<branch key>/<entry name>`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def where(self) -> str:
        """The folder."""
        return str(self.folder)

    def names(self, branch_key: str, limit: int) -> list[str]:
        """The entries of a branch's folder (at most limit; none when there is no folder)."""
        found: list[str] = []
        try:
            with os.scandir(self.folder / branch_key) as entries:
                for entry in entries:
                    if entry.name.endswith(ENTRY_SUFFIX) and entry.is_file(follow_symlinks=False):
                        found.append(entry.name)
                        if len(found) >= limit:
                            break
        except FileNotFoundError:
            return []
        return found

    def read(self, branch_key: str, name: str, max_bytes: int) -> bytes | None:
        """An entry's bytes (None when gone; ValueError when larger than max_bytes); only a regular file is read,
        and a link is not followed (NotAFile)."""
        try:
            descriptor = open_regular(self.folder / branch_key / name, os.O_RDONLY, follow=False)
        except FileNotFoundError:
            return None
        with os.fdopen(descriptor, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise ValueError(f"{size:,} bytes, more than the {max_bytes:,} an entry may have")
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ValueError(f"more than the {max_bytes:,} bytes an entry may have")
        return data

    def write(self, branch_key: str, name: str, data: bytes) -> None:
        """Write an entry whole: into a temporary file of the same folder, then renamed into place."""
        folder = self.folder / branch_key
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=".writing-", dir=folder)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            Path(temporary).replace(folder / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def remove(self, branch_key: str, names: Sequence[str]) -> None:
        """Delete entries; one already gone (another run pruned it) is no error."""
        for name in names:
            (self.folder / branch_key / name).unlink(missing_ok=True)
