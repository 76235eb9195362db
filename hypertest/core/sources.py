"""A content hash of a project's test sources: what deploy ships and invoke checks for drift."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

# Folders that are never part of the shipped sources.
SKIPPED_DIRS = frozenset({"node_modules", ".git", ".hg", ".svn", ".venv", "venv", "__pycache__",
                          "hypertest-results", "test-results", "playwright-report", "blob-report",
                          ".hypertest", ".cache"})


def source_files(project_dir: Path, skip: frozenset[str] = frozenset()) -> Iterator[Path]:
    """Every file of the project that is shipped, in a stable order."""
    for folder, dirs, files in os.walk(project_dir):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and d not in skip)
        for name in sorted(files):
            path = Path(folder) / name
            if path.is_file():
                yield path


def sources_hash(project_dir: Path, skip: frozenset[str] = frozenset()) -> str:
    """sha256 over the relative path and content of every shipped file (dependencies excluded)."""
    total = hashlib.sha256()
    for path in source_files(project_dir, skip):
        total.update(path.relative_to(project_dir).as_posix().encode())
        total.update(b"\0")
        total.update(hashlib.sha256(path.read_bytes()).digest())
    return total.hexdigest()


def output_skip(output: Path, project_dir: Path) -> frozenset[str]:
    """The results folder's name when it lies directly in the project (it is not a source)."""
    return frozenset({output.name}) if output.parent == project_dir else frozenset()
