"""The provider interface the invoke pipeline drives."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from hypertest.plugins.playwright.discovery import Discovery


class Provider(Protocol):
    """Runs units somewhere and brings their results, blobs and reports back."""

    name: str
    shares_host: bool  # units run on this machine, beside the run session (one web server serves them)

    def preflight(self, discovery: Discovery) -> None:
        """Check, before anything runs, that the units can run; raise a HypertestError if not."""

    def unit_payload(self, payload: Mapping[str, Any], run_dir: Path, discovery: Discovery) -> dict[str, Any]:
        """The payload adapted to where the runner runs (project location, artifact store, timeout)."""

    def execute(self, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        """Run one unit and return its result; failures become an `error` result, not an exception."""

    def cancel(self) -> None:
        """Stop every unit still running (the run was interrupted); safe to call when none is."""

    def collect_blobs(self, run_dir: Path, blob_keys: list[str]) -> Path:
        """A local folder holding the units' blob reports, for merging."""

    def artifact_url(self, key: str) -> str | None:
        """A link to an artifact stored under key, where the store has links (None: a local file)."""

    def report_links(self, run_dir: Path, reports: Mapping[str, str]) -> dict[str, str]:
        """Links to the reports that publish() will make available, by name (none for local files)."""

    def details(self) -> Mapping[str, Any]:
        """Facts about where the units run, recorded in results.json (for example memory, for costs)."""

    def put_run_file(self, run_dir: Path, key: str, data: bytes) -> str:
        """Store data under key in the run's artifact store (where units read it); returns its locator."""

    def publish(self, run_dir: Path) -> None:
        """Make the run folder's reports available where the artifacts are (no-op for local)."""
