"""The merged HTML report made to open from a private bucket through one presigned link to its index.html.

Every file of the report gets its own presigned link at publish time (a link does not depend on the content):
the attachments' paths in the report's embedded data become those links, the trace viewer's references to its
own files too (trace_viewer_presign), and the report's trace links point at a small page of ours (LAUNCHER)
with the trace in the fragment, which is not sent: that page holds, for each trace, a link to the viewer whose
`trace` parameter was signed with it, and goes there. See docs/providers.md.
"""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hypertest.providers.aws.trace_viewer_presign import TRACE_DIR, TraceViewerUnsupported, presigned_trace_viewer

REPORT_DIR = "report"
LAUNCHER = "hypertest-trace.html"
ATTACHMENTS_DIR = "data/"
# The embedded data, appended last by every supported Playwright: `window.playwrightReportBase64 = "…"` (1.40),
# <script id="playwrightReportBase64">…</script> (1.56), <template id="playwrightReportBase64">…</template> (1.65).
_DATA = re.compile(r"data:application/zip;base64,([A-Za-z0-9+/]*={0,2})(?=[\"<])")
_TRACE_LINK = "`trace/index.html?${"
# Newer reports copy the page's own query (here: index.html's signature) into every same-origin link.
_QUERY_COPY = re.compile(r"for\((?:let|const|var) ?\[(\w+),(\w+)\] ?of "
                         r"new URLSearchParams\(window\.location\.search\)\)\w+\.searchParams\.set\(\1,\2\);?")
# What a presigned link may hold to be put inside a script's string or a template literal as it is.
_PLAIN_URL = re.compile(r"[A-Za-z0-9%&=?/:._~+-]+")


class Signer(Protocol):
    """Presigns a GET of a file of the run folder (its path relative to the run folder), `query` signed too."""

    def __call__(self, relative: str, query: Mapping[str, str] | None = None) -> str: ...


@dataclass(frozen=True)
class PresignedReport:
    """What to upload instead of (or beside) the run folder's files, by path relative to the run folder."""

    contents: Mapping[str, bytes] = field(default_factory=dict)
    warning: str | None = None


class _Unsupported(Exception):
    """The report is not in a shape this rewrite knows."""


def presign_report(run_dir: Path, sign: Signer) -> PresignedReport:
    """The HTML report of run_dir rewritten to open from a private bucket through the presigned link to
    report/index.html: the rewritten files and the trace launcher page, by path relative to run_dir. Nothing
    when the run has no HTML report; nothing and a warning when the report is not in a known shape (it is then
    uploaded as it is). The files on disk are not changed."""
    report = run_dir / REPORT_DIR
    if not _regular(report / "index.html"):
        return PresignedReport()
    try:
        return PresignedReport(_rewrite(report, sign))
    except (_Unsupported, TraceViewerUnsupported) as exc:
        reason = str(exc)
    except (OSError, ValueError, zipfile.BadZipFile, RecursionError) as exc:  # json, base64 and utf-8 errors too
        reason = f"its data cannot be read ({type(exc).__name__})"
    return PresignedReport(warning=f"the HTML report is uploaded as it is ({reason}): from a private bucket, its "
                                   "link opens the first page but not its attachments and traces")


