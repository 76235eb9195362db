"""Files carried between phases in the cloud: what a unit writes reaches later units' own copies."""

from __future__ import annotations

import io
import os
import tarfile
import time
from pathlib import Path

import pytest

from runner.entry import execute
from runner.project_state import StateError, changed_files, pack, snapshot, unpack, writable_copy
from tests.conftest import DEMO, copy_suite
from tests.test_runner import payload


def test_changed_files_are_new_or_modified_ones_outside_build_folders(tmp_path: Path) -> None:
    (tmp_path / "kept.txt").write_text("same")
    (tmp_path / "edited.txt").write_text("before")
    (tmp_path / "node_modules").mkdir()
    before = snapshot(tmp_path)
    (tmp_path / "edited.txt").write_text("after, longer")
    (tmp_path / "auth").mkdir()
    (tmp_path / "auth" / "user.json").write_text("{}")
    (tmp_path / "node_modules" / "cache.bin").write_text("x")
    (tmp_path / "test-results").mkdir()
    (tmp_path / "test-results" / "trace.zip").write_text("x")
    assert changed_files(tmp_path, before, exclude=["test-results"]) == ["auth/user.json", "edited.txt"]


def test_pack_and_unpack_round_trip(tmp_path: Path) -> None:
    source, target = tmp_path / "a", tmp_path / "b"
    (source / "playwright" / ".auth").mkdir(parents=True)
    (source / "playwright" / ".auth" / "user.json").write_text('{"cookies": []}')
    target.mkdir()
    assert unpack(pack(source, ["playwright/.auth/user.json"]), target) == ["playwright/.auth/user.json"]
    assert (target / "playwright" / ".auth" / "user.json").read_text() == '{"cookies": []}'


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/evil"])
def test_unpack_refuses_paths_outside_the_project(tmp_path: Path, name: str) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(name)
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    (tmp_path / "project").mkdir()
    with pytest.raises(StateError, match="not a file inside the project"):
        unpack(buffer.getvalue(), tmp_path / "project")
    assert not (tmp_path / "escape.txt").exists()


def test_a_writable_copy_links_node_modules(tmp_path: Path) -> None:
    copy = writable_copy(DEMO, tmp_path / "copy")
    assert (copy / "node_modules").is_symlink() and (copy / "playwright.config.ts").is_file()
    assert os.access(copy / "tests", os.W_OK)


@pytest.mark.e2e
def test_a_later_unit_sees_what_an_earlier_unit_wrote(tmp_path: Path) -> None:
    """Two invocations, each in its own copy of the project, through the store (as on Lambda)."""
    original = copy_suite(DEMO, tmp_path / "project")
    (original / "tests" / "carry.spec.ts").write_text(
        "import { test, expect } from '@playwright/test';\n"
        "import * as fs from 'fs';\n"
        "test('writes', () => { fs.mkdirSync('state', { recursive: true });"
        " fs.writeFileSync('state/token.txt', 'signed in'); });\n"
        "test('reads', () => { expect(fs.readFileSync('state/token.txt', 'utf8')).toBe('signed in'); });\n")
    store = tmp_path / "store"
    first = payload(original, store, [("carry.spec.ts", ("writes",))])
    first["unit"]["state"] = {"capture": True, "restore": [], "exclude": ["test-results"]}
    copy_env = {**os.environ, "HT_COPY_PROJECT": "1"}
    written = execute(first, deadline=_deadline(), environ=copy_env)
    assert [t["status"] for t in written["tests"]] == ["passed"], written
    assert not (original / "state").exists()  # the invocation wrote into its own copy
    second = payload(original, store, [("carry.spec.ts", ("reads",))])
    second["unitId"] = "unit2"
    second["unit"]["state"] = {"restore": [written["state"]]}
    read = execute(second, deadline=_deadline(), environ=copy_env)
    assert [t["status"] for t in read["tests"]] == ["passed"], read
    without = execute({**second, "unitId": "unit3", "unit": {**second["unit"], "state": {}}}, deadline=_deadline(),
                      environ=copy_env)
    assert [t["status"] for t in without["tests"]] == ["failed"]


def _deadline() -> float:
    return time.monotonic() + 120
