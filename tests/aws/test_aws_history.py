"""The aws provider's history store (S3History) against the moto server: the store itself, core's history
(load_history, record_run) through it with runs at the same time, corrupt and huge entries, and a bucket that
denies access or does not exist; the provider's wiring, the invoke policy and doctor's check."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest

import hypertest.core.history as core_history
from hypertest.core.history import RecordedOutcome as Outcome
from hypertest.core.history import RunEntry, branch_key, encode_entry, load_history, record_run
from hypertest.providers.aws import history as s3_history
from hypertest.providers.aws.clients import AwsClients
from hypertest.providers.aws.history import S3History
from hypertest.providers.aws.iam import policies
from hypertest.providers.aws.provider import AwsProvider
from hypertest.providers.aws.settings import AwsSettings, aws_settings
from tests.aws.conftest import BUCKET, REGION, AwsWorld
from tests.aws.moto_server import CREDENTIALS, reset
from tests.conftest import CliResult

integration = pytest.mark.integration  # moto and the S3 client; the last test runs Playwright (e2e)

Cli = Callable[..., CliResult]
BRANCH = "feature/S3 history"


@pytest.fixture
def settings(moto: str, monkeypatch: pytest.MonkeyPatch) -> AwsSettings:
    """moto reset with the bucket; the provider's settings pointing at it."""
    reset(moto)
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    boto3.session.Session(region_name=REGION).client("s3", endpoint_url=moto).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return aws_settings({"bucket": BUCKET, "region": REGION, "endpoints": {"s3": moto, "sts": moto, "iam": moto}})


@pytest.fixture
def s3(settings: AwsSettings) -> Any:
    """The S3 client the provider makes (its config: path addressing, pool, retries)."""
    return AwsClients(settings, 8).client("s3")


@pytest.fixture
def store(s3: Any) -> S3History:
    return S3History(s3, BUCKET, "hypertest")


def entry(number: int, tests: Mapping[str, int] | None = None, branch: str = BRANCH) -> RunEntry:
    """Run `number` of a branch, started `number` minutes after 10:00 (so names sort as runs do)."""
    return RunEntry(run_id=f"run-{number}", started_at=f"2026-03-01T{10 + number // 60:02d}:{number % 60:02d}:00Z",
                    branch=branch, commit=f"c{number}", provider="aws", runner="playwright",
                    tests={test_id: Outcome("passed", "expected", ms, 1) for test_id, ms in (tests or {}).items()})


def keys(s3: Any, prefix: str = "") -> list[str]:
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


class Warnings(list[str]):
    """Collects core's warnings."""

    def __call__(self, text: str) -> None:
        self.append(text)


# --- the store ----------------------------------------------------------------------------------------------


@integration
def test_write_names_read_remove_round_trip(store: S3History, s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert store.where == f"s3://{BUCKET}/hypertest/history"
    assert store.names("main-0123456789", 100) == []  # no folder yet
    for number in range(5):
        store.write("main-0123456789", f"2026030110{number:02d}-run-{number}.json", f"entry {number}".encode())
    store.write("main-0123456789-x", "20260301-other.json", b"another branch whose key starts the same")
    s3.put_object(Bucket=BUCKET, Key="hypertest/history/main-0123456789/nested/deeper.json", Body=b"{}")
    s3.put_object(Bucket=BUCKET, Key="hypertest/history/main-0123456789/notes.txt", Body=b"not an entry")
    assert "hypertest/history/main-0123456789/202603011000-run-0.json" in keys(s3)

    expected = [f"2026030110{number:02d}-run-{number}.json" for number in range(5)]
    assert sorted(store.names("main-0123456789", 100)) == expected
    assert len(store.names("main-0123456789", 2)) == 2  # bounded by limit
    monkeypatch.setattr(s3_history, "LIST_PAGE", 2)  # three pages of two
    assert sorted(store.names("main-0123456789", 100)) == expected
    assert len(store.names("main-0123456789", 3)) == 3

    assert store.read("main-0123456789", expected[3], 1000) == b"entry 3"
    assert store.read("main-0123456789", "20990101-missing.json", 1000) is None
    assert store.read("no-such-branch", expected[3], 1000) is None

    monkeypatch.setattr(s3_history, "DELETE_BATCH", 2)  # three DeleteObjects
    store.remove("main-0123456789", [*expected[:4], "20990101-already-gone.json"])
    assert store.names("main-0123456789", 100) == [expected[4]]
    assert store.names("main-0123456789-x", 100) == ["20260301-other.json"]
    store.remove("main-0123456789", expected[:4])  # all gone already: no error
    store.remove("main-0123456789", [])


class CountingS3:
    """The real client, counting the body bytes read from its get_object answers."""

    def __init__(self, s3: Any) -> None:
        self.s3 = s3
        self.body_bytes = 0
        self.closed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.s3, name)

    def get_object(self, **request: Any) -> Any:
        answer = self.s3.get_object(**request)
        body, counter = answer["Body"], self

        class Body:
            def read(self, amount: int | None = None) -> bytes:
                data: bytes = body.read(amount)
                counter.body_bytes += len(data)
                return data

            def close(self) -> None:
                counter.closed += 1
                body.close()

        return {**answer, "Body": Body()}


@integration
def test_an_entry_larger_than_max_bytes_is_not_downloaded(s3: Any) -> None:
    counting = CountingS3(s3)
    store = S3History(counting, BUCKET, "/hypertest/")
    store.write("main", "big.json", b"x" * 2_000_000)
    store.write("main", "exact.json", b"y" * 1000)
    with pytest.raises(ValueError, match=r"^2,000,000 bytes, more than the 1,000 an entry may have$"):
        store.read("main", "big.json", 1000)
    assert counting.body_bytes == 0 and counting.closed == 1  # the length said enough: the body was never read
    assert store.read("main", "exact.json", 1000) == b"y" * 1000
    assert counting.body_bytes == 1000 and counting.closed == 2


@integration
def test_the_provider_keeps_its_history_below_its_prefix(settings: AwsSettings, s3: Any) -> None:
    from dataclasses import replace

    from hypertest.core.load import load_settings
    from tests.conftest import DEMO

    run_settings = load_settings(None, DEMO, {})
    for prefix, where in (("hypertest", "hypertest/history"), ("team/ci/", "team/ci/history"), ("", "history")):
        configured = replace(settings, prefix=prefix)
        provider = AwsProvider(configured, 2, clients=AwsClients(configured, 2))
        store = provider.history_store(run_settings)
        assert isinstance(store, S3History) and store.where == f"s3://{BUCKET}/{where}"
        record_run(store, entry(1, {"t1": 5}), 30, Warnings())
        assert f"{where}/{branch_key(BRANCH)}/{entry(1).name}" in keys(s3)


# --- core's history through the store -----------------------------------------------------------------------


