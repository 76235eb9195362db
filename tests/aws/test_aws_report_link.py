"""The merged HTML report, published to a private bucket, opens in Chromium from its one presigned link, down to a
failing test's trace in the report's own trace viewer.

moto (5.x, its default mode) refuses an unsigned GET of an object with a private ACL (asserted below), but it
does not check presigned signatures: any query holding `Signature=` passes, and its IAM mode checks only the
Authorization header, so it would refuse every presigned link. So the test records every request the browser
makes to the bucket (pages, scripts, the service worker's script and its fetch of the trace) and checks each
one's SigV4 query signature itself, as S3 does (sigv4_valid): a link whose query was changed after signing (an
appended `trace=`, a copied signature) fails there as it would on S3.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from botocore.config import Config
from playwright.sync_api import Page, Response, expect, sync_playwright

from hypertest.providers.aws.report_presign import LAUNCHER
from tests.aws.conftest import BUCKET, AwsWorld, aws_world
from tests.aws.moto_server import CREDENTIALS
from tests.conftest import CliResult, load_results, small_project
from tests.playwright_versions import OLDEST, suite_on_version

pytestmark = pytest.mark.e2e

Cli = Callable[..., CliResult]
WAIT_MS = 30_000

CONFIG = """import { defineConfig } from '@playwright/test';
export default defineConfig({
  testDir: './tests',
  retries: 0,
  reporter: 'list',
  use: { trace: 'retain-on-failure' },
  projects: [{ name: 'chromium' }],
});
"""
SPEC = """import { test, expect } from '@playwright/test';
test('greets <b>politely</b>', async ({ page }) => {
  await page.setContent('<h1>hello</h1>');
  await expect(page.locator('h1')).toHaveText('hello');
});
test('checks the wrong heading', async ({ page }) => {
  await page.setContent('<button id="go">Go</button><h1>wrong</h1>');
  await page.locator('#go').click();
  await expect(page.locator('h1')).toHaveText('right', { timeout: 500 });
});
"""


@pytest.fixture(params=["demo", OLDEST])
def world(request: pytest.FixtureRequest, moto: str, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsWorld]:
    """The suite on the demo's Playwright (1.65) and on the oldest one hypertest supports (another report app and
    trace viewer)."""
    suite = small_project(tmp_path / "suite", CONFIG, {"tests/greet.spec.ts": SPEC})
    if request.param != "demo":
        suite = suite_on_version(suite, tmp_path / "versioned", request.param)
    with aws_world(moto, tmp_path, monkeypatch, source=suite) as aws:
        yield aws


def status_of(url: str) -> int:
    """The HTTP status of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def sigv4_valid(url: str, secret: str = CREDENTIALS["AWS_SECRET_ACCESS_KEY"]) -> bool:
    """Whether a presigned GET link's SigV4 query signature matches its path and its whole query, computed as S3
    does (AWS SigV4 query-string authentication, host the only signed header, unsigned payload)."""
    parts = urllib.parse.urlsplit(url)
    pairs = [pair.partition("=") for pair in parts.query.split("&") if pair]
    query = [(urllib.parse.unquote(key), urllib.parse.unquote(value)) for key, _, value in pairs]
    fields = dict(query)
    if "X-Amz-Signature" not in fields or fields.get("X-Amz-SignedHeaders") != "host":
        return False

    def quote(text: str) -> str:
        return urllib.parse.quote(text, safe="-_.~")

    canonical_query = "&".join(f"{quote(k)}={quote(v)}" for k, v in sorted(query) if k != "X-Amz-Signature")
    request = "\n".join(["GET", parts.path, canonical_query, f"host:{parts.netloc}\n", "host", "UNSIGNED-PAYLOAD"])
    _, date, region, service, _ = fields["X-Amz-Credential"].split("/")
    to_sign = "\n".join(["AWS4-HMAC-SHA256", fields["X-Amz-Date"], f"{date}/{region}/{service}/aws4_request",
                         hashlib.sha256(request.encode()).hexdigest()])
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.compare_digest(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), fields["X-Amz-Signature"])


