"""`hypertest invoke` on the AWS provider, end to end on loopback.

S3, IAM and the Lambda control plane are moto running as a server on 127.0.0.1. The Lambda Invoke
data plane is the stand-in of tests/aws/lambda_standin.py (moto cannot run image functions): it runs
the real runner handler with real Playwright and Chromium, whose artifacts land in moto's S3.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.aws.conftest import AwsWorld
from tests.conftest import CliResult, load_results, validate_run_result

pytestmark = pytest.mark.e2e

Cli = Callable[..., CliResult]


def test_invoke_runs_every_unit_in_lambda_with_artifacts_in_s3(aws: AwsWorld, cli: Cli, tmp_path: Path) -> None:
    aws.write_config()
    result = cli("invoke", "--output", str(tmp_path / "out"), cwd=aws.project)
    assert result.code == 0, result.out + result.err
    document = load_results(tmp_path / "out")
    validate_run_result(document)
    assert document["provider"] == "aws"
    assert document["stats"]["total"] == document["stats"]["passed"] == 8
    run = document["runId"]
    assert sum(aws.standin.executions.values()) == len(document["units"]) == 8
    assert set(aws.standin.executions.values()) == {1}
    keys = aws.keys(f"hypertest/{run}/")
    assert {f"hypertest/{run}/results.json", f"hypertest/{run}/junit.xml", f"hypertest/{run}/report/index.html"} \
        <= set(keys)
    assert sum(1 for key in keys if key.startswith(f"hypertest/{run}/blobs/")) == 8
    shot = next(t for t in document["tests"] if t["titlePath"] == ["saves a screenshot as a custom artifact"])
    [artifact] = shot["artifacts"]
    assert f"hypertest/{run}/{artifact['path']}" in keys
    with urllib.request.urlopen(artifact["url"], timeout=10) as response:
        assert response.read(8) == b"\x89PNG\r\n\x1a\n"
        assert response.headers["Content-Type"] == "image/png"
    with urllib.request.urlopen(document["reports"]["resultsUrl"], timeout=10) as response:
        assert json.loads(response.read())["runId"] == run
    assert "htmlUrl" in document["reports"]
    assert "warning: no deploy manifest found" in result.out  # drift policy warn, nothing deployed


def without_infra_retries(aws: AwsWorld) -> None:
    """The config with core's retries of lost units off (infraRetries: 0): what the provider alone does."""
    config = aws.project / "hypertest.yml"
    config.write_text(json.dumps({**json.loads(config.read_text()), "infraRetries": 0}))


def test_faults_never_lose_or_duplicate_a_test(aws: AwsWorld, cli: Cli, tmp_path: Path) -> None:
    aws.write_config()
    without_infra_retries(aws)
    # Throttling bursts and a service error are retried (the function never ran); a crash, a Lambda
    # timeout, a malformed and an oversized response become error records and are not re-sent.
    aws.standin.script("throttle", "throttle", "throttle", "ok", "service", "ok", "crash", "timeout",
                       "malformed", "oversized")
    result = cli("invoke", "--output", str(tmp_path / "out"), cwd=aws.project)
    assert result.code == 3, result.out + result.err  # only infrastructure errors, no test failed
    document = load_results(tmp_path / "out")
    ids = [t["id"] for t in document["tests"]]
    assert len(ids) == len(set(ids)) == 8
    statuses = sorted(t["status"] for t in document["tests"])
    assert statuses.count("error") == 4 and statuses.count("passed") == 4
    assert set(aws.standin.executions.values()) == {1}  # nothing ran twice
    assert sum(aws.standin.executions.values()) == 8
    errors = [t["attempts"][0]["error"]["message"] for t in document["tests"] if t["status"] == "error"]
    assert any("Runtime.ExitError" in m and "function log (tail)" in m for m in errors)
    assert any("Sandbox.Timedout" in m for m in errors)
    assert any("malformed JSON" in m for m in errors)
    assert any("ResponseSizeTooLarge" in m for m in errors)


def test_units_the_infrastructure_lost_run_again_in_fresh_invocations(aws: AwsWorld, cli: Cli,
                                                                      tmp_path: Path) -> None:
    aws.write_config()  # infraRetries: 1 by default
    aws.standin.script("crash", "timeout")  # the first two invocations (two slots); their retries come next
    result = cli("invoke", "--output", str(tmp_path / "out"), "--grep", "title|heading|adds a todo", cwd=aws.project)
    assert result.code == 0, result.out + result.err
    document = load_results(tmp_path / "out")
    assert [t["status"] for t in document["tests"]] == ["passed"] * 3
    lost = [t for t in document["tests"] if len(t["attempts"]) == 2]
    assert len(lost) == 2
    for record in lost:
        first, second = record["attempts"]
        assert first["status"] == "error" and first["error"]["message"].startswith("infra: ")
        assert second["status"] == "passed" and record["outcome"] == "expected"  # a lost attempt is no failure
    units = document["units"]
    retried = {unit["id"]: unit["infra"] for unit in units if unit.get("infra")}
    assert sorted(retried.values()) == ["crash", "timeout"]
    assert sorted(unit["retryOf"] for unit in units if unit.get("retryOf")) == sorted(retried)
    assert sum(aws.standin.executions.values()) == 5  # three units and two fresh invocations