@integration
def test_runs_at_the_same_time_keep_each_others_entries(store: S3History, s3: Any) -> None:
    warnings = Warnings()
    start = threading.Barrier(8, timeout=30)

    def run(number: int) -> None:
        start.wait()
        record_run(store, entry(number, {f"t{number}": 1000 + number}), 10, warnings)

    threads = [threading.Thread(target=run, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads) and warnings == []
    history = load_history(store, [BRANCH], 10, warnings)
    assert [run.run_id for run in history.runs] == [f"run-{number}" for number in reversed(range(8))]
    assert history.where == store.where and warnings == []
    assert history.durations() == {f"t{number}": 1000 + number for number in range(8)}


@integration
def test_pruning_keeps_the_newest_runs_even_when_runs_prune_at_once(store: S3History) -> None:
    warnings = Warnings()
    start = threading.Barrier(8, timeout=30)

    def run(number: int) -> None:
        start.wait()
        record_run(store, entry(number, {"t": number}), 4, warnings)

    threads = [threading.Thread(target=run, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert warnings == []  # two runs deleting the same old entry is no error
    names = set(store.names(branch_key(BRANCH), 100))
    assert {entry(number).name for number in range(4, 8)} <= names  # a newest four is never pruned
    record_run(store, entry(8, {"t": 8}), 4, warnings)
    assert sorted(store.names(branch_key(BRANCH), 100)) == sorted(entry(number).name for number in range(5, 9))
    history = load_history(store, [BRANCH, "main"], 3, warnings)  # the newest `keep` of each branch
    assert [run.run_id for run in history.runs] == ["run-8", "run-7", "run-6"] and warnings == []


@integration
def test_corrupt_and_huge_entries_are_ignored(store: S3History, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core_history, "MAX_ENTRY_BYTES", 2000)
    folder = branch_key(BRANCH)
    record_run(store, entry(1, {"t": 100}), 30, Warnings())
    store.write(folder, "20260301T1002-garbage.json", b"\x00\xff{not json")
    store.write(folder, "20260301T1003-list.json", b"[1, 2, 3]")
    store.write(folder, "20260301T1004-shape.json", json.dumps({"version": 1, "runId": 5}).encode())
    huge = entry(5, {f"test number {number}": number for number in range(200)})
    assert len(encode_entry(huge)) > 2000
    store.write(folder, huge.name, encode_entry(huge))
    warnings = Warnings()
    history = load_history(store, [BRANCH], 30, warnings)
    assert [run.run_id for run in history.runs] == ["run-1"]
    assert f"history: cannot read {store.where}/{folder}/{huge.name} ({len(encode_entry(huge)):,} bytes, more " \
        "than the 2,000 an entry may have); ignored" in warnings
    corrupt = [text for text in warnings if "is not a history entry" in text]
    assert len(corrupt) == 3 and all(text.startswith(f"history: {store.where}/{folder}/") for text in corrupt)
    assert any("garbage" in text and "not JSON" in text for text in corrupt)
    assert any("shape" in text and "missing or not valid" in text for text in corrupt)


@integration
def test_a_missing_bucket_costs_a_warning_and_no_history(s3: Any) -> None:
    store = S3History(s3, "no-such-bucket", "hypertest")
    warnings = Warnings()
    history = load_history(store, [BRANCH], 30, warnings)
    assert history.runs == () and history.where == "s3://no-such-bucket/hypertest/history"
    [text] = warnings
    assert text.startswith("history: cannot list s3://no-such-bucket/hypertest/history/")
    assert "NoSuchBucket: The specified bucket does not exist (ListObjectsV2)" in text
    record_run(store, entry(1), 30, warnings)
    assert "cannot write to s3://no-such-bucket/hypertest/history/" in warnings[1]
    assert "NoSuchBucket" in warnings[1] and "(PutObject)" in warnings[1]


@pytest.fixture
def denied(moto: str, settings: AwsSettings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An S3 client of an IAM user with no permissions, with moto checking every request's IAM permissions."""
    iam = boto3.session.Session(region_name=REGION).client("iam", endpoint_url=moto)
    iam.create_user(UserName="nobody")
    key = iam.create_access_key(UserName="nobody")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    client = AwsClients(settings, 2).client("s3")
    previous = _reset_auth(moto, "0")  # from now on, every request is authorized
    try:
        yield client
    finally:
        _reset_auth(moto, str(previous))


def _reset_auth(moto: str, count: str) -> float:
    request = urllib.request.Request(f"{moto}/moto-api/reset-auth", data=count.encode(), method="POST",
                                     headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return float(json.loads(answer.read())["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"])


@integration
def test_a_bucket_that_denies_access_costs_a_warning_and_no_history(denied: Any) -> None:
    store = S3History(denied, BUCKET, "hypertest")
    warnings = Warnings()
    history = load_history(store, [BRANCH], 30, warnings)
    assert history.runs == ()
    [text] = warnings
    assert "AccessDenied" in text and "(ListObjectsV2); it needs s3:ListBucket" in text
    assert "iam/invoke-policy.json" in text and len(text) < 400
    record_run(store, entry(1), 30, warnings)
    assert "(PutObject); it needs s3:PutObject" in warnings[1]
    with pytest.raises(Exception, match=r"\(GetObject\); it needs s3:GetObject"):
        store.read("main", "x.json", 100)


# --- the invoke policy and doctor ---------------------------------------------------------------------------


def test_the_invoke_policy_allows_what_the_store_does() -> None:
    statements = policies("e2e", "team-artifacts", "hypertest", "e2e")["invoke-policy.json"]["Statement"]

    def allowed(action: str) -> list[dict[str, Any]]:
        return [statement for statement in statements if action in statement["Action"]]

    [listing] = allowed("s3:ListBucket")
    assert listing["Resource"] == "arn:aws:s3:::team-artifacts"
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["hypertest/*"]}}
    for action in ("s3:GetObject", "s3:PutObject"):
        assert [s["Resource"] for s in allowed(action)] == ["arn:aws:s3:::team-artifacts/hypertest/*"]
    assert [s["Resource"] for s in allowed("s3:DeleteObject")] == ["arn:aws:s3:::team-artifacts/hypertest/history/*"]
    bare = policies("e2e", "team-artifacts", "", "e2e")["invoke-policy.json"]["Statement"]
    assert "arn:aws:s3:::team-artifacts/history/*" in [s["Resource"] for s in bare]


@integration
def test_doctor_checks_the_history_can_be_listed(aws: AwsWorld, cli: Cli, monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    aws.write_config(endpoints={"lambda": aws.moto, "s3": aws.moto, "sts": aws.moto, "ecr": aws.moto})
    s3 = aws.client("s3")
    for branch in ("main", "feature"):
        s3.put_object(Bucket=BUCKET, Key=f"hypertest/history/{branch_key(branch)}/x.json", Body=b"{}")
    result = cli("doctor", cwd=aws.project)
    assert f"ok     run history: s3://{BUCKET}/hypertest/history: 2 branch folders, 30 runs kept per branch" \
        in result.out, result.out
    aws.write_config(bucket="missing-bucket", endpoints={"lambda": aws.moto, "s3": aws.moto, "sts": aws.moto})
    result = cli("doctor", cwd=aws.project)
    assert "warn   run history: cannot list s3://missing-bucket/hypertest/history (NoSuchBucket" in result.out
    assert "s3:DeleteObject on hypertest/history/*" in result.out


# --- end to end ---------------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_a_second_invoke_orders_its_units_from_the_first_runs_durations_in_s3(
        aws: AwsWorld, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hypertest.core.history import decode_entry
    from tests.conftest import load_results

    for name in ("GITHUB_HEAD_REF", "GITHUB_BASE_REF"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_REF_NAME", "e2e/history")
    aws.write_config()
    run = ("invoke", "--granularity", "test", "--concurrency", "1", "--grep", "title|heading|adds a todo")
    first = cli(*run, "--output", str(tmp_path / "first"), cwd=aws.project)
    assert first.code == 0, first.out + first.err
    folder = f"hypertest/history/{branch_key('e2e/history')}/"
    [key] = aws.keys(folder)
    stored = decode_entry(aws.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())
    tested = len(load_results(tmp_path / "first")["tests"])
    assert stored.run_id == load_results(tmp_path / "first")["runId"] and len(stored.tests) == tested >= 3
    durations = {test_id: outcome.duration_ms for test_id, outcome in stored.tests.items()}

    second = cli(*run, "--output", str(tmp_path / "second"), cwd=aws.project)  # a fresh output, as on CI
    assert second.code == 0, second.out + second.err
    assert "warning: history" not in second.out + second.err  # the history was read and written
    assert ("history: 1 past run in s3://ht-artifacts/hypertest/history: "
            f"{tested} tests with a past duration, longest first") in second.out
    assert not (tmp_path / "second" / ".history").exists() and len(aws.keys(folder)) == 2
    units = sorted(load_results(tmp_path / "second")["units"], key=lambda unit: unit["startedAt"])
    expected = [sum(durations[test_id] for test_id in unit["tests"]) for unit in units]
    assert len(units) == tested and len(set(expected)) > 1
    assert expected == sorted(expected, reverse=True), "the units started longest first, by the first run's times"
