"""Where the results are shown: the repository, commit and run, read from the Actions environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote


@dataclass(frozen=True)
class GitHubContext:
    """The facts links are built from; every field may be empty outside Actions."""

    server_url: str = "https://github.com"
    repository: str = ""
    sha: str = ""
    workspace: str = ""
    run_id: str = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> GitHubContext:
        """The context of the current workflow run."""
        env = os.environ if environ is None else environ
        return cls(server_url=env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/"),
                   repository=env.get("GITHUB_REPOSITORY", ""), sha=env.get("GITHUB_SHA", ""),
                   workspace=env.get("GITHUB_WORKSPACE", ""), run_id=env.get("GITHUB_RUN_ID", ""))

    @property
    def run_url(self) -> str:
        """The workflow run's page (its summary is shown there)."""
        if not (self.repository and self.run_id):
            return ""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"

    def repo_path(self, root_dir: str, file: str) -> str:
        """A test file's path in the repository, or '' when the tests lie outside the workspace."""
        if not (self.workspace and root_dir):
            return ""
        try:
            relative = Path(root_dir, file).resolve().relative_to(Path(self.workspace).resolve())
        except ValueError:
            return ""
        return relative.as_posix()

    def file_url(self, root_dir: str, file: str, line: int) -> str:
        """A link to the line of the test file at the run's commit ('' when one cannot be built)."""
        path = self.repo_path(root_dir, file)
        if not (path and self.repository and self.sha):
            return ""
        return f"{self.server_url}/{self.repository}/blob/{self.sha}/{quote(path)}#L{line}"
