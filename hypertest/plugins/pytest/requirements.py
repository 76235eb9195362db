"""What an image of a pytest suite installs: requirements.txt, else pyproject.toml's dependencies."""

from __future__ import annotations

import tomllib
from pathlib import Path

from hypertest.errors import UsageError


def requirements(project_dir: Path) -> bytes:
    """The requirements file the image installs with pip (its own layer, so the tests' layer stays small)."""
    listed = project_dir / "requirements.txt"
    if listed.is_file():
        return listed.read_bytes()
    pyproject = project_dir / "pyproject.toml"
    if pyproject.is_file():
        try:
            document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"{pyproject}: not valid TOML ({exc})") from None
        project = document.get("project")
        project = project if isinstance(project, dict) else {}
        extras = project.get("optional-dependencies")
        extras = extras if isinstance(extras, dict) else {}
        wanted = [*_strings(project.get("dependencies")),
                  *(dependency for extra in ("test", "tests", "dev") for dependency in _strings(extras.get(extra)))]
        if wanted:
            return ("".join(f"{line}\n" for line in wanted)).encode()
    raise UsageError(f"{project_dir}: no requirements.txt, and no [project] dependencies in pyproject.toml, "
                     "so the image cannot install pytest-playwright and the suite's packages",
                     hint="write a requirements.txt (pytest-playwright and what the tests import)")


def _strings(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []
