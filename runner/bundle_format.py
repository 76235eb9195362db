"""The format of a test bundle: the files that changed since the deployed image, shipped to the runner so that a
run of changed tests needs no rebuild (issue 23). Pure standard library: the host builds bundles with
`build_bundle`, the runner reads them with `extract_bundle` (runner/bundle.py fetches, caches and lays them over
a unit's project copy).

A bundle is a gzip'd tar of `hypertest-bundle.json` = `{"version": 1, "files": {"<relative posix path>": "<sha256
hex of its content>"}, "deleted": ["<relative path>", ...]}` and, for each path of `files`, the regular file
`files/<relative path>`. Paths are relative to the project folder, never absolute, never with `.`, `..` or empty
parts, never below node_modules, .git or .venv. The host writes it deterministically (members sorted, the
manifest first, mtime 0, owner 0, mode 0644, gzip mtime 0): the same files give the same bytes, hence the same
sha256, which names the bundle in the runner's cache.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import stat
import tarfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

BUNDLE_MANIFEST = "hypertest-bundle.json"
BUNDLE_VERSION = 1
FILES_FOLDER = "files"
MAX_UNPACKED_BYTES = 256 * 1024 * 1024  # the files' content, together
MAX_FILES = 20_000
MAX_BUNDLE_BYTES = 256 * 1024 * 1024  # the gzip'd tar, as stored
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
# What the tar may add to the files' content: a header and padding per member, long-name and pax records.
_TAR_OVERHEAD_BYTES = (MAX_FILES + 16) * 4 * 512 + MAX_MANIFEST_BYTES
REFUSED_PARTS = frozenset({"node_modules", ".git", ".venv"})
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1024 * 1024


class BundleError(ValueError):
    """A bundle that is malformed or unsafe to unpack (the message says what is wrong)."""


@dataclass(frozen=True)
class BundleManifest:
    """What a bundle holds: each file's relative path and content sha256, and the paths deleted since the image."""

    files: Mapping[str, str]
    deleted: tuple[str, ...]


def is_sha256(value: object) -> bool:
    """Whether value is a sha256 digest in lowercase hex."""
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def sha256_hex(data: bytes) -> str:
    """The sha256 of data, in lowercase hex."""
    return hashlib.sha256(data).hexdigest()


def check_relative_path(path: object, where: str = "path") -> str:
    """path when it is a safe project-relative posix path (no absolute path, no `.`, `..` or empty part, no
    backslash or NUL, nothing below node_modules, .git or .venv); BundleError naming it otherwise."""
    if not isinstance(path, str) or not path:
        raise BundleError(f"{where}: expected a non-empty relative path")
    if "\0" in path or "\\" in path:
        raise BundleError(f"{where} {path!r}: a NUL or a backslash")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise BundleError(f"{where} {path!r}: not a UTF-8 name") from None
    if path.startswith("/"):
        raise BundleError(f"{where} {path!r}: an absolute path")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise BundleError(f"{where} {path!r}: an empty, '.' or '..' part")
    refused = REFUSED_PARTS.intersection(parts)
    if refused:
        raise BundleError(f"{where} {path!r}: below {sorted(refused)[0]}, which a bundle never changes")
    return path


