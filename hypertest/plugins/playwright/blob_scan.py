"""A blob report read with its size bounded and its entry names checked, and what folding needs of it.

Blobs may be hostile: only `<name>.jsonl` (one) and `resources/<name>` entries are accepted, the event file and
each of its lines are read up to Limits, and every event must be a JSON object naming its method.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any


@dataclass(frozen=True)
class Limits:
    """What a fold reads at most: a blob's event file, one event, every resource copied, a zip's entries."""

    report_bytes: int = 1 << 30
    line_bytes: int = 64 << 20
    resource_bytes: int = 8 << 30
    entries: int = 100_000


LIMITS = Limits()
_RESOURCE = re.compile(r"resources/[A-Za-z0-9_-][A-Za-z0-9._-]{0,200}")
_REPORT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,200}\.jsonl")
COMMON_EVENTS = ("onBlobReportMetadata", "onConfigure", "onProject", "onBegin", "onEnd")  # not a test's


class BlobRefused(ValueError):
    """A blob this does not fold: an unsafe entry, beyond a limit, or not in a blob format it knows."""


@dataclass
class BlobScan:
    """What folding needs from a blob, read once before anything is written."""

    path: Path
    report: str = ""
    resources: list[str] = field(default_factory=list)
    version: int | None = None
    listed: set[str] = field(default_factory=set)  # test ids of its onProject trees
    used: set[str] = field(default_factory=set)  # test ids its test events name
    results: Counter[str] = field(default_factory=Counter)  # onTestBegin per test id
    result_ids: set[str] = field(default_factory=set)
    step_ids: set[str] = field(default_factory=set)
    end: dict[str, Any] | None = None
    report_bytes: int = 0


def scan_blob(path: Path, limits: Limits = LIMITS) -> BlobScan:
    """Check a blob's entries and events (BlobRefused: unsafe, too big, or not a blob) and note what folding needs."""
    scan = BlobScan(path)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if len(names) > limits.entries or len(set(names)) != len(names):
            raise BlobRefused(f"{path.name}: too many or duplicate entries")
        for name in names:
            if _RESOURCE.fullmatch(name):
                scan.resources.append(name)
            elif _REPORT.fullmatch(name) and not scan.report:
                scan.report = name
            elif name != "resources/":
                raise BlobRefused(f"{path.name}: an entry named {name[:100]!r}")
        if not scan.report:
            raise BlobRefused(f"{path.name}: no events")
        for _, event in blob_events(archive, scan, limits):
            _note(scan, event)
    if scan.version not in (1, 2):
        raise BlobRefused(f"{path.name}: blob format {scan.version}")
    return scan


def blob_events(archive: zipfile.ZipFile, scan: BlobScan, limits: Limits) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """Each line of the blob's event file with its event, within the limits."""
    total = 0
    with archive.open(scan.report) as stream:
        while line := stream.readline(limits.line_bytes + 1):
            total += len(line)
            if total > limits.report_bytes or (len(line) > limits.line_bytes and not line.endswith(b"\n")):
                raise BlobRefused(f"{scan.path.name}: events beyond the limits")
            if not line.strip():
                continue
            event = json.loads(line, parse_constant=_no_constant)
            if not isinstance(event, dict) or not isinstance(event.get("method"), str):
                raise BlobRefused(f"{scan.path.name}: a line that is no event")
            yield line, event
    scan.report_bytes = total


def _no_constant(name: str) -> None:
    raise BlobRefused(f"{name} in an event")


def _note(scan: BlobScan, event: Mapping[str, Any]) -> None:
    method: str = event["method"]
    params: Any = event.get("params")
    if method == "onBlobReportMetadata":
        scan.version = int(params["version"]) if scan.version is None else -1  # two: not a blob it knows
    elif method == "onProject":
        for suite in params["project"]["suites"]:
            _listed(scan, suite)
    elif method == "onEnd":
        scan.end = dict(params["result"])
    elif method not in COMMON_EVENTS and isinstance(params, dict):
        test_id, result_id, step_ids = _ids(method, params)
        if test_id is not None:
            scan.used.add(test_id)
        if method == "onTestBegin" and test_id is not None and result_id is not None:
            scan.results[test_id] += 1
            scan.result_ids.add(result_id)
        scan.step_ids.update(step_ids)


def _listed(scan: BlobScan, suite: Mapping[str, Any]) -> None:
    entries = suite.get("entries")
    if entries is None:  # blob format 1: suites and tests apart
        entries = [*suite.get("suites", []), *suite.get("tests", [])]
    for entry in entries:
        if "testId" in entry:
            scan.listed.add(_text(entry["testId"]))
        else:
            _listed(scan, entry)


def _ids(method: str, params: Mapping[str, Any]) -> tuple[str | None, str | None, list[str]]:
    """The test id, result id and step ids a test event names (BlobRefused: ids of another shape)."""
    test = params.get("test")
    test_id = test.get("testId") if method == "onTestEnd" and isinstance(test, Mapping) else params.get("testId")
    result = params.get("result")
    result_id = result.get("id") if isinstance(result, Mapping) else params.get("resultId")
    step = params.get("step")
    steps = [step.get(key) for key in ("id", "parentStepId") if key in step] if isinstance(step, Mapping) else []
    if method in ("onTestBegin", "onTestEnd") and (test_id is None or result_id is None):
        raise BlobRefused(f"{method} without its test or result id")
    return (None if test_id is None else _text(test_id), None if result_id is None else _text(result_id),
            [_text(step_id) for step_id in steps])


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise BlobRefused("an id that is not a string")
    return value


def counted_chunks(source: IO[bytes], budget: list[int]) -> Iterator[bytes]:
    """source's bytes, counted against budget[0], what is left to read (BlobRefused beyond it)."""
    while chunk := source.read(1 << 20):
        budget[0] -= len(chunk)
        if budget[0] < 0:
            raise BlobRefused("resources beyond the limit")
        yield chunk
