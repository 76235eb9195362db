"""Files hypertest writes or reads for GitHub (the step outputs, the job summary, the event, `report`'s
targets), opened as core/regular_file.py opens them, so that a name that is not a regular file never blocks
the run: a FIFO opened for writing waits for a reader forever, a device swallows or refuses what is written,
a folder cannot be written; each is refused with a sentence saying what the name is.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from hypertest.core.regular_file import NotAFile, check_existing, kind, open_regular, read_limited

__all__ = ["NotAFile", "append_text", "read_bytes", "reason", "replace_text", "writable_target"]


def reason(exc: OSError, *, creating: bool = True) -> str:
    """An OSError in a few words: 'the folder does not exist' (creating) or 'no such file', 'permission
    denied', ..."""
    if isinstance(exc, NotAFile):
        return exc.reason
    if exc.errno == errno.ENOENT:
        return "the folder does not exist" if creating else "no such file"
    if exc.errno == errno.ENOTDIR:
        return "a part of the path is not a folder"
    if exc.errno == errno.ELOOP:
        return "is a symbolic link (or a loop of them), not a regular file"
    if exc.errno == errno.ENXIO:
        return f"is {kind(stat.S_IFIFO)}, not a regular file"
    return (exc.strerror or str(exc)).lower().rstrip(".")


def append_text(path: Path, text: str, *, follow: bool = False) -> None:
    """Append text (UTF-8, a lone surrogate replaced) to the regular file path, creating it in an existing
    folder; NotAFile or another OSError when that cannot be done. follow: a symbolic link is written through."""
    fd = open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, follow=follow)
    with os.fdopen(fd, "wb") as handle:
        handle.write(text.encode("utf-8", errors="replace"))


def replace_text(path: Path, text: str, *, follow: bool = True) -> None:
    """Write text (UTF-8) as the whole content of the regular file path, creating it in an existing folder;
    nothing is truncated before the opened file is known to be a regular file."""
    fd = open_regular(path, os.O_WRONLY | os.O_CREAT, follow=follow)
    with os.fdopen(fd, "wb") as handle:
        handle.truncate(0)
        handle.write(text.encode("utf-8", errors="replace"))


def writable_target(path: Path) -> None:
    """Raise NotAFile when path exists and is not a regular file (symbolic links followed)."""
    check_existing(path, follow=True)


def read_bytes(path: Path, limit: int, what: str) -> bytes:
    """The content of the regular file path, at most limit bytes; NotAFile when it is larger ("… bytes; <what>
    may have at most …") or not a regular file, another OSError when it cannot be read (links followed)."""
    return read_limited(path, limit, what=what)
