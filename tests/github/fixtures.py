"""A results.json with hostile content, and a fixed GitHub context, for the rendering tests."""

from __future__ import annotations

from typing import Any

from hypertest.github.context import GitHubContext
from hypertest.providers.aws.cost import estimated_cost, lambda_cost_usd

CONTEXT = GitHubContext(server_url="https://github.com", repository="octo/shop", sha="0123abcd", workspace="/ws",
                        run_id="4242")
HOSTILE = "pipe | tick ` fence ``` <script>alert(1)</script> @octocat ::error::x %25 100% \r\nnext line"


def record(index: int, title: str, status: str, outcome: str, *, message: str | None = None, attempts: int = 1,
           file: str = "checkout/pay.spec.ts", project: str = "chromium", urls: bool = False) -> dict[str, Any]:
    error = {"message": message, "stack": f"{message}\n    at {file}:12:5", "location": None} if message else None
    artifacts = []
    if urls:
        artifacts = [
            {"name": "trace", "path": f"t{index}/attempt-0/00-trace.zip", "contentType": "application/zip",
             "attempt": 0, "url": f"https://bucket.s3.amazonaws.com/run/t{index}/trace.zip?X-Amz-Signature=a&b=c"},
            {"name": "screenshot", "path": f"t{index}/attempt-0/01-screenshot.png", "contentType": "image/png",
             "attempt": 0, "url": f"https://bucket.s3.amazonaws.com/run/t{index}/shot.png?sig=\"x\""},
        ]
    return {
        "id": f"test-{index}", "project": project, "file": file, "line": 10 + index, "column": 3,
        "titlePath": ["checkout", title], "tags": [], "unitId": f"u{index:05d}", "status": status,
        "expectedStatus": "passed", "outcome": outcome, "annotations": [],
        "attempts": [{"retry": n, "status": status, "durationMs": 1200 + 100 * index, "error": error}
                     for n in range(attempts)],
        "artifacts": artifacts,
    }


def hostile_result(extra_tests: int = 0, message_size: int = 0) -> dict[str, Any]:
    """A failing AWS run whose titles, messages and paths try to break every renderer."""
    long_message = "E" * message_size
    tests = [
        record(0, "pays by card", "passed", "expected"),
        record(1, HOSTILE, "failed", "unexpected", message=f"Error: expected {HOSTILE}\n" + "x" * 10_000,
               attempts=2, urls=True),
        record(2, "times out", "timedOut", "unexpected", message="Test timeout of 30000ms exceeded."),
        record(3, "is flaky", "passed", "flaky", attempts=2, message="first attempt failed"),
        record(4, "skipped", "skipped", "skipped"),
        record(5, "unit crashed", "error", "unexpected", message="the function failed (Unhandled): Runtime.ExitError"),
        record(6, "in a `weird` | folder", "failed", "unexpected", message="boom", file="we|ird/`x`.spec.ts"),
        record(7, "stopped at the deadline", "interrupted", "unexpected",
               message="the unit reached its deadline before this test finished"),
    ]
    tests += [record(8 + n, f"generated {n}", "failed" if n % 3 == 0 else "passed",
                     "unexpected" if n % 3 == 0 else "expected", message=long_message or "assertion failed",
                     file=f"gen/file{n % 50}.spec.ts") for n in range(extra_tests)]
    units = [{"id": t["unitId"], "tests": [t["id"]], "status": "error" if t["status"] == "error" else "ok",
              "error": None, "startedAt": f"2026-11-25T10:00:{i % 60:02d}.000Z", "durationMs": 1500 + i,
              "blob": None} for i, t in enumerate(tests)]
    failed = sum(1 for t in tests if t["outcome"] == "unexpected" and t["status"] not in ("error", "interrupted"))
    return {
        "schemaVersion": 1, "runId": "20261125T100000Z-abc123", "hypertestVersion": "0.1.0",
        "runner": {"name": "playwright", "version": "1.65.1"}, "playwrightVersion": "1.65.1",
        "rootDir": "/ws/e2e/tests", "provider": "aws",
        "providerDetails": {"memoryMb": 4096, "architecture": "arm64", "estimatedCost": estimated_cost(lambda_cost_usd(
            memory_mb=4096, architecture="arm64", duration_ms=sum(u["durationMs"] for u in units),
            invocations=len(units)))}, "concurrency": 500,
        "startedAt": "2026-11-25T10:00:00Z", "durationMs": 95_400, "conclusion": "failed", "exitCode": 1,
        "stats": {"total": len(tests), "passed": sum(1 for t in tests if t["status"] == "passed"
                                                     and t["outcome"] == "expected"),
                  "failed": failed, "flaky": 1, "skipped": 1, "errors": 1, "expected": 0, "unexpected": 0,
                  "expectedFailures": 0, "timedOut": 1, "interrupted": 1},
        "units": units, "tests": tests,
        "reports": {"results": "/ws/out/results.json", "resultsUrl": "https://bucket/results.json?sig=1&x=2",
                    "htmlUrl": "https://bucket/report/index.html?sig=1&x=<2>"},
    }
