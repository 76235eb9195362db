"""The hypertest runner: runs exactly the requested tests of one unit, in Lambda or a local process."""

from __future__ import annotations

RESULT_SCHEMA_VERSION = 1
