"""Reading a config file that may be anything a pull request can put at a path: only a regular file is read,
and nothing else is ever opened for blocking I/O (a FIFO nobody writes would hang the run)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from hypertest.errors import ConfigError

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


def file_kind(path: Path) -> str:
    """What path names, seen by os.stat alone (links followed, nothing opened): "file" for a regular file,
    "missing", else what it is for a message ("a folder", "a FIFO (named pipe)", "a device", ...)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return "a symbolic link loop" if exc.errno == errno.ELOOP else f"not readable ({exc.strerror})"
    except ValueError:  # a NUL in the name: no such file can exist
        return "missing"
    if stat.S_ISREG(mode):
        return "file"
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_text(path: Path, max_bytes: int) -> str:
    """The UTF-8 text of the regular file at path, of at most max_bytes; a ConfigError naming path for anything
    else. The file is opened without blocking and checked again once open (a FIFO swapped in is refused)."""
    kind = file_kind(path)
    if kind != "file":
        raise ConfigError(f"{path}: is {kind}, not a file" if kind != "missing" else f"{path}: not found")
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc.strerror})") from None
    with os.fdopen(handle, "rb") as file:
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise ConfigError(f"{path}: is not a regular file")
        if status.st_size > max_bytes:
            raise ConfigError(f"{path}: the file has {status.st_size} bytes; a config may have at most {max_bytes}")
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ConfigError(f"{path}: the file has more than {max_bytes} bytes; a config may have at most {max_bytes}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
