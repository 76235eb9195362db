"""Retry units' blobs folded into their plan unit's blob, so the merged report shows each test once.

A fresh or infrastructure retry runs failed tests again as a new unit with a blob of its own. merge-reports
gives a test id it has already seen in another blob a new id (1.40: every blob's ids), so each attempt would be
a test of its own. Folded into one blob, the attempts are results of one test, as in-process retries are: the
retry blobs' test events (and their errors and output) go before the plan unit's blob's `onEnd`, each result's
`retry` renumbered (the results of that test already in the blob, in order of the retry units' start), result
and step ids kept unique, their resources copied in. A plan unit without a blob takes its first retry's.

Blobs may be hostile: entry names are checked (only `<name>.jsonl` and `resources/<name>`), what is read is
bounded (Limits), and nothing is written but the folded zip. A blob that cannot be folded (refused, another
blob format, a test its plan unit's blob does not list) is merged as it is.
"""

from __future__ import annotations

import hashlib
import zipfile
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from hypertest.plugins.playwright.blob_scan import (
    COMMON_EVENTS,
    LIMITS,
    BlobScan,
    Limits,
    blob_events,
    counted_chunks,
    scan_blob,
)
from runner.json_text import utf8_json
from runner.model import UnitSummary

_STATUS_RANK = {"failed": 3, "timedout": 2, "interrupted": 1}
_FAILURES = (OSError, ValueError, EOFError, RuntimeError, NotImplementedError, LookupError, TypeError, AttributeError,
             zipfile.BadZipFile, zlib.error)


def blobs_to_merge(blob_dir: Path, units: Sequence[UnitSummary], scratch: Path, limits: Limits = LIMITS) -> list[Path]:
    """blob_dir's zips for merge-reports, each retry unit's folded into its plan unit's (a new zip in scratch,
    blob_dir is left as it is); blobs that cannot be folded stay as they are."""
    blobs = sorted(blob_dir.glob("*.zip"))
    replaced: dict[Path, Path | None] = {}
    for names in retry_groups(units):
        paths = [blob_dir / name for name in names if (blob_dir / name).is_file()]
        if len(paths) < 2:
            continue
        root, *retries = paths
        scratch.mkdir(parents=True, exist_ok=True)
        target = scratch / root.name
        folded = fold_blobs(root, retries, target, limits)
        if folded:
            replaced[root] = target
            replaced.update(dict.fromkeys(folded))
    return [found for blob in blobs if (found := replaced.get(blob, blob)) is not None]


def retry_groups(units: Sequence[UnitSummary]) -> list[list[str]]:
    """The blob file names of each plan unit that has retry units: its own first (when it has one), then its
    retries' in order of their start."""
    retries: dict[str, list[UnitSummary]] = {}
    for unit in units:
        if unit.get("retryOf"):
            retries.setdefault(str(unit["retryOf"]), []).append(unit)
    own = {unit["id"]: unit for unit in units if not unit.get("retryOf")}
    groups = []
    for plan_id, group in retries.items():
        group.sort(key=lambda unit: (_start(unit), unit["id"]))
        names = [Path(blob).name for unit in (own.get(plan_id), *group) if unit and (blob := unit.get("blob"))]
        groups.append([name for name in names if name.endswith(".zip")])
    return groups


def _start(unit: UnitSummary) -> float:
    try:
        return datetime.fromisoformat(str(unit.get("startedAt"))).timestamp()
    except ValueError:
        return float("inf")


def fold_blobs(root: Path, retries: Sequence[Path], target: Path, limits: Limits = LIMITS) -> list[Path]:
    """Write at target root's blob with the retries' test events and resources; returns the retries folded in
    (none: nothing is written, merge the blobs as they are)."""
    try:
        base = scan_blob(root, limits)
    except _FAILURES:
        return []
    fitting: list[BlobScan] = []
    for retry in retries:
        try:
            scan = scan_blob(retry, limits)
        except _FAILURES:
            continue
        if scan.version == base.version and scan.listed | scan.used <= base.listed:
            fitting.append(scan)
    if not fitting:
        return []
    try:
        _write(base, fitting, target, limits)
    except _FAILURES:
        target.unlink(missing_ok=True)
        return []
    return [scan.path for scan in fitting]


def _write(base: BlobScan, retries: Sequence[BlobScan], target: Path, limits: Limits) -> None:
    """The folded blob: base's resources and the retries' (a name taken by other content renamed), then its
    events with the retries' test events before its onEnd."""
    budget = [limits.resource_bytes]
    digests: dict[str, str] = {}
    renames: list[dict[str, str]] = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as out:
        for scan in (base, *retries):
            renamed: dict[str, str] = {}
            with zipfile.ZipFile(scan.path) as archive:
                for name in scan.resources:
                    digest = _digest(archive, name, budget) if name in digests else None
                    if digest is not None and digests[name] == digest:
                        continue  # the same file
                    new = _free_name(name, digests) if digest is not None else name
                    digests[new] = _copy(archive, name, out, new, budget)
                    if new != name:
                        renamed[name] = new
            renames.append(renamed)
        big = sum(scan.report_bytes for scan in (base, *retries)) > (1 << 31) - (1 << 24)
        report = _entry(base.report, zipfile.ZIP_DEFLATED)
        with out.open(report, "w", force_zip64=big) as sink, zipfile.ZipFile(base.path) as archive:
            ended = False
            for line, event in blob_events(archive, base, limits):
                if event["method"] == "onEnd" and not ended:
                    _write_retries(sink, base, retries, renames[1:], limits)
                    event["params"]["result"] = _end(base.end, [scan.end for scan in retries])
                    ended = True
                    sink.write(_line(event))
                else:
                    sink.write(line if line.endswith(b"\n") else line + b"\n")
            if not ended:
                _write_retries(sink, base, retries, renames[1:], limits)