def test_the_signature_check_is_the_one_s3_makes(aws: AwsWorld) -> None:
    s3 = aws.session.client("s3", endpoint_url=aws.moto,
                            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    s3.put_object(Bucket=BUCKET, Key="a/b.txt", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "a/b.txt"}, ExpiresIn=60)
    assert sigv4_valid(url)
    assert not sigv4_valid(url + "&trace=x")  # a parameter appended after signing
    assert not sigv4_valid(url.replace("/a/b.txt", "/a/c.txt"))
    assert status_of(url + "&trace=x") == 200  # ...which moto lets through: hence the check


def test_one_presigned_link_opens_the_report_and_a_failing_tests_trace(world: AwsWorld, cli: Cli, tmp_path: Path,
                                                                       chromium: str) -> None:
    world.write_config()
    result = cli("invoke", "--output", str(tmp_path / "out"), cwd=world.project)
    assert result.code == 1, result.out + result.err
    assert "HTML report is uploaded as it is" not in result.out + result.err
    document = load_results(tmp_path / "out")
    link = document["reports"]["htmlUrl"]
    report = f"{world.moto}/{BUCKET}/hypertest/{document['runId']}/report"
    data = [key for key in world.keys(f"hypertest/{document['runId']}/report/data/") if key.endswith(".zip")]
    assert data and (tmp_path / "out" / document["runId"] / "report" / "trace" / "index.html").is_file()
    # The bucket is private: unsigned GETs are refused, the presigned link is not.
    assert status_of(f"{report}/index.html") == 403
    assert status_of(f"{world.moto}/{BUCKET}/{data[0]}") == 403
    assert status_of(link) == 200 and sigv4_valid(link)

    # What reached the bucket: every response but those the trace viewer's service worker answered itself
    # (contexts?trace=…, snapshots, resources inside the trace), which never leave the browser.
    reached: list[tuple[str, int]] = []
    failed: list[str] = []

    def record(response: Response) -> None:
        if response.url.startswith(f"{world.moto}/") and not response.from_service_worker:
            reached.append((response.url, response.status))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium,
                                             args=["--disable-dev-shm-usage", "--disable-gpu"])
        try:
            context = browser.new_context()
            context.on("response", record)
            # A snapshot frame the viewer replaces is aborted (net::ERR_ABORTED): not a refusal.
            context.on("requestfailed", lambda request: None if request.failure == "net::ERR_ABORTED"
                       else failed.append(f"{request.failure}: {request.url}"))
            page = context.new_page()
            page.goto(link, timeout=WAIT_MS)
            expect(page.get_by_text("greets <b>politely</b>")).to_be_visible(timeout=WAIT_MS)
            page.get_by_text("checks the wrong heading").first.click(timeout=WAIT_MS)
            expect(page.get_by_text("toHaveText").first).to_be_visible(timeout=WAIT_MS)
            viewer = open_trace(page)
            # The trace is loaded: the viewer lists the test's actions (`locator('#go').click()`).
            expect(viewer.get_by_text("#go").first).to_be_visible(timeout=WAIT_MS)
            assert re.search(r"/report/trace/index\.html\?", viewer.url)
        finally:
            browser.close()

    urls = [url for url, _ in reached]
    assert all(url.startswith(f"{world.moto}/{BUCKET}/") for url in urls), urls
    assert any("/report/data/" in url and ".zip?" in url for url in urls), urls  # the trace, fetched
    assert any("/report/trace/sw.bundle.js?" in url for url in urls), urls  # the viewer's service worker
    assert any("/report/hypertest-trace.html?" in url for url in urls), urls  # the launcher page
    unsigned = [url for url in urls if not sigv4_valid(url)]
    assert not unsigned, unsigned
    assert not [(status, url) for url, status in reached if status >= 400]
    assert not [failure for failure in failed if world.moto in failure]


def open_trace(page: Page) -> Page:
    """Follow the failing test's trace link (the report's, rewritten to our launcher page) to the trace viewer."""
    link = page.locator(f"a[href*='/report/{LAUNCHER}?']").first
    expect(link).to_be_visible(timeout=WAIT_MS)
    target = page
    if link.get_attribute("target") == "_blank":
        with page.context.expect_page(timeout=WAIT_MS) as popup:
            link.click(timeout=WAIT_MS)
        target = popup.value
    else:
        link.click(timeout=WAIT_MS)
    target.wait_for_url(re.compile(r"/report/trace/index\.html\?"), timeout=WAIT_MS)
    return target
