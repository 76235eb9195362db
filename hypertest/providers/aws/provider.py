"""The AWS provider's invoke side: preflight, one Invoke per unit, blobs and reports through S3."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import mimetypes
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

import botocore.exceptions

from hypertest.core.config import Settings
from hypertest.core.contracts import Discovery, HistoryStore
from hypertest.core.sources import output_skip, sources_hash
from hypertest.errors import InfrastructureError, UsageError
from hypertest.providers.aws.clients import AwsClients
from hypertest.providers.aws.cost import CostMeter, estimated_cost, lambda_cost_usd
from hypertest.providers.aws.history import S3History
from hypertest.providers.aws.invoker import Invoker, error_result
from hypertest.providers.aws.manifest import Manifest, aws_built_from, check_drift, read_manifest
from hypertest.providers.aws.readiness import limit_warnings, wait_until_ready
from hypertest.providers.aws.report_presign import presign_report
from hypertest.providers.aws.s3_presign import S3Signer
from hypertest.providers.aws.settings import AwsSettings
from hypertest.providers.aws.timeouts import timeout_warnings
from hypertest.providers.test_bundle import (
    SourceChange,
    TestBundle,
    bundle_line,
    compare,
    deploy_input_names,
    make_bundle,
    project_sources,
)
from runner.bundle_format import BundleError

# Where deploy puts the user's project inside the image, relative to the function's task root.
IMAGE_PROJECT_DIR = "project"


class AwsProvider:
    """Runs each unit as one synchronous Lambda invocation; artifacts and reports live in S3."""

    name = "aws"
    shares_host = False  # each invocation has its own network: web servers start inside it

    def __init__(self, settings: AwsSettings, concurrency: int, *, out: TextIO | None = None,
                 clients: AwsClients | None = None, output: Path | None = None, test_runner: str = "playwright"
                 ) -> None:
        self.settings = settings
        self.test_runner = test_runner
        self.output = output
        self.out = out or sys.stderr
        self.clients = clients or AwsClients(settings, concurrency)
        self.invoker = Invoker(self.clients.client("lambda"), settings.function_name,
                               retries=settings.throttle_retries)
        self._cancelled = threading.Event()
        self.run_prefix = ""
        self.meter = CostMeter()
        self.bundle: TestBundle | None = None  # the changed test files every unit lays over the image's copy

    # --- before the run -------------------------------------------------------------------------
    def preflight(self, discovery: Discovery, peaks: Mapping[str, int]) -> None:
        """The function exists, the bucket answers, and the deployed sources match (per drift policy)."""
        with aws_errors(self.settings):
            function = wait_until_ready(self.clients.client("lambda"), self.settings.function_name, self._say)
            self._check_bucket()
            manifest = read_manifest(self.clients.client("s3"), self.settings)
        deployed = dataclasses.replace(self.settings, timeout_s=int(function.get("Timeout", self.settings.timeout_s)))
        for warning in limit_warnings(function, peaks):
            self.out.write(f"warning: {warning}\n")
        for warning in timeout_warnings(discovery, deployed):
            self.out.write(f"warning: {warning}\n")
        skip = output_skip(self.output, discovery.project_dir) if self.output else frozenset()
        self._ship_changed_tests(manifest, discovery, skip)

    def _ship_changed_tests(self, manifest: Manifest | None, discovery: Discovery, skip: frozenset[str]) -> None:
        """Say what drifted from the deploy (per drift policy), or ship the changed test files as a test bundle
        that every unit lays over the image's copy."""
        project, config = discovery.project_dir, discovery.config_file
        local = project_sources(self.test_runner, project, config, aws_built_from(self.settings), skip) \
            if manifest is not None and self.settings.test_bundles else None
        change = None if local is None or manifest is None else compare(
            manifest.sources, local, deploy_inputs=deploy_input_names(self.test_runner, project, config))
        bundle = None
        if change is not None and local is not None and change.kind == "tests":
            try:
                bundle = make_bundle(project, change, local)
            except BundleError as exc:
                change = SourceChange("deploy", reason=f"the changed test files cannot be shipped as a test "
                                                       f"bundle ({exc})")
        drift = check_drift(manifest, lambda: sources_hash(project, skip), self.settings.drift, change)
        if drift:
            self.out.write(f"warning: {drift}\n")
        if bundle is not None and change is not None:
            with aws_errors(self.settings):
                self._upload_bundle(bundle)
            self.bundle = bundle
            self.out.write(f"{bundle_line(change, bundle)}\n")

    def _upload_bundle(self, bundle: TestBundle) -> None:
        """Put the bundle at <prefix>/bundles/<sha256>.tar.gz, unless an earlier run did."""
        s3, key = self.clients.client("s3"), self.settings.key("bundles", bundle.name)
        try:
            s3.head_object(Bucket=self.settings.bucket, Key=key)
            return
        except botocore.exceptions.ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) not in ("404", "NoSuchKey", "NotFound"):
                raise
        s3.put_object(Bucket=self.settings.bucket, Key=key, Body=bundle.data, ContentType="application/gzip")

    def history_store(self, settings: Settings) -> HistoryStore:
        """The history in the bucket: s3://<bucket>/<prefix>/history/ (history.path is the folder stores')."""
        return S3History(self.clients.client("s3"), self.settings.bucket, self.settings.prefix)

    def _say(self, line: str) -> None:
        self.out.write(f"{line}…\n")
        self.out.flush()

    def _check_bucket(self) -> None:
        s3 = self.clients.client("s3")
        try:
            answer = s3.head_bucket(Bucket=self.settings.bucket)
            region = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
            if region and region != self.clients.region:
                raise UsageError(f"provider.aws.bucket: bucket {self.settings.bucket!r} is in region {region}, "
                                 f"not {self.clients.region}",
                                 hint="use a bucket in the function's region, or set provider.aws.region")
        except botocore.exceptions.ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            region = headers.get("x-amz-bucket-region")
            if code in ("404", "NoSuchBucket"):
                raise UsageError(f"provider.aws.bucket: bucket {self.settings.bucket!r} does not exist") from None
            if code in ("403", "AccessDenied"):
                raise UsageError(f"provider.aws.bucket: access to bucket {self.settings.bucket!r} is denied",
                                 hint="grant s3:GetObject, s3:PutObject and s3:ListBucket on it") from None
            if code in ("301", "PermanentRedirect") or (region and region != self.clients.region):
                raise UsageError(f"provider.aws.bucket: bucket {self.settings.bucket!r} is in region "
                                 f"{region or 'another region'}, not {self.clients.region}") from None
            raise

    # --- one unit -------------------------------------------------------------------------------
    def unit_payload(self, payload: Mapping[str, Any], run_dir: Path, discovery: Discovery) -> dict[str, Any]:
        """The payload with the image's project folder and the run's S3 prefix."""
        self.run_prefix = self.settings.key(run_dir.name)
        artifacts: dict[str, Any] = {"kind": "s3", "bucket": self.settings.bucket, "prefix": self.run_prefix}
        if self.settings.endpoints.get("s3"):
            artifacts["endpointUrl"] = self.settings.endpoints["s3"]
        envelope = {**payload, "projectDir": IMAGE_PROJECT_DIR, "artifacts": artifacts,
                    "timeoutMs": self.settings.timeout_s * 1000}
        if self.bundle is not None:
            store = {**artifacts, "prefix": self.settings.key("bundles")}
            envelope["bundle"] = self.bundle.reference(store)
        return envelope

    def execute(self, payload: Mapping[str, Any]) -> Mapping[str, object]:
        """One synchronous Invoke (plus the configured retries of a crashed function)."""
        if self._cancelled.is_set():
            return error_result("the run was interrupted before this unit started")
        outcome = self.invoker.invoke(payload)
        invocations = 1
        for _ in range(self.settings.function_error_retries):
            if not outcome.function_error or self._cancelled.is_set():
                break
            outcome = self.invoker.invoke(payload)
            invocations += 1
        result = outcome.result
        if isinstance(result.get("resultRef"), str):
            result = self._fetch_result(str(result["resultRef"]))
        self.meter.add(invocations, result)
        return result

    def _fetch_result(self, key: str) -> Mapping[str, Any]:
        try:
            body = self.clients.client("s3").get_object(Bucket=self.settings.bucket,
                                                        Key=f"{self.run_prefix}/{key}")["Body"].read()
            result: Mapping[str, Any] = json.loads(body)
        except (botocore.exceptions.ClientError, json.JSONDecodeError) as exc:
            return error_result(f"the unit's result was stored in S3 ({key}) but cannot be read: {exc}")
        return result

    def warm_up(self, payload: Mapping[str, Any] | None, slots: int) -> None:
        """Nothing: Lambda starts a sandbox for an invocation (see docs/providers.md)."""

    def cancel(self) -> None:
        """Start no new Invoke; those in flight run to their end in Lambda."""
        self._cancelled.set()

    def stop_running(self) -> bool:
        """A Lambda invocation cannot be stopped from outside: the units in flight run to their end."""
        return False

    # --- after the run --------------------------------------------------------------------------
    def collect_blobs(self, run_dir: Path, blob_keys: list[str]) -> Path:
        """Download the units' blob reports into run_dir/blobs."""
        folder = run_dir / "blobs"
        folder.mkdir(parents=True, exist_ok=True)
        s3 = self.clients.client("s3")
        with aws_errors(self.settings):
            for key in blob_keys:
                s3.download_file(self.settings.bucket, f"{self.run_prefix}/{key}", str(folder / Path(key).name))
        return folder

    def artifact_url(self, key: str) -> str | None:
        """A presigned link to an artifact of this run."""
        return self._presign(f"{self.run_prefix}/{key}")

    def report_links(self, run_dir: Path, reports: Mapping[str, str]) -> dict[str, str]:
        """Presigned links to what publish() will upload, by report name."""
        links = {}
        for name, local in reports.items():
            relative = Path(local).relative_to(run_dir).as_posix()
            links[f"{name}Url"] = self._presign(f"{self.run_prefix}/{relative}")
        return links

    def details(self) -> Mapping[str, Any]:
        """The function, its memory and architecture, and the run's estimated cost (from its invocations)."""
        usd = lambda_cost_usd(memory_mb=self.settings.memory_mb, architecture=self.settings.architecture,
                              duration_ms=self.meter.duration_ms, invocations=self.meter.invocations)
        return {"functionName": self.settings.function_name, "memoryMb": self.settings.memory_mb,
                "architecture": self.settings.architecture, "region": self.clients.region,
                "estimatedCost": estimated_cost(usd),
                **({"testBundle": self.bundle.details()} if self.bundle is not None else {})}

    def put_run_file(self, run_dir: Path, key: str, data: bytes) -> str:
        """Upload data below the run's prefix (units read it through their S3 store)."""
        with aws_errors(self.settings):
            self.clients.client("s3").put_object(Bucket=self.settings.bucket,
                                                 Key=self.settings.key(run_dir.name, key), Body=data)
        return key

    def publish(self, run_dir: Path) -> None:
        """Upload results.json, junit.xml and the merged HTML report next to the artifacts."""
        s3 = self.clients.client("s3")
        with aws_errors(self.settings):
            # The report's files rewritten to open from a private bucket through one link (report_presign).
            report = presign_report(run_dir, S3Signer(s3, self.settings.bucket, self.run_prefix,
                                                      self.settings.presign_expiry_s))
            if report.warning:
                self.out.write(f"warning: {report.warning}\n")
            for path in sorted(run_dir.rglob("*")):
                relative = path.relative_to(run_dir).as_posix()
                if not path.is_file() or relative.startswith("blobs/") or relative in report.contents:
                    continue
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                s3.upload_file(str(path), self.settings.bucket, f"{self.run_prefix}/{relative}",
                               ExtraArgs={"ContentType": content_type})
            for relative, body in sorted(report.contents.items()):
                content_type = mimetypes.guess_type(relative)[0] or "application/octet-stream"
                s3.put_object(Bucket=self.settings.bucket, Key=f"{self.run_prefix}/{relative}", Body=body,
                              ContentType=content_type)

    def close(self) -> None:
        """Nothing held between units: the clients close with the process."""

    def _presign(self, key: str) -> str:
        url: str = self.clients.client("s3").generate_presigned_url(
            "get_object", Params={"Bucket": self.settings.bucket, "Key": key},
            ExpiresIn=self.settings.presign_expiry_s)
        return url


