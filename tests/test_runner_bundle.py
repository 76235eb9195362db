"""Test bundles on the runner's side (issue 23 item 3): the format (runner/bundle_format.py), the cache, the checks
and the overlay over a unit's project copy (runner/bundle.py), and units that run a bundle's changed tests, with
the deployed project folder untouched and no warm host or fork server reused across bundles."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from runner import bundle_format, warm_host
from runner.bundle import (
    BUNDLE_DIR_VARIABLE,
    BUNDLE_SHA_VARIABLE,
    CACHE_NAME,
    BundleRequest,
    apply_bundle,
    bundle_request,
    prepare_bundle,
    set_bundle_variables,
)
from runner.bundle_format import BUNDLE_MANIFEST, BundleError, build_bundle, extract_bundle, parse_manifest
from runner.entry import execute
from runner.payload import PayloadError
from runner.pytest.warm import PytestCommand, server_key
from tests.conftest import small_project

SHA_OF_NOTHING = hashlib.sha256(b"").hexdigest()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tar_gz(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    """A gzip'd tar of these members, as given (hostile ones included)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed, \
            tarfile.open(fileobj=compressed, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def regular(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def special(name: str, kind: bytes, link: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info, None


def manifest(files: dict[str, bytes], deleted: list[str] | None = None) -> tuple[tarfile.TarInfo, bytes]:
    return regular(BUNDLE_MANIFEST, bundle_format.manifest_bytes({p: sha(c) for p, c in files.items()},
                                                                 deleted or []))


GOOD = {"tests/a.spec.ts": b"test a\n"}


class CountingStore:
    """A store of one bundle that counts its fetches (and may do something during one)."""

    def __init__(self, data: bytes, during_fetch: Callable[[], None] | None = None) -> None:
        self.data = data
        self.fetches = 0
        self.during_fetch = during_fetch
        self.lock = threading.Lock()

    def get_bytes(self, key: str) -> bytes:
        with self.lock:
            self.fetches += 1
        if self.during_fetch is not None:
            during, self.during_fetch = self.during_fetch, None
            during()
        return self.data


@pytest.fixture
def bundle_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temp folder of this test's own (the bundle cache goes below it) and the store `counting` names."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder


def cache_folder(base: Path) -> Path:
    return base / f"{CACHE_NAME}-{os.getuid()}"


def request_for(data: bytes, store: Any, monkeypatch: pytest.MonkeyPatch, digest: str | None = None) -> BundleRequest:
    """A request for data in store (store_from_payload answers with it)."""
    monkeypatch.setattr("runner.bundle.store_from_payload", lambda _payload: store)
    return BundleRequest(sha256=digest or sha(data), key="bundles/b.tar.gz", size=len(data), store={"kind": "fake"})


# The format ------------------------------------------------------------------------------------------------


