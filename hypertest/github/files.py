"""Files hypertest writes or reads for GitHub (the step outputs, the job summary, the event, `report`'s
targets), opened so that a name that is not a regular file never blocks the run.

A FIFO opened for writing waits for a reader forever, a device swallows or refuses what is written, a
folder cannot be written: each is refused with a sentence saying what the name is. The name is looked at
first (stat), then opened with O_NONBLOCK (a FIFO can never block the open) and the opened descriptor is
looked at again (fstat), so a name swapped between the two is refused too.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link"))
CHUNK = 1 << 16


class NotAFile(OSError):
    """A name that exists but is not a regular file, or cannot be opened as one; str() says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def kind(mode: int) -> str:
    """What a file of this st_mode is, in words ('a regular file', 'a FIFO (named pipe)', ...)."""
    for test, words in KINDS:
        if test(mode):
            return words
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def refusal(mode: int) -> str:
    """The sentence refusing a name whose st_mode is not a regular file."""
    return f"is {kind(mode)}, not a regular file"


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


def _check_existing(path: Path, follow: bool) -> None:
    try:
        info = path.stat(follow_symlinks=follow)
    except FileNotFoundError:
        return  # created by the open (a missing folder fails there)
    if not stat.S_ISREG(info.st_mode):
        raise NotAFile(refusal(info.st_mode))


def _open(path: Path, flags: int, *, follow: bool) -> int:
    """A descriptor of path opened with flags, non-blocking, checked to be a regular file."""
    _check_existing(path, follow)
    flags |= os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    fd = os.open(path, flags, 0o644)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotAFile(refusal(mode))
    except BaseException:
        os.close(fd)
        raise
    return fd


def append_text(path: Path, text: str, *, follow: bool = False) -> None:
    """Append text (UTF-8, a lone surrogate replaced) to the regular file path, creating it in an existing
    folder; NotAFile or another OSError when that cannot be done. follow: a symbolic link is written through."""
    fd = _open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, follow=follow)
    with os.fdopen(fd, "wb") as handle:
        handle.write(text.encode("utf-8", errors="replace"))


def replace_text(path: Path, text: str, *, follow: bool = True) -> None:
    """Write text (UTF-8) as the whole content of the regular file path, creating it in an existing folder;
    nothing is truncated before the opened file is known to be a regular file."""
    fd = _open(path, os.O_WRONLY | os.O_CREAT, follow=follow)
    with os.fdopen(fd, "wb") as handle:
        handle.truncate(0)
        handle.write(text.encode("utf-8", errors="replace"))


def writable_target(path: Path) -> None:
    """Raise NotAFile when path exists and is not a regular file (symbolic links followed)."""
    _check_existing(path, follow=True)


def read_bytes(path: Path, limit: int) -> bytes:
    """The content of the regular file path, at most limit bytes; NotAFile when it is larger or not a
    regular file, another OSError when it cannot be read (symbolic links are followed)."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise NotAFile(refusal(info.st_mode))
    if info.st_size > limit:
        raise NotAFile(f"{info.st_size} bytes; at most {limit} are read")
    fd = _open(path, os.O_RDONLY, follow=True)
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise NotAFile(f"more than {limit} bytes; at most {limit} are read")
    return data