@contextlib.contextmanager
def aws_errors(settings: AwsSettings) -> Iterator[None]:
    """Turns the AWS errors a user can fix into one-line UsageErrors, the rest into InfrastructureErrors."""
    try:
        yield
    except botocore.exceptions.NoCredentialsError:
        raise UsageError("no AWS credentials found", hint="set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                         "AWS_PROFILE, or web identity (OIDC) variables") from None
    except botocore.exceptions.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        message = exc.response.get("Error", {}).get("Message", "")
        if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
            raise UsageError(f"the AWS credentials have expired ({message})",
                             hint="refresh them (aws sso login, or a new session token)") from None
        if code in ("UnrecognizedClientException", "InvalidClientTokenId", "SignatureDoesNotMatch"):
            raise UsageError(f"the AWS credentials are not valid ({code}: {message})") from None
        if code == "ResourceNotFoundException":
            raise UsageError(f"function {settings.function_name!r} not found: {message}",
                             hint="run `hypertest deploy` first (it creates the function)") from None
        if code in ("AccessDeniedException", "AccessDenied"):
            raise UsageError(f"access denied: {message}",
                             hint="see the IAM policies `hypertest init` writes") from None
        raise InfrastructureError(f"AWS refused a request: {code}: {message}") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise InfrastructureError(f"AWS request failed: {exc}") from None
