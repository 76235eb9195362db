"""Run ids: sortable by time, unique, safe in paths and S3 keys; the run's folder they name."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from pathlib import Path

from hypertest.errors import UsageError

_VALID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def new_run_id(now: dt.datetime | None = None) -> str:
    """A new run id such as 20261125T232311Z-9f3a1c."""
    moment = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{moment}-{secrets.token_hex(3)}"


def check_run_id(value: str) -> str:
    """value, if it is a valid run id (for --run-id); a UsageError otherwise."""
    if not _VALID.fullmatch(value) or ".." in value:  # fullmatch: `$` alone would allow a trailing newline
        raise UsageError(f"--run-id {value!r}: use 1-64 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit")
    return value


def make_run_folder(output: Path, run_id: str, source: Path | None) -> Path:
    """The new folder of run run_id in output; a UsageError when it exists or cannot be made (source: the config
    file that set output, named in the hint)."""
    run_dir = output / run_id
    if run_dir.exists():
        raise UsageError(f"the run folder {run_dir} already exists; choose another --run-id")
    try:
        run_dir.mkdir(parents=True)
    except OSError as exc:
        where = f"output in {source}" if source else "output"
        raise UsageError(f"the output folder {output} cannot hold the run's folder: {exc.strerror}",
                         hint=f"--output or {where} must name a folder") from None
    return run_dir