def test_a_read_timeout_is_not_sent_again(aws: AwsWorld, cli: Cli, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from hypertest.providers.aws import clients

    monkeypatch.setattr(clients, "READ_TIMEOUT_MARGIN_S", -8)  # read timeout: 10 - 8 = 2 s
    aws.standin.env["STANDIN_HANG_S"] = "4"
    aws.write_config(timeout=10)
    without_infra_retries(aws)  # core's retry would be a new invocation, on purpose; the SDK's never is
    aws.standin.script("hang")
    result = cli("invoke", "--output", str(tmp_path / "out"), "--grep", "has a title", cwd=aws.project)
    assert result.code == 3, result.out + result.err
    [record] = load_results(tmp_path / "out")["tests"]
    assert "not sent again" in record["attempts"][0]["error"]["message"]
    assert aws.standin.requests == 1 and list(aws.standin.executions.values()) == [1]


def test_function_error_retries_are_opt_in(aws: AwsWorld, cli: Cli, tmp_path: Path) -> None:
    aws.write_config(functionErrorRetries=1)
    aws.standin.script("crash")
    result = cli("invoke", "--output", str(tmp_path / "out"), "--grep", "has a title", cwd=aws.project)
    assert result.code == 0, result.out + result.err
    assert list(aws.standin.executions.values()) == [2]


def test_persistent_throttling_gives_up_with_a_clear_error(aws: AwsWorld, cli: Cli, tmp_path: Path) -> None:
    aws.write_config(throttleRetries=2)
    without_infra_retries(aws)
    aws.standin.script("throttle", "throttle", "throttle")
    result = cli("invoke", "--output", str(tmp_path / "out"), "--grep", "has a title", cwd=aws.project)
    assert result.code == 3
    [record] = load_results(tmp_path / "out")["tests"]
    assert "still refused after 3 attempts: TooManyRequestsException" in record["attempts"][0]["error"]["message"]
    assert not aws.standin.executions


def test_missing_function_and_bucket_are_usage_errors(aws: AwsWorld, cli: Cli, tmp_path: Path) -> None:
    aws.write_config(functionName="nope")
    result = cli("invoke", "--output", str(tmp_path / "out"), cwd=aws.project)
    assert result.code == 2 and "function 'nope' not found" in result.err and "hypertest deploy" in result.err
    aws.write_config(bucket="no-such-bucket")
    result = cli("invoke", "--output", str(tmp_path / "out2"), cwd=aws.project)
    assert result.code == 2 and "bucket 'no-such-bucket' does not exist" in result.err


def test_drift_policy_error_refuses_to_run(aws: AwsWorld, cli: Cli, tmp_path: Path) -> None:
    aws.write_config(drift="error")
    result = cli("invoke", "--output", str(tmp_path / "out"), cwd=aws.project)
    assert result.code == 2 and "no deploy manifest found" in result.err
    assert not aws.standin.requests


def test_bucket_in_another_region(aws: AwsWorld, cli: Cli, tmp_path: Path) -> None:
    west = aws.session.client("s3", endpoint_url=aws.moto, region_name="us-west-2")
    west.create_bucket(Bucket="west-bucket", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    aws.write_config(bucket="west-bucket")
    result = cli("invoke", "--output", str(tmp_path / "out"), cwd=aws.project)
    assert result.code == 2 and "is in region us-west-2, not eu-west-1" in result.err


def test_missing_credentials(aws: AwsWorld, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    aws.write_config()
    result = cli("invoke", "--output", str(tmp_path / "out"), cwd=aws.project)
    assert result.code == 2 and "no AWS credentials found" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(("status", "code", "expected"), [
    (403, "ExpiredTokenException", "the AWS credentials have expired"),
    (403, "AccessDeniedException", "access denied"),
    (403, "UnrecognizedClientException", "the AWS credentials are not valid"),
])
def test_refused_credentials(aws: AwsWorld, cli: Cli, tmp_path: Path, status: int, code: str, expected: str) -> None:
    aws.write_config()
    aws.standin.refuse_all = (status, code)
    result = cli("invoke", "--output", str(tmp_path / "out"), cwd=aws.project)
    assert result.code == 2, result.err
    assert expected in result.err and "Traceback" not in result.err
