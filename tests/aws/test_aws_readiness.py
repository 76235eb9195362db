"""Lambda hygiene, through boto3 against the loopback stand-in (control-plane states scripted over moto's,
which are always Active): invoke waits for Active/Successful before the first unit, wakes an Inactive
function, and stops on a failed one; doctor reports the state and the bucket's CORS for the trace viewer."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from hypertest.core.history import RunEntry, load_history, record_run
from hypertest.providers.aws.history import S3History
from tests.aws.conftest import BUCKET, AwsWorld
from tests.conftest import CliResult, load_results

Cli = Callable[..., CliResult]
ONE_TEST = ("--grep", "has a title")


@pytest.mark.e2e
def test_invoke_waits_until_an_update_finished(aws: AwsWorld, cli: Cli, tmp_path: Path) -> None:
    aws.write_config()
    aws.standin.lifecycle.extend([{"State": "Pending", "LastUpdateStatus": "InProgress"},
                                  {"State": "Active", "LastUpdateStatus": "InProgress"},
                                  {"State": "Active", "LastUpdateStatus": "Successful"}])
    result = cli("invoke", *ONE_TEST, "--output", str(tmp_path / "out"), cwd=aws.project)
    assert result.code == 0, result.out + result.err
    assert "waiting for function hypertest-e2e: State Pending, LastUpdateStatus InProgress" in result.out + result.err
    assert "State Active, LastUpdateStatus InProgress" in result.out + result.err
    assert not aws.standin.lifecycle and aws.standin.early_invokes == 0
    assert load_results(tmp_path / "out")["stats"]["passed"] == 1


@pytest.mark.e2e
def test_invoke_wakes_an_inactive_function(aws: AwsWorld, cli: Cli, tmp_path: Path) -> None:
    aws.write_config()
    aws.standin.lifecycle.extend([{"State": "Inactive", "LastUpdateStatus": "Successful"},
                                  {"State": "Pending", "LastUpdateStatus": "Successful"},
                                  {"State": "Active", "LastUpdateStatus": "Successful"}])
    result = cli("invoke", *ONE_TEST, "--output", str(tmp_path / "out"), cwd=aws.project)
    assert result.code == 0, result.out + result.err
    assert "is Inactive (idle for a long time): waking it" in result.out + result.err
    assert aws.standin.wake_invokes == 1 and aws.standin.early_invokes == 0
    assert sum(aws.standin.executions.values()) == 1  # the wake-up ran nothing


def test_a_failed_update_stops_invoke_before_any_unit(aws: AwsWorld, cli: Cli, tmp_path: Path) -> None:
    aws.write_config()
    aws.standin.lifecycle.append({"State": "Active", "LastUpdateStatus": "Failed",
                                  "LastUpdateStatusReasonCode": "ImageAccessDenied",
                                  "LastUpdateStatusReason": "Lambda does not have permission to access the image"})
    result = cli("invoke", *ONE_TEST, "--output", str(tmp_path / "out"), cwd=aws.project)
    assert result.code == 3, result.out + result.err
    assert "the last update of function hypertest-e2e failed (ImageAccessDenied: Lambda does not have permission" \
        in result.err
    assert "Traceback" not in result.err and sum(aws.standin.executions.values()) == 0


def test_doctor_checks_the_function_state_and_the_bucket_cors(aws: AwsWorld, cli: Cli,
                                                              monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    aws.write_config(endpoints={"lambda": aws.standin.url, "s3": aws.moto, "sts": aws.moto, "ecr": aws.moto,
                                "service-quotas": aws.moto}, memory=4096, timeout=120, ephemeralStorage=512)
    aws.standin.lifecycle.append({"State": "Pending", "LastUpdateStatus": "InProgress"})
    result = cli("doctor", cwd=aws.project)
    assert "warn   Lambda function: hypertest-e2e: State Pending, last update InProgress" in result.out
    assert "warn   bucket CORS: ht-artifacts does not let https://trace.playwright.dev GET objects" in result.out
    assert "iam/bucket-cors.json" in result.out
    init = tmp_path / "init"
    init.mkdir()
    assert cli("init", "--provider", "aws", "--bucket", "ht-artifacts", cwd=init).code == 0
    cors = json.loads((init / "iam" / "bucket-cors.json").read_text())
    aws.client("s3").put_bucket_cors(Bucket="ht-artifacts", CORSConfiguration=cors)
    again = cli("doctor", cwd=aws.project)
    assert "ok     bucket CORS: https://trace.playwright.dev may GET the traces" in again.out
    assert "ok     Lambda function: hypertest-e2e" in again.out


@pytest.mark.e2e
def test_invoke_warns_when_past_runs_used_more_than_the_function_has(aws: AwsWorld, cli: Cli, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    aws.write_config()
    output = tmp_path / "out"
    monkeypatch.setenv("GITHUB_REF_NAME", "main")
    store = S3History(aws.client("s3"), BUCKET, "hypertest")  # the provider's history, in its bucket
    past = RunEntry(run_id="past", started_at="2026-12-01T10:00:00Z", branch="main", commit="", provider="aws",
                    runner="playwright", peaks={"peakMemoryMb": 4000, "peakTmpMb": 600})
    record_run(store, past, keep=30, warn=pytest.fail)
    result = cli("invoke", *ONE_TEST, "--output", str(output), cwd=aws.project)
    assert result.code == 0, result.out + result.err
    said = result.out + result.err
    assert "units of past runs used up to 4000 MB of memory, and the function has 4096 MB: raise " \
           "provider.aws.memory" in said
    assert "600 MB of ephemeral storage, and the function has 512 MB: raise provider.aws.ephemeralStorage" in said
    units = load_results(output)["units"]
    assert units[0]["resources"]["peakMemoryMb"] > 50
    kept = load_history(store, ["main"], keep=30, warn=pytest.fail).peaks("aws")
    assert kept["peakMemoryMb"] == 4000 and kept["peakTmpMb"] >= 600  # the highest stays
