"""The trace viewer Playwright ships in an HTML report (its `trace/` folder), with every reference to one of its
own files replaced by that file's presigned link: from a private bucket a relative URL resolves to an unsigned
one, which S3 refuses."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping

TRACE_DIR = "trace/"
SERVICE_WORKER = "sw.bundle.js"
# Files whose text holds references: markup, scripts (imports, the preload lists, the service worker's
# registration, the logo) and style sheets (fonts).
_TEXT_SUFFIXES = (".html", ".js", ".css")
# What a script may reference by name: not pages (a script's `index.html` can be a name inside a trace).
_SCRIPT_TARGETS = (".js", ".css", ".svg", ".ttf", ".woff", ".woff2", ".png")


class TraceViewerUnsupported(Exception):
    """The trace viewer is not in a shape this rewrite knows (so it is left as it is)."""


def presigned_trace_viewer(urls: Mapping[str, str], read: Callable[[str], bytes]) -> dict[str, bytes]:
    """The rewritten text files of the report's `trace/` folder, by path relative to the report.

    `urls` holds the presigned link of every file of the report folder (paths relative to it); `read` returns a
    file's bytes. A reference is rewritten only when it names, relative to the file holding it, a file of the
    folder, quoted whole ("x", 'x', `x`) or in a style sheet's url(x). Raises TraceViewerUnsupported when the
    viewer's page or its service worker registration is not found."""
    viewer = sorted(path for path in urls if path.startswith(TRACE_DIR))
    rewritten: dict[str, bytes] = {}
    counts: dict[str, int] = {}
    for path in viewer:
        if not path.endswith(_TEXT_SUFFIXES):
            continue
        try:
            text = read(path).decode("utf-8")
        except UnicodeDecodeError:
            continue
        new, count = _rewrite(text, path, viewer, urls)
        counts[path] = count
        if count:
            rewritten[path] = new.encode("utf-8")
    if not counts.get(f"{TRACE_DIR}index.html"):
        raise TraceViewerUnsupported("the trace viewer's page references none of its files")
    worker = urls.get(f"{TRACE_DIR}{SERVICE_WORKER}")
    if worker is None or not any(f"{quote}{worker}{quote}".encode() in data
                                 for path, data in rewritten.items() if path.endswith(".js") for quote in "\"'`"):
        raise TraceViewerUnsupported("the trace viewer's service worker registration was not found")
    return rewritten


def _rewrite(text: str, path: str, viewer: list[str], urls: Mapping[str, str]) -> tuple[str, int]:
    """The text of one file with its references to the viewer's files replaced, and how many there were."""
    folder = posixpath.dirname(path)
    markup = path.endswith(".html")
    targets: dict[str, str] = {}
    for other in viewer:
        if not markup and path.endswith(".js") and not other.endswith(_SCRIPT_TARGETS):
            continue
        relative = posixpath.relpath(other, folder)
        url = urls[other].replace("&", "&amp;") if markup else urls[other]
        targets[relative] = url
        if not relative.startswith("../"):
            targets[f"./{relative}"] = url
    if not targets:
        return text, 0
    names = "|".join(re.escape(name) for name in sorted(targets, key=len, reverse=True))
    pattern = re.compile(rf"(?P<q>[\"'`])(?P<quoted>{names})(?P=q)|url\((?P<bare>{names})\)")

    def replace(match: re.Match[str]) -> str:
        if match.group("quoted") is not None:
            return f"{match.group('q')}{targets[match.group('quoted')]}{match.group('q')}"
        return f"url({targets[match.group('bare')]})"

    return pattern.subn(replace, text)