def parse_manifest(data: bytes) -> BundleManifest:
    """The manifest of a bundle (the bytes of its hypertest-bundle.json), validated: version 1, at most MAX_FILES
    files with safe paths and sha256 digests, safe deleted paths, no path both a file and deleted, no file a
    folder of another."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"{BUNDLE_MANIFEST} is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise BundleError(f"{BUNDLE_MANIFEST}: expected an object")
    if document.get("version") != BUNDLE_VERSION:
        raise BundleError(f"{BUNDLE_MANIFEST}: version {document.get('version')!r}, this runner reads version "
                          f"{BUNDLE_VERSION}")
    files, deleted = document.get("files"), document.get("deleted", [])
    if not isinstance(files, dict):
        raise BundleError(f"{BUNDLE_MANIFEST}: files: expected an object of path -> sha256")
    if not isinstance(deleted, list):
        raise BundleError(f"{BUNDLE_MANIFEST}: deleted: expected a list of paths")
    if len(files) > MAX_FILES:
        raise BundleError(f"{BUNDLE_MANIFEST}: {len(files)} files, more than {MAX_FILES}")
    for path, digest in files.items():
        check_relative_path(path, "a file")
        if not is_sha256(digest):
            raise BundleError(f"{BUNDLE_MANIFEST}: the file {path!r} has no sha256 (lowercase hex)")
    for path in deleted:
        check_relative_path(path, "a deleted path")
        if path in files:
            raise BundleError(f"{BUNDLE_MANIFEST}: {path!r} is both a file and deleted")
    folders = {"/".join(parts[:end]) for parts in (p.split("/") for p in files) for end in range(1, len(parts))}
    clash = sorted(folders.intersection(files))
    if clash:
        raise BundleError(f"{BUNDLE_MANIFEST}: {clash[0]!r} is a file and a folder of other files")
    return BundleManifest(files=dict(files), deleted=tuple(deleted))


def manifest_bytes(files: Mapping[str, str], deleted: Sequence[str]) -> bytes:
    """The deterministic text of a manifest (keys and deleted paths sorted, compact JSON, UTF-8)."""
    document = {"version": BUNDLE_VERSION, "files": dict(sorted(files.items())), "deleted": sorted(set(deleted))}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def build_bundle(project_dir: Path, files: Mapping[str, str], deleted: Sequence[str]) -> bytes:
    """A deterministic bundle (gzip'd tar bytes) of the files (relative path -> sha256 of its content) below
    project_dir and the deleted paths: the manifest first, then `files/<path>` in sorted order, mtime 0, owner 0,
    mode 0644, gzip mtime 0. BundleError when a path is unsafe, a file is not a regular file (a link is refused),
    its content does not have its sha256, or the bundle is past the runner's limits."""
    for path in (*files, *deleted):
        check_relative_path(path)  # before the manifest is written: a name that is not UTF-8 cannot be
    manifest = manifest_bytes(files, deleted)
    parse_manifest(manifest)  # the runner's own checks, before any file is read
    buffer = io.BytesIO()
    total = 0
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as compressed, \
            tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as archive:
        archive.addfile(_member(BUNDLE_MANIFEST, len(manifest)), io.BytesIO(manifest))
        for path in sorted(files):
            content = _read_regular(project_dir, path)
            if sha256_hex(content) != files[path]:
                raise BundleError(f"{path}: its content does not have the sha256 given for it ({files[path]})")
            total += len(content)
            if total > MAX_UNPACKED_BYTES:
                raise BundleError(f"the files are more than {MAX_UNPACKED_BYTES} bytes together")
            archive.addfile(_member(f"{FILES_FOLDER}/{path}", len(content)), io.BytesIO(content))
    data = buffer.getvalue()
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"the bundle is {len(data)} bytes, more than {MAX_BUNDLE_BYTES}")
    return data


def _member(name: str, size: int) -> tarfile.TarInfo:
    """A regular file's tar header with nothing of the machine that wrote it."""
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode, info.type = size, 0, 0o644, tarfile.REGTYPE
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _read_regular(project_dir: Path, path: str) -> bytes:
    """The content of project_dir/path, which must be a regular file reached through no link."""
    current = project_dir
    for part in path.split("/")[:-1]:
        current = current / part
        if current.is_symlink() or not current.is_dir():
            raise BundleError(f"{path}: {current} is not a folder (a link is not followed)")
    target = project_dir / path
    if target.is_symlink():
        raise BundleError(f"{path}: a link (a bundle holds regular files only)")
    return read_regular(target, path)


def read_regular(target: Path, name: str) -> bytes:
    """The content of target, which must be a regular file: opened without following a link and without
    blocking (a FIFO put in its place is refused, not waited on); BundleError naming it otherwise."""
    try:
        descriptor = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise BundleError(f"{name}: cannot be read as a regular file: {exc.strerror}") from None
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise BundleError(f"{name}: not a regular file")
        return handle.read()


def gunzip_bounded(data: bytes, limit: int) -> bytes:
    """The gunzipped data, at most limit bytes (BundleError past it, or for anything but one gzip member)."""
    decompressor = zlib.decompressobj(wbits=31)
    out = io.BytesIO()
    pending = data
    try:
        while pending or not decompressor.eof:
            chunk = decompressor.decompress(pending, _CHUNK)
            pending = decompressor.unconsumed_tail
            out.write(chunk)
            if out.tell() > limit:
                raise BundleError(f"it unpacks to more than {limit} bytes")
            if decompressor.eof or (not chunk and not pending):
                break
    except zlib.error as exc:
        raise BundleError(f"not a gzip stream: {exc}") from None
    if not decompressor.eof:
        raise BundleError("the gzip stream is cut short")
    if decompressor.unused_data:
        raise BundleError("data after the gzip stream")
    return out.getvalue()


