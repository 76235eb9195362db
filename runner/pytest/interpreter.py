"""The Python interpreter that runs a pytest suite, and the environment it gets.

A suite installed in a virtualenv runs as it runs for its team with the virtualenv activated: the
virtualenv's bin folder first on PATH and VIRTUAL_ENV set (so `python`, `playwright` and the tools
the tests start are the virtualenv's). An interpreter outside any virtualenv gets the environment as it is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def virtualenv_of(python: Path) -> Path | None:
    """The virtualenv whose interpreter python is (its folder holds pyvenv.cfg), or None."""
    folder = Path(os.path.normpath(python)).parent.parent
    return folder if (folder / "pyvenv.cfg").is_file() else None


def activated(env: Mapping[str, str], python: Path) -> dict[str, str]:
    """env as the virtualenv of python, when it has one, would have it activated."""
    child = dict(env)
    venv = virtualenv_of(python)
    if venv is None:
        return child
    child["VIRTUAL_ENV"] = str(venv)
    child["PATH"] = os.pathsep.join(filter(None, [str(venv / "bin"), child.get("PATH", "")]))
    child.pop("PYTHONHOME", None)
    return child
