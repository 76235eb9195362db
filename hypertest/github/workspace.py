"""Confinement of the action's paths: working_directory and config must stay inside GITHUB_WORKSPACE."""

from __future__ import annotations

from pathlib import Path

from hypertest.errors import UsageError
from hypertest.github.inputs import shown


def _resolved(path: Path, subject: str) -> Path:
    """path with every symbolic link followed; a link loop or an unusable name is a UsageError about subject."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        raise UsageError(f"{subject} cannot be resolved: {shown(str(exc))}") from None


def _inside(path: Path, workspace: Path, name: str, value: str) -> Path:
    """path, once resolved, if it is workspace or below it; else a UsageError naming the input."""
    subject = f"input {name}: {shown(value)}"
    resolved = _resolved(path, subject)
    if not resolved.is_relative_to(workspace):
        raise UsageError(f"{subject} leads outside the workspace ({shown(str(resolved))} is not in "
                         f"{shown(str(workspace))})",
                         hint="give a path inside the repository's checkout, without links out of it")
    return resolved


def _workspace_root(workspace: Path) -> Path:
    """GITHUB_WORKSPACE resolved, which must be a folder; a UsageError naming the variable otherwise."""
    subject = f"GITHUB_WORKSPACE {shown(str(workspace))}"
    root = _resolved(workspace, subject)
    if not root.is_dir():
        state = "is not a folder" if root.exists() else "does not exist"
        raise UsageError(f"{subject} {state}",
                         hint="the action runs in the job's workspace; GITHUB_WORKSPACE is set by the runner")
    return root


def confined_folder(workspace: Path, working_directory: str) -> Path:
    """The working folder: working_directory below workspace, links followed, which must stay inside it."""
    root = _workspace_root(workspace)
    folder = _inside(root / working_directory, root, "working_directory", working_directory)
    if not folder.is_dir():
        raise UsageError(f"input working_directory: {shown(working_directory)} is not a folder of the workspace "
                         f"({shown(str(folder))})")
    return folder


def confined_config(folder: Path, workspace: Path, config: str) -> str:
    """config, relative to folder, once it resolves inside workspace: the resolved path of an existing file,
    else config unchanged (loading the settings reports a missing file, after the args input is checked)."""
    root = _resolved(workspace, f"GITHUB_WORKSPACE {shown(str(workspace))}")
    path = _inside(folder / config, root, "config", config)
    return str(path) if path.is_file() else config


def confined_output(workspace: Path, output: Path) -> None:
    """Refuse a results folder (output in hypertest.yml, or --output in the args input) outside workspace."""
    root = _resolved(workspace, f"GITHUB_WORKSPACE {shown(str(workspace))}")
    if not output.is_relative_to(root):
        raise UsageError(f"the output folder {shown(str(output))} (output in hypertest.yml, or --output in the "
                         f"args input) leads outside the workspace ({shown(str(root))})",
                         hint="results go to a folder inside the repository's checkout")
