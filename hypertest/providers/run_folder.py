"""What providers whose units write into the run folder on this machine share: blobs, artifacts and reports
are files there, with no links and nothing to upload (local processes, and Docker sandboxes with the
run folder mounted)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from hypertest.core.config import Settings
from hypertest.core.contracts import HistoryStore
from hypertest.errors import InfrastructureError
from hypertest.providers.history_folder import FolderHistory


class RunFolderStore:
    """The Provider methods about where results are kept, for units that keep them in the run folder."""

    def collect_blobs(self, run_dir: Path, blob_keys: list[str]) -> Path:
        """The units wrote their blobs into the run folder."""
        folder = run_dir / "blobs"
        if not folder.is_dir():
            raise InfrastructureError(f"no blob reports in {folder}")
        return folder

    def artifact_url(self, key: str) -> str | None:
        """Artifacts are files beside results.json: no link."""
        return None

    def report_links(self, run_dir: Path, reports: Mapping[str, str]) -> dict[str, str]:
        """Reports are files: no links."""
        return {}

    def put_run_file(self, run_dir: Path, key: str, data: bytes) -> str:
        """Write data below the run folder (where the units read it)."""
        target = run_dir / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return key

    def history_store(self, settings: Settings) -> HistoryStore:
        """The history folder (history.path, default <output>/.history)."""
        return FolderHistory(settings.history_folder)

    def publish(self, run_dir: Path) -> None:
        """Nothing to upload."""
