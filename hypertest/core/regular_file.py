"""Opening a name that anything may stand behind (a pull request can put a FIFO, a device, a folder or a link
at a path hypertest reads or writes) so that only a regular file is ever read or written, and nothing blocks:
the name is looked at first (stat), opened with O_NONBLOCK (a FIFO never blocks the open), and the opened
descriptor is looked at again (fstat), so a name swapped between the two is refused too. One mechanism for
the config (core/config_file.py) and the files GitHub reads and writes (github/files.py)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link"))


class NotAFile(OSError):
    """A name that exists but is not a regular file, or cannot be read as one; str() says why."""

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


def path_kind(path: Path) -> str:
    """What path names, seen by os.stat alone (links followed, nothing opened): "file" for a regular file,
    "missing", else what it is in words ("a folder", "a FIFO (named pipe)", "a symbolic link loop", ...)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return "a symbolic link loop" if exc.errno == errno.ELOOP else f"not readable ({exc.strerror})"
    except ValueError:  # a NUL in the name: no such file can exist
        return "missing"
    return "file" if stat.S_ISREG(mode) else kind(mode)


def check_existing(path: Path, follow: bool = True) -> None:
    """NotAFile when path exists and is not a regular file (a missing name passes: an open may create it)."""
    try:
        info = path.stat(follow_symlinks=follow)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode):
        raise NotAFile(refusal(info.st_mode))


def open_regular(path: Path, flags: int, *, follow: bool = True) -> int:
    """A descriptor of path opened with flags, non-blocking, checked to be a regular file before and after
    the open; NotAFile or another OSError when it cannot be."""
    check_existing(path, follow)
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


def read_limited(path: Path, limit: int, *, what: str) -> bytes:
    """The content of the regular file path (links followed), at most limit bytes; NotAFile when it is larger
    ("… bytes; <what> may have at most …") or not a regular file, another OSError when it cannot be read."""
    fd = open_regular(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise NotAFile(f"{size} bytes; {what} may have at most {limit}")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise NotAFile(f"more than {limit} bytes; {what} may have at most {limit}")
    return data
