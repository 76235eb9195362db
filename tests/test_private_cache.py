"""The caches the runner keeps in the shared temp folder are this user's own: another user's folder, a folder
others may write, or a link in its place is not used (the unit then runs without that cache)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from runner.private_cache import private_cache


def test_a_new_cache_is_made_closed_to_everyone_else(tmp_path: Path) -> None:
    folder = private_cache(tmp_path, "cache")
    assert folder == tmp_path / f"cache-{os.getuid()}"
    assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0
    assert private_cache(tmp_path, "cache") == folder  # used again by the next unit


def test_a_folder_others_may_write_is_not_used(tmp_path: Path) -> None:
    planted = tmp_path / f"cache-{os.getuid()}"
    planted.mkdir()
    planted.chmod(0o777)
    assert private_cache(tmp_path, "cache") is None


def test_a_link_in_its_place_is_not_used(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    (tmp_path / f"cache-{os.getuid()}").symlink_to(tmp_path / "elsewhere")
    assert private_cache(tmp_path, "cache") is None


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to make a folder another user owns")
def test_another_users_folder_is_not_used(tmp_path: Path) -> None:
    planted = tmp_path / f"cache-{os.getuid()}"
    planted.mkdir(mode=0o700)
    os.chown(planted, 65534, 65534)  # nobody's
    assert private_cache(tmp_path, "cache") is None
