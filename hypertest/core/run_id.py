"""Run ids: sortable by time, unique, safe in paths and S3 keys."""

from __future__ import annotations

import datetime as dt
import re
import secrets

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
