"""The rewrite that makes the merged HTML report open from a private bucket (hypertest/providers/aws/report_presign.py):
which paths become presigned links and which do not, the trace link and its launcher page, untrusted text, the
fallback for a report of an unknown shape, and the links' signatures (tests/aws/test_aws_report_link.py runs it all
in Chromium)."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import urllib.parse
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from hypertest.providers.aws.report_presign import LAUNCHER, launcher_page, presign_report, script_json
from hypertest.providers.aws.s3_presign import S3Signer
from tests.aws.test_aws_report_link import sigv4_valid
from tests.conftest import DEMO
from tests.playwright_versions import MATRIX, playwright_install

HOSTILE = "</script><script>alert(1)</script>\u2028&lt;`${x}`"
TRACE_LINK_APP = "function ro(e){return`trace/index.html?${e.map(e=>`trace=${new URL(e.path,location.href)}`)}`}"
# 1.65's helper that copies the page's query into same-origin links (it would copy index.html's signature).
QUERY_COPY_APP = ("function Ua(e){let t=new URL(e,window.location.href);if(t.origin===window.location.origin){"
                  "for(let[e,n]of new URLSearchParams(window.location.search))t.searchParams.set(e,n);"
                  "return t.toString()}return e}")


def sign(relative: str, query: Mapping[str, str] | None = None) -> str:
    """A stand-in signer: the path and the query in a recognisable link."""
    extra = f"&{urllib.parse.urlencode(query, quote_via=urllib.parse.quote, safe='-_.~')}" if query else ""
    return f"https://bucket.example/run/{relative}?X-Amz-Signature=sig{extra}"


def data_zip(documents: Mapping[str, object]) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, document in documents.items():
            archive.writestr(name, json.dumps(document))
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def embedded(shape: str, encoded: str) -> str:
    """The data block as each Playwright appends it to index.html."""
    return {"1.40": f'<script>\nwindow.playwrightReportBase64 = "data:application/zip;base64,{encoded}";</script>',
            "1.56": f'<script id="playwrightReportBase64" type="application/zip">data:application/zip;base64,'
                    f"{encoded}</script>",
            "1.65": f'<template id="playwrightReportBase64">data:application/zip;base64,{encoded}</template>'}[shape]


def attachments(paths: list[str]) -> list[dict[str, str]]:
    return [{"name": "trace" if path.endswith(".zip") else "screenshot", "path": path,
             "contentType": "application/zip"} for path in paths]


def make_report(run: Path, *, shape: str = "1.65", app: str = TRACE_LINK_APP + QUERY_COPY_APP,
                paths: list[str] | None = None, viewer: bool = True) -> Path:
    """A run folder with a report: two data files, a trace viewer (the demo's Playwright's), the app code and the
    embedded data whose attachments name `paths`."""
    report = run / "report"
    (report / "data").mkdir(parents=True)
    (report / "data" / "aa.zip").write_bytes(b"PK")
    (report / "data" / "bb.png").write_bytes(b"png")
    (run / "secret.txt").write_text("outside the report")
    (report / "data" / "link.zip").symlink_to(run / "secret.txt")
    (report / "data" / "folder").symlink_to(run, target_is_directory=True)
    if viewer:
        copy_viewer(DEMO / "node_modules" / "playwright-core", report / "trace")
    paths = paths if paths is not None else ["data/aa.zip", "data/bb.png"]
    test = {"title": HOSTILE, "results": [{"attachments": attachments(paths),
                                           "steps": [{"title": HOSTILE, "attachments": [0]}]}]}
    encoded = data_zip({"report.json": {"files": [{"tests": [test]}]}, "f.json": {"tests": [test]}})
    (report / "index.html").write_text(f"<script type=module>{app}</script>{embedded(shape, encoded)}")
    return run


def copy_viewer(playwright_core: Path, target: Path) -> None:
    """The trace viewer's files as Playwright's HTML reporter copies them into a report."""
    shutil.copytree(playwright_core / "lib" / "vite" / "traceViewer", target,
                    ignore=lambda folder, names: [n for n in names if n.endswith(".map") or "watch" in n
                                                  or (folder.endswith("assets") and "xtermModule" in n)])


def read_data(html: bytes) -> dict[str, Any]:
    match = re.findall(rb"data:application/zip;base64,([A-Za-z0-9+/=]*)", html)[-1]
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(match))) as archive:
        return {name: json.loads(archive.read(name)) for name in archive.namelist()}


@pytest.mark.parametrize("shape", ["1.40", "1.56", "1.65"])
def test_attachment_paths_of_report_files_become_presigned_links(tmp_path: Path, shape: str) -> None:
    hostile = ["../secret.txt", "/etc/passwd", "data/missing.zip", "data/link.zip", "data/folder/secret.txt",
               "index.html", "trace/sw.bundle.js"]
    run = make_report(tmp_path, shape=shape, paths=["data/aa.zip", "data/bb.png", *hostile])
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    result = presign_report(run, sign)
    assert result.warning is None
    data = read_data(result.contents["report/index.html"])
    [test] = data["f.json"]["tests"]
    assert [a["path"] for a in test["results"][0]["attachments"]] == [
        sign("report/data/aa.zip"), sign("report/data/bb.png"), *hostile]
    assert test["title"] == HOSTILE
    assert data["report.json"]["files"][0]["tests"][0]["results"][0]["attachments"][0]["path"] == \
        sign("report/data/aa.zip")
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before  # the local report is unchanged


def test_trace_links_go_through_the_launcher_with_a_signed_trace_parameter(tmp_path: Path) -> None:
    result = presign_report(make_report(tmp_path), sign)
    html = result.contents["report/index.html"].decode()
    launcher = sign(f"report/{LAUNCHER}")
    assert f"`{launcher}#${{e.map(" in html and "trace/index.html?" not in html
    assert "location.search" not in html and "return t.toString()" in html  # the query copy is gone
    page = result.contents[f"report/{LAUNCHER}"].decode()
    found = re.search(r'<script id="traces" type="application/json">(.*?)</script>', page, re.S)
    assert found
    table = json.loads(found[1])
    assert table == [[sign("report/data/aa.zip"),
                      sign("report/trace/index.html", {"trace": sign("report/data/aa.zip")})]]


def test_the_trace_viewer_references_its_own_files_by_presigned_links(tmp_path: Path) -> None:
    contents = presign_report(make_report(tmp_path), sign).contents
    page = contents["report/trace/index.html"].decode()
    references = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert len(references) >= 5
    assert all(url.startswith(("https://bucket.example/run/report/trace/", "https://aka.ms/")) for url in references)
    scripts = b"".join(text for path, text in contents.items() if path.endswith(".js")).decode()
    assert f"`{sign('report/trace/sw.bundle.js')}`" in scripts
    assert not re.findall(r"""["'`]\.\.?/[\w.-]+\.(?:js|css)["'`]""", scripts)  # no import left relative
    css = b"".join(text for path, text in contents.items() if path.endswith(".css")).decode()
    assert "url(./" not in css


@pytest.mark.integration
@pytest.mark.parametrize("version", MATRIX)
def test_each_playwright_of_the_matrix_has_the_shape_the_rewrite_knows(tmp_path: Path, version: str) -> None:
    core = playwright_install(version) / "node_modules" / "playwright-core"
    folder = core / "lib" / "vite" / "htmlReport"
    app = "".join(path.read_text() for path in sorted(folder.iterdir()) if path.suffix in (".html", ".js"))
    run = make_report(tmp_path, shape="1.40" if version < "1.56" else version[:4], app=app, viewer=False)
    copy_viewer(core, run / "report" / "trace")
    result = presign_report(run, sign)
    assert result.warning is None
    assert f"report/{LAUNCHER}" in result.contents and "report/trace/index.html" in result.contents
    assert "trace/index.html?" not in result.contents["report/index.html"].decode()


@pytest.mark.parametrize(("app", "reason"), [
    (QUERY_COPY_APP, "its trace link was not found"),
    (TRACE_LINK_APP + "let q=new URLSearchParams(location.search)", "copies its own address's query"),
])
def test_an_unknown_report_is_uploaded_as_it_is_with_one_warning(tmp_path: Path, app: str, reason: str) -> None:
    result = presign_report(make_report(tmp_path, app=app), sign)
    assert not result.contents and result.warning and reason in result.warning


def test_unreadable_data_and_no_report(tmp_path: Path) -> None:
    assert presign_report(tmp_path, sign).contents == {}
    assert presign_report(tmp_path, sign).warning is None
    run = make_report(tmp_path / "run")
    index = run / "report" / "index.html"
    index.write_text(re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,AAAA", index.read_text()))
    result = presign_report(run, sign)
    assert not result.contents and "cannot be read (BadZipFile)" in (result.warning or "")
    index.write_bytes(b"\xff\xfe")
    assert "cannot be read (UnicodeDecodeError)" in (presign_report(run, sign).warning or "")


def test_a_report_without_traces_has_no_launcher(tmp_path: Path) -> None:
    contents = presign_report(make_report(tmp_path, paths=["data/bb.png"]), sign).contents
    assert set(contents) == {"report/index.html"}


def test_a_link_that_cannot_go_into_a_script_leaves_the_report_as_it_is(tmp_path: Path) -> None:
    result = presign_report(make_report(tmp_path), lambda relative, query=None: f"https://x/{relative}?a=`${{b}}`")
    assert not result.contents and "cannot go into the report's scripts" in (result.warning or "")


def test_launcher_data_cannot_become_markup() -> None:
    page = launcher_page([(HOSTILE, HOSTILE)])
    assert "</script><script>" not in page and "\u2028" not in page and "&lt;" not in page
    assert json.loads(script_json([HOSTILE])) == [HOSTILE]


def test_the_signer_signs_the_added_query_parameter() -> None:
    client = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                   region_name="eu-west-1").client(
        "s3", endpoint_url="http://127.0.0.1:9", config=Config(signature_version="s3v4",
                                                             s3={"addressing_style": "path"}))
    signer = S3Signer(client, "bucket", "hypertest/run", 600)
    trace = signer("report/data/aa.zip")
    viewer = signer("report/trace/index.html", {"trace": trace})
    assert sigv4_valid(trace) and sigv4_valid(viewer)
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(viewer).query)["trace"] == [trace]
    assert not sigv4_valid(f"{signer('report/trace/index.html')}&trace={urllib.parse.quote(trace, safe='')}")
    assert signer("report/x.html").startswith("http://127.0.0.1:9/bucket/hypertest/run/report/x.html?")
    assert "trace=" not in signer("report/trace/index.html")  # the query went with its call