def extract_bundle(data: bytes, target: Path) -> BundleManifest:
    """Unpack a bundle's bytes into the empty folder target (its manifest, and each file below target/files),
    checking everything first: one gzip'd tar, a valid manifest, only regular files and folders (no link,
    device or FIFO), no member outside the manifest's files (nor a folder that is not one of theirs), no
    member twice, every listed file present with its sha256, at most MAX_FILES files and MAX_UNPACKED_BYTES.
    BundleError says what was refused; target may then hold part of the files (the caller removes it)."""
    tar_bytes = gunzip_bounded(data, MAX_UNPACKED_BYTES + _TAR_OVERHEAD_BYTES)
    try:
        with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as archive:
            members = _checked_members(archive)
            manifest_member = members.get(BUNDLE_MANIFEST)
            if manifest_member is None:
                raise BundleError(f"no {BUNDLE_MANIFEST}")
            manifest_data = _member_bytes(archive, manifest_member)
            manifest = parse_manifest(manifest_data)
            _check_listing(manifest, members)
            (target / BUNDLE_MANIFEST).write_bytes(manifest_data)
            for path in sorted(manifest.files):
                content = _member_bytes(archive, members[f"{FILES_FOLDER}/{path}"])
                if sha256_hex(content) != manifest.files[path]:
                    raise BundleError(f"the file {path!r} does not have the sha256 its manifest gives")
                destination = target / FILES_FOLDER / path
                destination.parent.mkdir(parents=True, exist_ok=True)
                descriptor = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(content)
    except tarfile.TarError as exc:
        raise BundleError(f"not a tar archive: {exc}") from None
    return manifest


def _checked_members(archive: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
    """The archive's members by name, each a regular file or a folder, none twice, within the limits."""
    members: dict[str, tarfile.TarInfo] = {}
    total = 0
    for member in archive:
        name = member.name[:-1] if member.isdir() and member.name.endswith("/") else member.name
        if not (member.isreg() or member.isdir()):
            kind = ("a symbolic link" if member.issym() else "a hard link" if member.islnk() else
                    "a FIFO" if member.isfifo() else "a device" if member.isdev() else
                    "not a regular file or folder")
            raise BundleError(f"the member {member.name!r} is {kind}")
        if name not in (FILES_FOLDER, BUNDLE_MANIFEST):
            check_relative_path(name.removeprefix(f"{FILES_FOLDER}/"), "a member")
        if name in members:
            raise BundleError(f"the member {name!r} is there twice")
        members[name] = member
        total += member.size if member.isreg() else 0
        if len(members) > 2 * MAX_FILES + 2:
            raise BundleError(f"more than {MAX_FILES} files")
        if total > MAX_UNPACKED_BYTES + MAX_MANIFEST_BYTES:
            raise BundleError(f"it unpacks to more than {MAX_UNPACKED_BYTES} bytes")
    return members


def _check_listing(manifest: BundleManifest, members: Mapping[str, tarfile.TarInfo]) -> None:
    """Every member is the manifest, a listed file or one of their folders; every listed file is a member."""
    files = {f"{FILES_FOLDER}/{path}" for path in manifest.files}
    folders = {FILES_FOLDER} | {"/".join(parts[:end]) for parts in (p.split("/") for p in files)
                                for end in range(2, len(parts))}
    total = 0
    for name, member in members.items():
        if name == BUNDLE_MANIFEST and member.isreg():
            continue
        if member.isreg() and name in files:
            total += member.size
            continue
        if member.isdir() and name in folders:
            continue
        raise BundleError(f"the member {name!r} is not listed in {BUNDLE_MANIFEST}")
    if total > MAX_UNPACKED_BYTES:
        raise BundleError(f"it unpacks to more than {MAX_UNPACKED_BYTES} bytes")
    missing = sorted(files.difference(members))
    if missing:
        raise BundleError(f"the listed file {missing[0].removeprefix(FILES_FOLDER + '/')!r} is missing")


def _member_bytes(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    """A regular member's content."""
    if member.name == BUNDLE_MANIFEST and member.size > MAX_MANIFEST_BYTES:
        raise BundleError(f"{BUNDLE_MANIFEST} is more than {MAX_MANIFEST_BYTES} bytes")
    source = archive.extractfile(member)
    if source is None:
        raise BundleError(f"the member {member.name!r} cannot be read")
    with source:
        return source.read()