def _rewrite(report: Path, sign: Signer) -> dict[str, bytes]:
    files = sorted(_report_files(report))
    if LAUNCHER in files:
        raise _Unsupported(f"the report already has a file named {LAUNCHER}")
    urls = {path: _plain(sign(f"{REPORT_DIR}/{path}")) for path in files}
    html = (report / "index.html").read_bytes().decode("utf-8")
    matches = list(_DATA.finditer(html))
    if not matches:
        raise _Unsupported("its embedded data was not found")
    data = matches[-1]
    archive, traces = _presigned_data(base64.b64decode(data.group(1), validate=True), urls)
    html = f"{html[:data.start(1)]}{base64.b64encode(archive).decode('ascii')}{html[data.end(1):]}"
    html = _QUERY_COPY.sub("", html)
    if "location.search" in html:
        raise _Unsupported("it copies its own address's query into its links")
    contents: dict[str, bytes] = {}
    if traces and f"{TRACE_DIR}index.html" in urls:
        if _TRACE_LINK not in html:
            raise _Unsupported("its trace link was not found")
        launcher = _plain(sign(f"{REPORT_DIR}/{LAUNCHER}"))
        html = html.replace(_TRACE_LINK, f"`{launcher}#${{")
        viewers = [(trace, _plain(sign(f"{REPORT_DIR}/{TRACE_DIR}index.html", {"trace": trace}))) for trace in traces]
        contents[f"{REPORT_DIR}/{LAUNCHER}"] = launcher_page(viewers).encode("utf-8")
        for path, text in presigned_trace_viewer(urls, lambda name: (report / name).read_bytes()).items():
            contents[f"{REPORT_DIR}/{path}"] = text
    contents[f"{REPORT_DIR}/index.html"] = html.encode("utf-8")
    return contents


def _report_files(report: Path) -> Iterator[str]:
    """The regular files of the report folder (not through a link), as paths relative to it."""
    root = report.resolve()
    for path in report.rglob("*"):
        if _regular(path) and path.resolve().is_relative_to(root):
            yield path.relative_to(report).as_posix()


def _regular(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _plain(url: str) -> str:
    if not _PLAIN_URL.fullmatch(url):
        raise _Unsupported("a presigned link holds characters that cannot go into the report's scripts as they are")
    return url


def _presigned_data(archive: bytes, urls: Mapping[str, str]) -> tuple[bytes, list[str]]:
    """The report's data zip with each attachment's path that names a file of data/ replaced by its link, and
    the links of the trace attachments, in order of appearance."""
    traces: list[str] = []
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            document = json.loads(source.read(info))
            for attachment in _attachments(document):
                path = attachment.get("path")
                if not isinstance(path, str) or not path.startswith(ATTACHMENTS_DIR) or path not in urls:
                    continue
                attachment["path"] = urls[path]
                if attachment.get("name") == "trace" and urls[path] not in traces:
                    traces.append(urls[path])
            target.writestr(info.filename, json.dumps(document, ensure_ascii=False, separators=(",", ":")))
    return out.getvalue(), traces


def _attachments(document: Any) -> Iterator[dict[str, Any]]:
    """Every attachment record (a mapping in a list under "attachments") in a JSON document, without recursion."""
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            attachments = node.get("attachments")
            if isinstance(attachments, list):
                yield from (item for item in attachments if isinstance(item, dict))
            stack.extend(value for key, value in node.items() if key != "attachments")


def launcher_page(viewers: list[tuple[str, str]]) -> str:
    """The page the report's trace links open (`<page link>#trace=<trace link>`): it finds the trace in its
    table, baked in as JSON, and goes to that trace's viewer link; it shows a note when the trace is unknown."""
    table = script_json(viewers)
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>Opening the trace…</title></head>
<body>
<p id="status">Opening the trace…</p>
<script id="traces" type="application/json">{table}</script>
<script>
(function () {{
  var table = JSON.parse(document.getElementById("traces").textContent);
  var hash = window.location.hash, target = null, at = -1;
  for (var i = 0; i < table.length; i++) {{
    var trace;
    try {{ trace = new URL(table[i][0]).href; }} catch (e) {{ continue; }}
    var position = hash.indexOf("trace=" + trace);
    if (position >= 0 && (at < 0 || position < at)) {{ target = table[i][1]; at = position; }}
  }}
  if (target) {{ window.location.replace(target); }}
  else {{ document.getElementById("status").textContent = "This trace is not part of this report."; }}
}})();
</script>
</body>
</html>
"""


def script_json(value: object) -> str:
    """JSON for inside a <script> element: nothing in it can close the element or end a script line."""
    text = json.dumps(value, ensure_ascii=True)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                         ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text

