"""Which branch and commit a run tests, and which branch its failures are compared with: from the workflow's
variables on GitHub, else from the git checkout of the project (read with git itself, never through a shell)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT_S = 5.0
MAX_NAME = 255  # a git ref name is at most this long here; a longer value is cut


@dataclass(frozen=True)
class RunIdentity:
    """The run's branch and commit (empty when unknown), and the branch triage compares it with."""

    branch: str
    commit: str
    base: str


def run_identity(project_dir: Path, environ: Mapping[str, str], *, base_flag: str | None,
                 base_setting: str | None) -> RunIdentity:
    """The run's identity: the branch from GITHUB_HEAD_REF (a pull request's head), GITHUB_REF_NAME, else git;
    the commit from GITHUB_SHA, else git; the base from --base, GITHUB_BASE_REF, baseBranch, else the branch."""
    branch = _clean(environ.get("GITHUB_HEAD_REF")) or _clean(environ.get("GITHUB_REF_NAME")) \
        or _git(project_dir, "rev-parse", "--abbrev-ref", "HEAD")
    if branch == "HEAD":  # a detached checkout has no branch
        branch = ""
    commit = _clean(environ.get("GITHUB_SHA")) or _git(project_dir, "rev-parse", "HEAD")
    base = _clean(base_flag) or _clean(environ.get("GITHUB_BASE_REF")) or _clean(base_setting) or branch
    return RunIdentity(branch=branch, commit=commit, base=base)


def _clean(value: str | None) -> str:
    """A name from a variable or a flag: printable, one line, at most MAX_NAME characters (else empty)."""
    if not value or not value.isprintable():
        return ""
    return value.strip()[:MAX_NAME]


def _git(folder: Path, *args: str) -> str:
    """What git prints for args in folder (one line), or empty when there is no git or no repository."""
    git = shutil.which("git")
    if git is None:
        return ""
    try:
        done = subprocess.run([git, *args], cwd=folder, capture_output=True, text=True, timeout=GIT_TIMEOUT_S,
                              check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
        return ""
    return _clean(done.stdout.strip().splitlines()[0]) if done.returncode == 0 and done.stdout.strip() else ""
