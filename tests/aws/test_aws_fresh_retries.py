"""Fresh retries through the AWS stand-in, where every invocation has its own copy of the project: a setup
project's test that fails its first attempt and passes on a fresh one hands its dependents the state its passing
attempt saved, and both attempts are in its record, each with the sandbox it ran in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.aws.conftest import BUCKET, FUNCTION, REGION, AwsWorld, aws_world
from tests.conftest import SUITE, load_results

CONFIG = """import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './tests',
  retries: 0,
  projects: [
    { name: 'setup', testMatch: /.*\\.setup\\.ts/ },
    { name: 'app', testMatch: /.*\\.spec\\.ts/, dependencies: ['setup'] },
  ],
});
"""
SETUP = """import { test } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

test('signs in', () => {
  const tried = path.join(process.env.RETRY_STATE ?? '/nonexistent', 'signed-in-once');
  const first = !fs.existsSync(tried);
  fs.writeFileSync(tried, 'x');
  fs.mkdirSync('state', { recursive: true });
  fs.writeFileSync('state/auth.json', first ? 'half signed in' : 'signed in');
  if (first) throw new Error('the sign-in page was slow');
});
"""
APP = """import { test, expect } from '@playwright/test';
import * as fs from 'fs';

test('uses the sign-in', () => {
  expect(fs.readFileSync('state/auth.json', 'utf8')).toBe('signed in');
});
"""


@pytest.fixture
def retry_world(moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsWorld]:
    source = tmp_path / "source"
    (source / "tests").mkdir(parents=True)
    (source / "playwright.config.ts").write_text(CONFIG)
    (source / "tests" / "auth.setup.ts").write_text(SETUP)
    (source / "tests" / "app.spec.ts").write_text(APP)
    (source / "node_modules").symlink_to(SUITE / "node_modules")
    (tmp_path / "state").mkdir()
    monkeypatch.setenv("RETRY_STATE", str(tmp_path / "state"))  # the stand-in's invocations get it
    with aws_world(moto, tmp_path, monkeypatch, source=source) as world:
        yield world


@pytest.mark.e2e
def test_a_setup_test_passing_on_a_fresh_retry_hands_its_state_to_its_dependents(
        retry_world: AwsWorld, cli: Any, tmp_path: Path) -> None:
    settings = {"region": REGION, "bucket": BUCKET, "functionName": FUNCTION, "timeout": 120, "drift": "ignore",
                "endpoints": {"lambda": retry_world.standin.url, "s3": retry_world.moto, "sts": retry_world.moto}}
    (retry_world.project / "hypertest.yml").write_text(json.dumps({
        "testRunner": {"retryStrategy": "fresh", "retries": 1}, "provider": {"type": "aws", "aws": settings},
        "concurrency": 2, "reporters": ["console"]}))
    result = cli("invoke", "--output", str(tmp_path / "out"), cwd=retry_world.project)
    assert result.code == 0, result.out + result.err
    document = load_results(tmp_path / "out")
    records = {record["titlePath"][-1]: record for record in document["tests"]}
    setup = records["signs in"]
    assert (setup["status"], setup["outcome"]) == ("passed", "flaky")
    assert [attempt["status"] for attempt in setup["attempts"]] == ["failed", "passed"]
    assert all(attempt.get("sandbox") for attempt in setup["attempts"])
    assert records["uses the sign-in"]["outcome"] == "expected"  # it got the state of the attempt that passed
    retry = [unit for unit in document["units"] if unit.get("retryOf")]
    assert len(retry) == 1 and retry[0]["retryOf"] == setup["unitId"]
