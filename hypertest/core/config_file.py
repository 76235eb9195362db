"""Reading a config file that may be anything a pull request can put at a path: only a regular file is read,
and nothing else is ever opened for blocking I/O (a FIFO nobody writes would hang the run); the opening is
core/regular_file.py's, the words are a config's."""

from __future__ import annotations

from pathlib import Path

from hypertest.core.regular_file import NotAFile, path_kind, read_limited
from hypertest.errors import ConfigError


def file_kind(path: Path) -> str:
    """What path names, seen by os.stat alone (links followed, nothing opened): "file" for a regular file,
    "missing", else what it is for a message ("a folder", "a FIFO (named pipe)", "a character device", ...)."""
    return path_kind(path)


def read_text(path: Path, max_bytes: int) -> str:
    """The UTF-8 text of the regular file at path, of at most max_bytes; a ConfigError naming path for anything
    else. The file is opened without blocking and checked again once open (a FIFO swapped in is refused)."""
    kind = path_kind(path)
    if kind != "file":
        raise ConfigError(f"{path}: is {kind}, not a file" if kind != "missing" else f"{path}: not found")
    try:
        data = read_limited(path, max_bytes, what="a config")
    except NotAFile as exc:
        raise ConfigError(f"{path}: {exc.reason}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc.strerror})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
