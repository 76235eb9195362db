"""A unit's test bundle (issue 23): the files changed since the deployed image, which the runner lays over the
unit's copy of the project instead of the image's (the format: runner/bundle_format.py).

The envelope's `bundle` (`{"sha256", "key", "bytes", "store"}`, store shaped as the envelope's `artifacts`) is
fetched once per warm sandbox: the bundle is kept, unpacked, in `<tempdir>/hypertest-bundles-<uid>/<sha256>/`
(a folder private to this user, made whole or not at all: unpacked into a temporary sibling, then renamed), so
a later unit with the same sha256 fetches nothing. runner/entry.py resolves the envelope's bundle into that
folder and hands it down in HT_BUNDLE_DIR; the Playwright stage and the pytest unit then always copy the project
(the image's folder is never changed) and lay the bundle over the copy (`apply_bundle`). The tests' environment
gets HT_BUNDLE_SHA (the bundle's sha256) instead of HT_BUNDLE_DIR, and the warm Playwright host and pytest fork
server are keyed by it, so a unit never runs code loaded for another bundle (or for none).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.artifacts import store_from_payload
from runner.bundle_format import (
    BUNDLE_MANIFEST,
    FILES_FOLDER,
    MAX_BUNDLE_BYTES,
    BundleError,
    check_relative_path,
    extract_bundle,
    is_sha256,
    parse_manifest,
    read_regular,
    sha256_hex,
)
from runner.payload import PayloadError
from runner.private_cache import private_cache

BUNDLE_DIR_VARIABLE = "HT_BUNDLE_DIR"  # the runner's own: the unpacked bundle a unit lays over its project copy
BUNDLE_SHA_VARIABLE = "HT_BUNDLE_SHA"  # the tests': the sha256 of the bundle laid over their project
CACHE_NAME = "hypertest-bundles"
MAX_CACHED_BUNDLES = 8  # a warm sandbox keeps the most recently used bundles; older ones are removed
STALE_PARTIAL_S = 3600.0  # an unpacking left by a process that died is removed after this long
_PARTIAL_SUFFIX = ".partial"
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


@dataclass(frozen=True)
class BundleRequest:
    """The envelope's bundle: its sha256, its key in its store, its size, and the store (artifacts-shaped)."""

    sha256: str
    key: str
    size: int
    store: Mapping[str, Any]


def bundle_request(event: Any) -> BundleRequest | None:
    """The envelope's `bundle`, checked; None without one; PayloadError naming what is wrong."""
    if not isinstance(event, Mapping) or event.get("bundle") is None:
        return None
    bundle = event["bundle"]
    if not isinstance(bundle, Mapping):
        raise PayloadError("bundle: expected an object (sha256, key, bytes, store)")
    sha, key, size, store = bundle.get("sha256"), bundle.get("key"), bundle.get("bytes"), bundle.get("store")
    if not is_sha256(sha):
        raise PayloadError("bundle.sha256: expected 64 lowercase hex digits")
    try:
        check_relative_path(key, "bundle.key")
    except BundleError as exc:
        raise PayloadError(str(exc)) from None
    if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= MAX_BUNDLE_BYTES:
        raise PayloadError(f"bundle.bytes: expected a positive integer, at most {MAX_BUNDLE_BYTES}")
    if not isinstance(store, Mapping):
        raise PayloadError("bundle.store: expected an object shaped as artifacts")
    return BundleRequest(sha256=str(sha), key=str(key), size=size, store=dict(store))


def cache_root(base: Path | None = None) -> Path:
    """The folder of this user's unpacked bundles (made private when missing); BundleError when it cannot be."""
    folder = private_cache(Path(tempfile.gettempdir()) if base is None else base, CACHE_NAME)
    if folder is None:
        raise BundleError(f"no private folder {CACHE_NAME} in the temp folder to unpack it in")
    return folder