def project_with(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


@pytest.mark.unit
def test_a_bundle_is_built_deterministically_and_unpacks_to_its_files(tmp_path: Path) -> None:
    files = {"tests/b.spec.ts": b"b\n", "tests/a.spec.ts": b"a\n", "tests/été/ü.py": "ü".encode()}
    project = project_with(tmp_path / "p", files)
    listing = {path: sha(data) for path, data in files.items()}
    first = build_bundle(project, listing, ["tests/gone.spec.ts", "old.py"])
    os.utime(project / "tests/a.spec.ts", (1, 1))  # times, owners, order of the mapping: none of them counts
    second = build_bundle(project, dict(reversed(listing.items())), ["old.py", "tests/gone.spec.ts"])
    assert first == second and first[4:8] == b"\0\0\0\0"  # gzip mtime 0
    with tarfile.open(fileobj=io.BytesIO(first), mode="r:gz") as archive:
        members = archive.getmembers()
    assert [m.name for m in members] == [BUNDLE_MANIFEST, "files/tests/a.spec.ts", "files/tests/b.spec.ts",
                                         "files/tests/été/ü.py"]
    assert {(m.mtime, m.uid, m.gid, m.mode, m.uname, m.type) for m in members} == {
        (0, 0, 0, 0o644, "", tarfile.REGTYPE)}
    target = tmp_path / "out"
    target.mkdir()
    found = extract_bundle(first, target)
    assert found.files == listing and sorted(found.deleted) == ["old.py", "tests/gone.spec.ts"]
    assert {p: (target / "files" / p).read_bytes() for p in files} == files


@pytest.mark.unit
@pytest.mark.parametrize(("files", "deleted", "refused"), [
    ({"../x": b"x"}, [], "'..'"),
    ({"/etc/x": b"x"}, [], "absolute"),
    ({"node_modules/x.js": b"x"}, [], "node_modules"),
    ({"a/.git/config": b"x"}, [], ".git"),
    ({"a": b"x"}, ["a"], "both a file and deleted"),
    ({"a": b"x", "a/b": b"y"}, [], "a file and a folder"),
    ({}, ["../up"], "'..'"),
])
def test_build_refuses_what_the_runner_refuses(tmp_path: Path, files: dict[str, bytes], deleted: list[str],
                                               refused: str) -> None:
    with pytest.raises(BundleError, match=refused):
        build_bundle(tmp_path, {p: sha(c) for p, c in files.items()}, deleted)


@pytest.mark.unit
def test_build_refuses_a_link_and_content_that_is_not_the_given_one(tmp_path: Path) -> None:
    project = project_with(tmp_path / "p", {"real.ts": b"real"})
    (project / "link.ts").symlink_to(project / "real.ts")
    with pytest.raises(BundleError, match="a link"):
        build_bundle(project, {"link.ts": sha(b"real")}, [])
    (project / "folder").symlink_to(project, target_is_directory=True)
    with pytest.raises(BundleError, match="not a folder"):
        build_bundle(project, {"folder/real.ts": sha(b"real")}, [])
    with pytest.raises(BundleError, match="sha256"):
        build_bundle(project, {"real.ts": sha(b"other")}, [])


HOSTILE: dict[str, tuple[list[tuple[tarfile.TarInfo, bytes | None]], str]] = {
    "dot-dot": ([manifest(GOOD), regular("files/tests/a.spec.ts", b"test a\n"), regular("files/../evil", b"x")],
                "'..'"),
    "absolute": ([manifest(GOOD), regular("files/tests/a.spec.ts", b"test a\n"), regular("/tmp/evil", b"x")],
                 "absolute"),
    "symlink": ([manifest(GOOD), special("files/tests/a.spec.ts", tarfile.SYMTYPE, "/etc/passwd")],
                "a symbolic link"),
    "hardlink": ([manifest(GOOD), regular("files/tests/a.spec.ts", b"test a\n"),
                  special("files/tests/b.ts", tarfile.LNKTYPE, "files/tests/a.spec.ts")], "a hard link"),
    "device": ([manifest(GOOD), special("files/tests/a.spec.ts", tarfile.CHRTYPE)], "a device"),
    "fifo": ([manifest(GOOD), special("files/tests/a.spec.ts", tarfile.FIFOTYPE)], "a FIFO"),
    "unlisted": ([manifest(GOOD), regular("files/tests/a.spec.ts", b"test a\n"), regular("files/x.ts", b"x")],
                 "not listed"),
    "unlisted folder": ([manifest(GOOD), regular("files/tests/a.spec.ts", b"test a\n"),
                         special("files/elsewhere", tarfile.DIRTYPE)], "not listed"),
    "outside files": ([manifest(GOOD), regular("files/tests/a.spec.ts", b"test a\n"), regular("tests/a.spec.ts",
                                                                                              b"x")], "not listed"),
    "hash mismatch": ([manifest(GOOD), regular("files/tests/a.spec.ts", b"test b\n")], "sha256"),
    "missing file": ([manifest(GOOD)], "missing"),
    "twice": ([manifest(GOOD), regular("files/tests/a.spec.ts", b"test a\n"),
               regular("files/tests/a.spec.ts", b"test a\n")], "twice"),
    "no manifest": ([regular("files/tests/a.spec.ts", b"test a\n")], "no hypertest-bundle.json"),
    "node_modules": ([manifest(GOOD), regular("files/tests/a.spec.ts", b"test a\n"),
                      regular("files/node_modules/x.js", b"x")], "node_modules"),
    "bad manifest": ([regular(BUNDLE_MANIFEST, b'{"version": 2, "files": {}}')], "version 2"),
}


@pytest.mark.unit
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_bundle_is_refused_with_its_sha_and_leaves_nothing_in_the_cache(
        case: str, bundle_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    members, refused = HOSTILE[case]
    data = tar_gz(members)
    request = request_for(data, CountingStore(data), monkeypatch)
    with pytest.raises(BundleError, match=refused) as raised:
        prepare_bundle(request)
    assert str(raised.value).startswith(f"bundle {request.sha256}: ")
    assert list(cache_folder(bundle_cache).iterdir()) == []  # no partial folder, no bundle
    assert not (bundle_cache / "evil").exists() and not Path("/tmp/evil").exists()


@pytest.mark.unit
@pytest.mark.parametrize(("limit", "value", "refused"), [
    ("MAX_UNPACKED_BYTES", 1000, "more than 1000 bytes"), ("MAX_FILES", 3, "more than 3")])
def test_a_bundle_past_the_limits_is_refused(limit: str, value: int, refused: str, bundle_cache: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    files = {f"t/{n}.ts": bytes(300) for n in range(5)}
    data = tar_gz([manifest(files), *(regular(f"files/{p}", c) for p, c in files.items())])
    monkeypatch.setattr(bundle_format, limit, value)
    with pytest.raises(BundleError, match=refused):
        prepare_bundle(request_for(data, CountingStore(data), monkeypatch))
    assert list(cache_folder(bundle_cache).iterdir()) == []


@pytest.mark.unit
def test_a_gzip_bomb_is_stopped_at_the_limit(bundle_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = gzip.compress(bytes(64 * 1024 * 1024), mtime=0)  # 64 MiB of zeros in about 64 KiB
    monkeypatch.setattr(bundle_format, "_TAR_OVERHEAD_BYTES", 0)
    monkeypatch.setattr(bundle_format, "MAX_UNPACKED_BYTES", 4 * 1024 * 1024)
    with pytest.raises(BundleError, match="unpacks to more than"):
        prepare_bundle(request_for(data, CountingStore(data), monkeypatch))


@pytest.mark.unit
@pytest.mark.parametrize(("data", "refused"), [(b"not gzip at all", "not a gzip stream"),
                                               (gzip.compress(b"not a tar" * 100) + b"x", "after the gzip stream"),
                                               (gzip.compress(b"not a tar" * 100), "not a tar archive")])
def test_what_is_not_one_gzip_tar_is_refused(data: bytes, refused: str, bundle_cache: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BundleError, match=refused):
        prepare_bundle(request_for(data, CountingStore(data), monkeypatch))


def good_bundle(tmp_path: Path, files: dict[str, bytes] | None = None, deleted: list[str] | None = None) -> bytes:
    files = GOOD if files is None else files
    source = project_with(tmp_path / f"source-{len(list(tmp_path.iterdir()))}", files)
    return build_bundle(source, {p: sha(c) for p, c in files.items()}, deleted or [])


@pytest.mark.unit
def test_bytes_without_the_bundles_sha_or_size_or_a_failing_store_are_refused(
        tmp_path: Path, bundle_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = good_bundle(tmp_path)
    with pytest.raises(BundleError, match=r"have the sha256 [0-9a-f]{64}, not the bundle's"):
        prepare_bundle(request_for(data, CountingStore(data), monkeypatch, digest="0" * 64))
    with pytest.raises(BundleError, match="the store holds"):
        prepare_bundle(request_for(data, CountingStore(data + b"x"), monkeypatch))

    class Failing:
        def get_bytes(self, key: str) -> bytes:
            raise FileNotFoundError(2, "No such file or directory", key)

    with pytest.raises(BundleError, match=r"could not be fetched from its store \(bundles/b.tar.gz\): "
                                          "FileNotFoundError"):
        prepare_bundle(request_for(data, Failing(), monkeypatch))
    assert list(cache_folder(bundle_cache).iterdir()) == []


# The cache -------------------------------------------------------------------------------------------------


@pytest.mark.unit
def test_a_bundle_is_fetched_once_per_sandbox(tmp_path: Path, bundle_cache: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    data = good_bundle(tmp_path)
    store = CountingStore(data)
    request = request_for(data, store, monkeypatch)
    first = prepare_bundle(request)
    second = prepare_bundle(request)
    assert first == second == cache_folder(bundle_cache) / sha(data) and store.fetches == 1
    assert (first / "files" / "tests/a.spec.ts").read_bytes() == GOOD["tests/a.spec.ts"]
    assert sorted(p.name for p in cache_folder(bundle_cache).iterdir()) == [sha(data)]
    assert cache_folder(bundle_cache).stat().st_mode & 0o077 == 0  # this user's alone


@pytest.mark.unit
def test_a_second_unpacking_of_the_same_bundle_keeps_the_first_whole(
        tmp_path: Path, bundle_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = good_bundle(tmp_path)
    inner = CountingStore(data)
    # Another process unpacks the same bundle while this one fetches it: this one's rename then fails, and it
    # uses the other's folder.
    outer = CountingStore(data, during_fetch=lambda: prepare_bundle(request_for(data, inner, monkeypatch)))
    request = request_for(data, outer, monkeypatch)
    assert prepare_bundle(request) == cache_folder(bundle_cache) / sha(data)
    assert (outer.fetches, inner.fetches) == (1, 1)
    assert sorted(p.name for p in cache_folder(bundle_cache).iterdir()) == [sha(data)]  # no partial left

    # Many at once, from a cold cache: one whole folder, every caller gets it.
    other = good_bundle(tmp_path, {f"t/{n}.ts": os.urandom(2000) for n in range(200)})
    store = CountingStore(other)
    many = request_for(other, store, monkeypatch)
    with ThreadPoolExecutor(8) as pool:
        folders = set(pool.map(lambda _n: prepare_bundle(many), range(16)))
    assert folders == {cache_folder(bundle_cache) / sha(other)}
    assert sorted(p.name for p in cache_folder(bundle_cache).iterdir()) == sorted([sha(data), sha(other)])
    assert len(list((cache_folder(bundle_cache) / sha(other) / "files" / "t").iterdir())) == 200
    parse_manifest((cache_folder(bundle_cache) / sha(other) / BUNDLE_MANIFEST).read_bytes())


@pytest.mark.unit
def test_old_bundles_are_evicted_past_the_cache_size(tmp_path: Path, bundle_cache: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("runner.bundle.MAX_CACHED_BUNDLES", 2)
    made = []
    for n in range(3):
        data = good_bundle(tmp_path, {"a.ts": str(n).encode()})
        made.append(prepare_bundle(request_for(data, CountingStore(data), monkeypatch)))
        os.utime(made[-1], (n, n))
    assert sorted(cache_folder(bundle_cache).iterdir()) == sorted(made[1:])


# The overlay -----------------------------------------------------------------------------------------------


@pytest.mark.unit
def test_the_bundle_is_laid_over_a_copy_without_following_its_links(
        tmp_path: Path, bundle_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outside = project_with(tmp_path / "outside", {"lib/x.ts": b"outside", "target.ts": b"target"})
    copy = project_with(tmp_path / "copy", {"tests/a.spec.ts": b"old", "tests/gone.ts": b"gone",
                                            "tests/script.sh": b"old"})
    (copy / "tests/script.sh").chmod(0o755)
    (copy / "node_modules").symlink_to(outside)
    (copy / "shared").symlink_to(outside / "lib")
    (copy / "tests/linked.ts").symlink_to(outside / "target.ts")
    (copy / "tests/folder.ts").mkdir()
    files = {"tests/a.spec.ts": b"new", "tests/new/deep/b.spec.ts": b"b", "tests/linked.ts": b"own",
             "tests/script.sh": b"new"}
    data = good_bundle(tmp_path, files, ["tests/gone.ts", "tests/never-there.ts", "tests/folder.ts", "none/x.ts"])
    overlay = prepare_bundle(request_for(data, CountingStore(data), monkeypatch))
    apply_bundle(overlay, copy)
    assert {p: (copy / p).read_bytes() for p in files} == files
    assert not (copy / "tests/linked.ts").is_symlink() and (outside / "target.ts").read_bytes() == b"target"
    assert (copy / "tests/script.sh").stat().st_mode & 0o777 == 0o755  # a replaced file keeps its mode
    assert (copy / "tests/new/deep/b.spec.ts").stat().st_mode & 0o777 == 0o644
    assert not (copy / "tests/gone.ts").exists() and (copy / "tests/folder.ts").is_dir()

    through_link = good_bundle(tmp_path, {"shared/x.ts": b"through the link"})
    overlay = prepare_bundle(request_for(through_link, CountingStore(through_link), monkeypatch))
    with pytest.raises(BundleError, match="shared is a link in the project copy"):
        apply_bundle(overlay, copy)
    assert (outside / "lib/x.ts").read_bytes() == b"outside"
    deleting_through = good_bundle(tmp_path, {"a.ts": b"a"}, ["shared/x.ts"])
    overlay = prepare_bundle(request_for(deleting_through, CountingStore(deleting_through), monkeypatch))
    with pytest.raises(BundleError, match="is a link"):
        apply_bundle(overlay, copy)
    assert (outside / "lib/x.ts").read_bytes() == b"outside"


@pytest.mark.unit
def test_a_cached_file_changed_since_it_was_unpacked_is_refused(
        tmp_path: Path, bundle_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = good_bundle(tmp_path)
    overlay = prepare_bundle(request_for(data, CountingStore(data), monkeypatch))
    (overlay / "files/tests/a.spec.ts").write_bytes(b"planted")
    with pytest.raises(BundleError, match="no longer has its sha256"):
        apply_bundle(overlay, project_with(tmp_path / "copy", {"x": b"x"}))


# The envelope, the entry and the warm keys --------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(("bundle", "refused"), [
    ("x", "expected an object"),
    ({"sha256": "ABC", "key": "k", "bytes": 1, "store": {}}, "bundle.sha256"),
    ({"sha256": SHA_OF_NOTHING, "key": "../k", "bytes": 1, "store": {}}, "bundle.key"),
    ({"sha256": SHA_OF_NOTHING, "key": "/k", "bytes": 1, "store": {}}, "bundle.key"),
    ({"sha256": SHA_OF_NOTHING, "key": "k", "bytes": True, "store": {}}, "bundle.bytes"),
    ({"sha256": SHA_OF_NOTHING, "key": "k", "bytes": 1, "store": "s3"}, "bundle.store"),
])
def test_a_malformed_bundle_envelope_is_named(bundle: Any, refused: str) -> None:
    with pytest.raises(PayloadError, match=refused):
        bundle_request({"bundle": bundle})
    assert bundle_request({"runId": "r"}) is None


def playwright_event(project: Path, store: Path, title: str, bundle: dict[str, Any] | None = None,
                     unit_id: str = "unit1") -> dict[str, Any]:
    ref = {"project": "chromium", "file": "a.spec.ts", "titlePath": [title]}
    event: dict[str, Any] = {
        "runner": "playwright", "runId": "run1", "unitId": unit_id, "projectDir": str(project), "timeoutMs": 120_000,
        "artifacts": {"kind": "local", "root": str(store)},
        "unit": {"tests": [{"id": "t0", **ref}], "selectors": [ref], "configFile": "playwright.config.ts",
                 "retries": None}}
    if bundle is not None:
        event["bundle"] = bundle
    return event


@pytest.mark.unit
def test_a_bundle_that_cannot_be_fetched_gives_the_unit_an_error_result(tmp_path: Path, bundle_cache: Path) -> None:
    bundles = tmp_path / "bundles"
    bundles.mkdir()
    (bundles / "b.tar.gz").write_bytes(b"not the bundle")
    for key, reason in (("missing.tar.gz", "could not be fetched from its store"), ("b.tar.gz", "the store holds")):
        event = playwright_event(tmp_path, tmp_path / "store", "t", {
            "sha256": "a" * 64, "key": key, "bytes": 3, "store": {"kind": "local", "root": str(bundles)}})
        result = execute(event, time.monotonic() + 60)
        assert result["status"] == "error" and result["unitId"] == "unit1"
        assert result["error"].startswith(f"bundle {'a' * 64}: {reason}"), result["error"]
        assert "Traceback" not in result["error"]
    event["bundle"]["sha256"] = "nope"
    assert execute(event, time.monotonic() + 60)["error"].startswith("invalid payload: bundle.sha256")
    assert list(cache_folder(bundle_cache).iterdir()) == []


@pytest.mark.unit
def test_the_tests_see_the_bundles_sha_not_the_runners_folder() -> None:
    child = {BUNDLE_DIR_VARIABLE: "/tmp/b/" + "c" * 64, "PATH": "/bin"}
    set_bundle_variables(child, {BUNDLE_DIR_VARIABLE: "/tmp/b/" + "c" * 64})
    assert child == {"PATH": "/bin", BUNDLE_SHA_VARIABLE: "c" * 64}
    set_bundle_variables(child, {})
    assert child == {"PATH": "/bin"}


@pytest.mark.unit
def test_the_warm_keys_differ_by_bundle(tmp_path: Path) -> None:
    def command(bundle: str) -> PytestCommand:
        env = {"PATH": "/bin", **({BUNDLE_SHA_VARIABLE: bundle} if bundle else {})}
        return PytestCommand(argv=("python", "-m", "pytest"), collect_args=(), cwd=tmp_path, env=env,
                             unit_folder=tmp_path / "unit", python_path=tmp_path / "unit" / "pythonpath",
                             bundle=bundle)

    keys = {server_key(command(bundle)) for bundle in ("", "a" * 64, "b" * 64)}
    assert len(keys) == 3 and {key.bundle for key in keys} == {"", "a" * 64, "b" * 64}
    assert server_key(command("a" * 64)) == server_key(command("a" * 64))
    assert warm_host.HostKey("node", "pkg", (), "a" * 64) != warm_host.HostKey("node", "pkg", (), "b" * 64)


# Real units ---------------------------------------------------------------------------------------------------

SPEC = """import {{ test, expect }} from '@playwright/test';
test('{title}', async () => {{
  expect(process.env.HT_BUNDLE_DIR).toBeUndefined();
  expect(process.env.HT_BUNDLE_SHA ?? 'none').toBe('{bundle}');
}});
"""


def tree(folder: Path) -> dict[str, bytes]:
    """Every file below folder (links not followed), by relative path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink() and "node_modules" not in p.parts}


def bundle_in_store(project: Path, files: dict[str, str], store: Path, name: str) -> tuple[dict[str, Any], str]:
    """A bundle of files (as they would be in project) put into store, and the envelope's bundle for it."""
    source = project_with(store.parent / f"{name}-source", {p: t.encode() for p, t in files.items()})
    data = build_bundle(source, {p: sha(t.encode()) for p, t in files.items()}, [])
    (store / "bundles").mkdir(parents=True, exist_ok=True)
    (store / "bundles" / name).write_bytes(data)
    return {"sha256": sha(data), "key": f"bundles/{name}", "bytes": len(data),
            "store": {"kind": "local", "root": str(store)}}, sha(data)


def old_title_project(tmp_path: Path) -> tuple[Path, str]:
    """A one-spec Playwright project whose test is "old title", and the spec a bundle changes it to ("new title",
    which names its bundle's sha: that depends on the spec, so the bundle's test checks it is some sha)."""
    project = small_project(tmp_path / "project", "import { defineConfig } from '@playwright/test';\n"
                            "export default defineConfig({ testDir: './tests', projects: [{ name: 'chromium' }] });\n",
                            {"tests/a.spec.ts": SPEC.format(title="old title", bundle="none")})
    return project, SPEC.format(title="new title", bundle="SHA").replace("toBe('SHA')", "toMatch(/^[0-9a-f]{64}$/)")


@pytest.mark.e2e
def test_a_playwright_unit_runs_the_bundles_tests_on_a_copy_and_never_a_host_of_another_bundle(
        tmp_path: Path, private_tmp: Path) -> None:
    project, spec = old_title_project(tmp_path)
    image = tree(project)
    store = tmp_path / "store"
    bundle, digest = bundle_in_store(project, {"tests/a.spec.ts": spec, "tests/helper/extra.ts": "export {};\n"},
                                     store, "b1.tar.gz")

    plain = execute(playwright_event(project, store, "old title", unit_id="u0"), time.monotonic() + 120)
    first_host = warm_host.held_pids()
    bundled = execute(playwright_event(project, store, "new title", bundle, unit_id="u1"), time.monotonic() + 120)
    bundled_host = warm_host.held_pids()
    again = execute(playwright_event(project, store, "new title", bundle, unit_id="u2"), time.monotonic() + 120)
    old_in_bundle = execute(playwright_event(project, store, "old title", bundle, unit_id="u3"),
                            time.monotonic() + 120)
    back = execute(playwright_event(project, store, "old title", unit_id="u4"), time.monotonic() + 120)

    def verdict(result: dict[str, Any]) -> list[tuple[list[str], str]]:
        return [(t["titlePath"], t["status"]) for t in result["tests"]]

    assert verdict(plain) == [(["old title"], "passed")], plain
    assert bundled["status"] == "ok" and verdict(bundled) == [(["new title"], "passed")], bundled
    assert verdict(again) == [(["new title"], "passed")]
    assert old_in_bundle["tests"][0]["status"] != "passed"  # not in the bundle's spec
    assert verdict(back) == [(["old title"], "passed")], back
    assert first_host and bundled_host and first_host != bundled_host  # never the host of another bundle
    assert plain["runPath"].startswith("warm host") and bundled["runPath"].startswith("warm host")
    assert tree(project) == image  # the deployed folder is never changed
    assert sorted(p.name for p in cache_folder(private_tmp).iterdir()) == [digest]


@pytest.mark.e2e
def test_a_playwright_warm_up_with_a_bundle_warms_the_host_its_units_use(tmp_path: Path, private_tmp: Path) -> None:
    from runner.entry import warm_up

    project, spec = old_title_project(tmp_path)
    image = tree(project)
    store = tmp_path / "store"
    bundle, digest = bundle_in_store(project, {"tests/a.spec.ts": spec}, store, "b1.tar.gz")
    said = warm_up(playwright_event(project, store, "new title", bundle), dict(os.environ))
    assert said.endswith(f"(with the bundle {digest})") and "warm host" in said, said
    warmed = warm_host.held_pids()
    result = execute(playwright_event(project, store, "new title", bundle), time.monotonic() + 120)
    assert [(t["titlePath"], t["status"]) for t in result["tests"]] == [(["new title"], "passed")], result
    assert warmed and warm_host.held_pids() == warmed  # the unit ran in the host the warm-up started
    assert tree(project) == image


PYTEST_OLD = "def test_it():\n    assert 'old' == 'old'\n"
PYTEST_NEW = ("import os\n\n\ndef test_it():\n    assert 'HT_BUNDLE_DIR' not in os.environ\n"
              "    assert len(os.environ['HT_BUNDLE_SHA']) == 64\n\n\ndef test_new():\n    pass\n")
PYTEST_OTHER = "def test_other():\n    pass\n"


@pytest.mark.e2e
def test_a_pytest_unit_runs_the_bundles_modules_in_a_server_of_its_own(tmp_path: Path) -> None:
    from tests.test_pytest_plugin import plain_env, unit_payload
    from tests.test_pytest_warm import event, serving_runner

    project = project_with(tmp_path / "project", {"pytest.ini": b"[pytest]\n", "test_it.py": PYTEST_OLD.encode()})
    image = tree(project)
    store = tmp_path / "store"
    first, _ = bundle_in_store(project, {"test_it.py": PYTEST_NEW}, store, "p1.tar.gz")
    second, _ = bundle_in_store(project, {"test_it.py": PYTEST_OTHER}, store, "p2.tar.gz")

    def unit(names: list[str], unit_id: str, bundle: dict[str, Any] | None) -> dict[str, Any]:
        node_ids = [f"test_it.py::{name}" for name in names]
        payload = event(project, unit_id, unit_payload(project, node_ids, [f"{unit_id}-{name}" for name in names],
                                                       configFile="pytest.ini", options=[]), store)
        return {**payload, "bundle": bundle} if bundle is not None else payload

    # (pytest stops a session that names a test it does not find: each unit names only its module's tests.)
    units = [(["test_it"], None), (["test_it", "test_new"], first), (["test_new"], first), (["test_other"], second),
             (["test_new", "test_it"], first), (["test_it"], None)]
    runner_tmp = tmp_path / "tmp"  # the serving runner's temp folder: its bundle cache is there
    runner_tmp.mkdir()
    with serving_runner(tmp_path / "runner", plain_env(TMPDIR=str(runner_tmp))) as runner:
        results = [dict(runner.run(unit(names, f"u{n}", bundle), time.monotonic() + 150)[0])
                   for n, (names, bundle) in enumerate(units)]
    passed = [[t["titlePath"][-1] for t in r["tests"] if t["status"] == "passed"] for r in results]
    # Each unit runs its own bundle's module (or the image's): in a server that imported another's, test_it would
    # not see HT_BUNDLE_SHA, and test_new or test_other would not be found.
    assert passed == [["test_it"], ["test_it", "test_new"], ["test_new"], ["test_other"], ["test_new", "test_it"],
                      ["test_it"]], results
    assert all(r["status"] == "ok" for r in results), results
    assert [r["runPath"] for r in results] == ["warm fork"] * len(units), results
    assert tree(project) == image
    assert sorted(p.name for p in cache_folder(runner_tmp).iterdir()) == sorted([first["sha256"], second["sha256"]])


@pytest.mark.unit
def test_json_of_the_manifest_is_what_the_host_writes() -> None:
    text = bundle_format.manifest_bytes({"b": "1" * 64, "a": "2" * 64}, ["z", "y", "z"])
    assert json.loads(text) == {"version": 1, "files": {"a": "2" * 64, "b": "1" * 64}, "deleted": ["y", "z"]}
    assert text == bundle_format.manifest_bytes({"a": "2" * 64, "b": "1" * 64}, ["y", "z"])


@pytest.mark.e2e
def test_a_pytest_warm_up_with_a_bundle_fetches_it_for_the_units(tmp_path: Path) -> None:
    from tests.test_pytest_plugin import plain_env, unit_payload
    from tests.test_pytest_warm import event, serving_runner

    project = project_with(tmp_path / "project", {"pytest.ini": b"[pytest]\n", "test_it.py": PYTEST_OLD.encode()})
    store = tmp_path / "store"
    bundle, _ = bundle_in_store(project, {"test_it.py": PYTEST_NEW}, store, "p1.tar.gz")
    payload = {**event(project, "u0", unit_payload(project, ["test_it.py::test_new"], ["t0"], configFile="pytest.ini",
                                                   options=[]), store), "bundle": bundle}
    runner_tmp = tmp_path / "tmp"  # the serving runner's temp folder: its bundle cache is there
    runner_tmp.mkdir()
    with serving_runner(tmp_path / "runner", plain_env(TMPDIR=str(runner_tmp))) as runner:
        runner.warm_up(payload)
        runner.settle_warm_up()
        (store / bundle["key"]).unlink()  # fetched by the warm-up: the unit finds it in the sandbox's cache
        result = dict(runner.run(payload, time.monotonic() + 150)[0])
    assert result["status"] == "ok" and result["runPath"] == "warm fork", result
    assert [(t["titlePath"], t["status"]) for t in result["tests"]] == [(["test_new"], "passed")]
    assert [p.name for p in cache_folder(runner_tmp).iterdir()] == [bundle["sha256"]]