def _write_retries(sink: IO[bytes], base: BlobScan, retries: Sequence[BlobScan], renames: Sequence[dict[str, str]],
                   limits: Limits) -> None:
    counts = Counter(base.results)
    result_ids, step_ids = set(base.result_ids), set(base.step_ids)
    for scan, renamed in zip(retries, renames, strict=True):
        names = _Names(_unique(scan.result_ids, result_ids), _unique(scan.step_ids, step_ids), renamed)
        with zipfile.ZipFile(scan.path) as archive:
            for _, event in blob_events(archive, scan, limits):
                if event["method"] not in COMMON_EVENTS:
                    _patch(event["method"], event.get("params"), counts, names)
                    sink.write(_line(event))


@dataclass(frozen=True)
class _Names:
    """A retry blob's result ids, step ids and resources that the folded blob names otherwise."""

    results: Mapping[str, str]
    steps: Mapping[str, str]
    resources: Mapping[str, str]


def _patch(method: str, params: Any, counts: Counter[str], names: _Names) -> None:
    """Renumber a retry's result, give its ids their unique names and its attachments their resources' names."""
    if not isinstance(params, dict):
        return
    result = params.get("result")
    if method == "onTestBegin" and isinstance(result, dict):
        result["retry"] = counts[params["testId"]]
        counts[params["testId"]] += 1
    if isinstance(result, dict) and "id" in result:
        result["id"] = names.results.get(result["id"], result["id"])
    if "resultId" in params:
        params["resultId"] = names.results.get(params["resultId"], params["resultId"])
    step = params.get("step")
    if isinstance(step, dict):
        for key in ("id", "parentStepId"):
            if key in step:
                step[key] = names.steps.get(step[key], step[key])
    attachments = result.get("attachments") if isinstance(result, dict) else params.get("attachments")
    for attachment in attachments if isinstance(attachments, list) else []:
        if isinstance(attachment, dict) and attachment.get("path") in names.resources:
            attachment["path"] = names.resources[attachment["path"]]


def _unique(ids: set[str], taken: set[str]) -> dict[str, str]:
    """New names for the ids already taken (all of them taken afterwards)."""
    names = {}
    for name in sorted(ids):
        new, count = name, 0
        while new in taken:
            count += 1
            new = f"{name}-{count}"
        taken.add(new)
        if new != name:
            names[name] = new
    return names


def _free_name(name: str, taken: Mapping[str, str]) -> str:
    stem, dot, extension = name.rpartition(".")
    stem, extension = (stem, dot + extension) if dot and "/" not in extension else (name, "")
    count = 1
    while f"{stem}-{count}{extension}" in taken:
        count += 1
    return f"{stem}-{count}{extension}"


def _copy(archive: zipfile.ZipFile, name: str, out: zipfile.ZipFile, new: str, budget: list[int]) -> str:
    big = archive.getinfo(name).file_size > (1 << 31) - (1 << 24)
    digest = hashlib.sha256()
    with archive.open(name) as source, out.open(_entry(new, zipfile.ZIP_STORED), "w", force_zip64=big) as sink:
        for chunk in counted_chunks(source, budget):
            digest.update(chunk)
            sink.write(chunk)
    return digest.hexdigest()


def _entry(name: str, compression: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=datetime.now().timetuple()[:6])
    info.compress_type = compression
    return info


def _digest(archive: zipfile.ZipFile, name: str, budget: list[int]) -> str:
    digest = hashlib.sha256()
    with archive.open(name) as source:
        for chunk in counted_chunks(source, budget):
            digest.update(chunk)
    return digest.hexdigest()


def _end(base: dict[str, Any] | None, retries: Sequence[dict[str, Any] | None]) -> dict[str, Any]:
    """The folded blob's end: from the first start to the last end, its worst status (as merge-reports adds
    up blobs' ends)."""
    ends = [end for end in (base, *retries) if end is not None]
    start = min(float(end["startTime"]) for end in ends)
    stop = max(float(end["startTime"]) + float(end["duration"]) for end in ends)
    status = max((str(end.get("status")) for end in ends), key=lambda status: _STATUS_RANK.get(status, 0))
    return {**(base or {}), "status": status, "startTime": start, "duration": stop - start}


def _line(event: Mapping[str, Any]) -> bytes:
    return (utf8_json(event, separators=(",", ":")) + "\n").encode("utf-8")
