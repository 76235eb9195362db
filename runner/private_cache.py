"""Caches the runner keeps across units in the shared temp folder (Node.js bytecode, Playwright's TypeScript
transforms): each one private to the user that runs hypertest, so no other user of the machine can read it,
fill it, or plant code in it that a later unit would load."""

from __future__ import annotations

import os
import stat
from pathlib import Path

NODE_COMPILE_CACHE = "hypertest-node-compile-cache"
PLAYWRIGHT_TRANSFORM_CACHE = "hypertest-playwright-transform-cache"


def private_cache(base: Path, name: str) -> Path | None:
    """The folder base/<name>-<uid>, made with mode 0700 when missing; None (no cache for this unit) unless it
    is a real folder, not a link, owned by this user and closed to everyone else."""
    uid = os.getuid()
    folder = base / f"{name}-{uid}"
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        found = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != uid or found.st_mode & 0o077:
        return None
    return folder
