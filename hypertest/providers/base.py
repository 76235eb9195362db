"""The provider interface the invoke pipeline drives."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from hypertest.plugins.playwright.discovery import Discovery


class Provider(Protocol):
    """Runs units somewhere and brings their results and blobs back."""

    name: str

    def preflight(self, discovery: Discovery) -> None:
        """Check, before anything runs, that the units can run; raise a HypertestError if not."""

    def artifacts_location(self, run_dir: Path) -> Mapping[str, Any]:
        """The payload's `artifacts` object for a run whose local folder is run_dir."""

    def execute(self, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        """Run one unit and return its result; failures become an `error` result, not an exception."""

    def cancel(self) -> None:
        """Stop every unit still running (the run was interrupted); safe to call when none is."""

    def collect_blobs(self, run_dir: Path, blob_keys: list[str]) -> Path:
        """A local folder holding the units' blob reports, for merging."""