def prepare_bundle(request: BundleRequest, base: Path | None = None) -> Path:
    """The folder of the request's bundle, unpacked: the cached one, else fetched from its store, checked
    (its size, its sha256, then each file's) and unpacked whole, or not at all; BundleError, its message naming
    the bundle's sha256 and why, when it cannot be (no partial folder is left)."""
    try:
        root = cache_root(base)
        final = root / request.sha256
        if _complete(final):
            with contextlib.suppress(OSError):
                os.utime(final)  # most recently used: the last one evicted
            return final
        _remove(final)  # something that is not a whole bundle (it is not trusted)
        data = _fetch(request)
        _unpack(data, root, final)
    except BundleError as exc:
        raise BundleError(f"bundle {request.sha256}: {exc}") from None
    except OSError as exc:
        raise BundleError(f"bundle {request.sha256}: could not be unpacked: {exc}") from None
    _evict(root, final)
    return final


def _fetch(request: BundleRequest) -> bytes:
    """The bundle's bytes from its store, of its size and sha256."""
    try:
        data = store_from_payload(request.store).get_bytes(request.key)
    except Exception as exc:  # any store's fault (OSError, botocore's) is the bundle's error
        raise BundleError(f"could not be fetched from its store ({request.key}): "
                          f"{type(exc).__name__}: {exc}") from None
    if len(data) != request.size:
        raise BundleError(f"the store holds {len(data)} bytes at {request.key}, the envelope says {request.size}")
    digest = sha256_hex(data)
    if digest != request.sha256:
        raise BundleError(f"the bytes fetched from {request.key} have the sha256 {digest}, not the bundle's")
    return data


def _unpack(data: bytes, root: Path, final: Path) -> None:
    """Unpack data into a temporary sibling of final, then rename it to final (if another process did first,
    its folder is kept); nothing is left but a whole bundle."""
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=_PARTIAL_SUFFIX, dir=root))
    try:
        extract_bundle(data, staging)
        try:
            staging.rename(final)
        except OSError:
            if not _complete(final):  # not another unpacking of the same bytes, which won the race
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _complete(folder: Path) -> bool:
    """Whether folder is an unpacked bundle (a real folder with its manifest): renamed into place whole."""
    try:
        return stat.S_ISDIR(os.lstat(folder).st_mode) and stat.S_ISREG(os.lstat(folder / BUNDLE_MANIFEST).st_mode)
    except OSError:
        return False


def _remove(path: Path) -> None:
    """Remove path (a folder, a file or a link), renamed aside first so that no one finds half of it."""
    try:
        os.lstat(path)
    except FileNotFoundError:
        return
    aside = path.with_name(f".{path.name}.removed-{os.getpid()}-{time.monotonic_ns()}")
    try:
        path.rename(aside)
    except FileNotFoundError:
        return
    if aside.is_dir() and not aside.is_symlink():
        shutil.rmtree(aside, ignore_errors=True)
    else:
        aside.unlink(missing_ok=True)


def _evict(root: Path, keep: Path) -> None:
    """Remove all but the MAX_CACHED_BUNDLES most recently used bundles (keep among them), and the leftovers of
    unpackings that died."""
    bundles: list[tuple[float, Path]] = []
    now = time.time()
    with contextlib.suppress(OSError):
        for entry in root.iterdir():
            try:
                modified = entry.lstat().st_mtime
            except OSError:
                continue
            if is_sha256(entry.name) and entry != keep:
                bundles.append((modified, entry))
            elif entry.name.startswith(".") and now - modified > STALE_PARTIAL_S:
                _remove(entry)
    for _modified, entry in sorted(bundles, reverse=True)[MAX_CACHED_BUNDLES - 1:]:
        _remove(entry)


def bundle_overlay(env: Mapping[str, str]) -> Path | None:
    """The unpacked bundle a unit of this environment lays over its project copy (HT_BUNDLE_DIR), if any."""
    value = env.get(BUNDLE_DIR_VARIABLE)
    return Path(value) if value else None


def with_bundle(environ: Mapping[str, str], overlay: Path | None) -> dict[str, str]:
    """environ with HT_BUNDLE_DIR naming overlay, or without it (no bundle: nothing is laid over the project)."""
    env = {name: value for name, value in environ.items() if name != BUNDLE_DIR_VARIABLE}
    if overlay is not None:
        env[BUNDLE_DIR_VARIABLE] = str(overlay)
    return env


def set_bundle_variables(child: MutableMapping[str, str], env: Mapping[str, str]) -> None:
    """Make a test process's environment say which bundle its project has (HT_BUNDLE_SHA, none without one),
    without the runner's HT_BUNDLE_DIR."""
    child.pop(BUNDLE_DIR_VARIABLE, None)
    child.pop(BUNDLE_SHA_VARIABLE, None)
    overlay = bundle_overlay(env)
    if overlay is not None:
        child[BUNDLE_SHA_VARIABLE] = overlay.name


def lay_over(env: Mapping[str, str], project_copy: Path) -> str | None:
    """Lay the environment's bundle (if any) over the unit's project copy; a message naming the bundle and why
    when it cannot be, else None."""
    overlay = bundle_overlay(env)
    if overlay is None:
        return None
    try:
        apply_bundle(overlay, project_copy)
    except BundleError as exc:
        return f"bundle {overlay.name}: {exc}"
    except OSError as exc:
        return f"bundle {overlay.name}: could not be laid over the project copy: {exc}"
    return None


def apply_bundle(overlay_dir: Path, project_copy: Path) -> None:
    """Write the bundle's files (unpacked in overlay_dir) into project_copy, making their folders, and delete its
    deleted paths that are regular files there. No link of the copy is followed: a file whose folder in the copy
    is a link (node_modules is one) is refused; a file that is a link is replaced, not written through. Each
    file's content is checked against its sha256 again (the cache is in the shared temp folder). BundleError
    when something is refused."""
    manifest = parse_manifest(read_regular(overlay_dir / BUNDLE_MANIFEST, BUNDLE_MANIFEST))
    root = os.open(project_copy, _DIRECTORY_FLAGS)
    try:
        for path, digest in sorted(manifest.files.items()):
            content = read_regular(overlay_dir / FILES_FOLDER / path, path)
            if sha256_hex(content) != digest:
                raise BundleError(f"the cached file {path!r} no longer has its sha256")
            _write_file(root, path, content)
        for path in manifest.deleted:
            _delete_file(root, path)
    finally:
        os.close(root)


def _open_parent(root: int, path: str, *, create: bool) -> int | None:
    """A descriptor of path's folder below root, each part opened without following a link (made when missing
    and create); None when a part is missing and not create. BundleError when a part is a link or a file."""
    current = os.dup(root)
    parts = path.split("/")[:-1]
    try:
        for index, part in enumerate(parts):
            try:
                following = os.open(part, _DIRECTORY_FLAGS, dir_fd=current)
            except FileNotFoundError:
                if not create:
                    os.close(current)
                    return None
                os.mkdir(part, 0o755, dir_fd=current)
                following = os.open(part, _DIRECTORY_FLAGS, dir_fd=current)
            except OSError:
                where = "/".join(parts[:index + 1])
                found = os.stat(part, dir_fd=current, follow_symlinks=False)
                kind = "a link" if stat.S_ISLNK(found.st_mode) else "not a folder"
                raise BundleError(f"{path!r}: {where} is {kind} in the project copy (a bundle follows no link)") \
                    from None
            os.close(current)
            current = following
    except BaseException:
        os.close(current)
        raise
    return current


def _write_file(root: int, path: str, content: bytes) -> None:
    """Write path below root (its folders made), replacing what is there, keeping a replaced file's mode."""
    folder = _open_parent(root, path, create=True)
    assert folder is not None  # create=True makes every folder
    name = path.rsplit("/", 1)[-1]
    try:
        mode = 0o644
        try:
            found = os.stat(name, dir_fd=folder, follow_symlinks=False)
        except FileNotFoundError:
            found = None
        if found is not None:
            if stat.S_ISDIR(found.st_mode):
                raise BundleError(f"{path!r} is a folder in the project copy")
            if stat.S_ISREG(found.st_mode):
                mode = stat.S_IMODE(found.st_mode) | stat.S_IWUSR
            os.unlink(name, dir_fd=folder)  # a link is removed, never written through
        descriptor = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode, dir_fd=folder)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            os.fchmod(handle.fileno(), mode)
    finally:
        os.close(folder)


def _delete_file(root: int, path: str) -> None:
    """Delete path below root when it is a regular file there (a missing one, or another kind, is left)."""
    folder = _open_parent(root, path, create=False)
    if folder is None:
        return
    name = path.rsplit("/", 1)[-1]
    try:
        found = os.stat(name, dir_fd=folder, follow_symlinks=False)
        if stat.S_ISREG(found.st_mode):
            os.unlink(name, dir_fd=folder)
    except FileNotFoundError:
        pass
    finally:
        os.close(folder)
