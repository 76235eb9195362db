"""The deploy manifest in S3: what image the function runs and which test sources it holds."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from hypertest.errors import UsageError
from hypertest.providers.aws.settings import AwsSettings
from hypertest.providers.test_bundle import SourceChange, Sources, runner_hash, sources_from_json

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    """What deploy wrote."""

    image_uri: str
    image_digest: str
    sources_hash: str
    hypertest_version: str
    playwright_version: str
    tests: tuple[Mapping[str, Any], ...]
    deployed_at: str
    sources: Sources | None = None  # what the image is built from, file by file (None: an older deploy)

    def to_json(self) -> dict[str, Any]:
        """The JSON document stored in S3."""
        document = {"manifestVersion": MANIFEST_VERSION, "imageUri": self.image_uri,
                    "imageDigest": self.image_digest, "sourcesHash": self.sources_hash,
                    "hypertestVersion": self.hypertest_version, "playwrightVersion": self.playwright_version,
                    "tests": list(self.tests), "deployedAt": self.deployed_at}
        if self.sources is not None:
            document["sources"] = self.sources.to_json()
        return document


def aws_built_from(settings: AwsSettings) -> tuple[str, ...]:
    """What else the function's image is built from, beside the project: the runner and its base."""
    return (f"runner:{runner_hash()}", f"base:{settings.base_image or settings.python_image}",
            f"architecture:{settings.architecture}")


def manifest_key(settings: AwsSettings) -> str:
    """Where the function's manifest lives."""
    return settings.key("manifests", f"{settings.function_name}.json")


def read_manifest(s3: Any, settings: AwsSettings) -> Manifest | None:
    """The function's manifest, or None when deploy never wrote one."""
    try:
        body = s3.get_object(Bucket=settings.bucket, Key=manifest_key(settings))["Body"].read()
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    try:
        document = json.loads(body)
        return Manifest(image_uri=document["imageUri"], image_digest=document["imageDigest"],
                        sources_hash=document["sourcesHash"], hypertest_version=document["hypertestVersion"],
                        playwright_version=document.get("playwrightVersion", ""),
                        tests=tuple(document.get("tests", [])), deployed_at=document.get("deployedAt", ""),
                        sources=sources_from_json(document.get("sources")))
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"s3://{settings.bucket}/{manifest_key(settings)} is not a hypertest manifest ({exc})",
                         hint="run `hypertest deploy` again") from None


def write_manifest(s3: Any, settings: AwsSettings, manifest: Manifest) -> str:
    """Store the manifest; returns its key."""
    key = manifest_key(settings)
    s3.put_object(Bucket=settings.bucket, Key=key, Body=json.dumps(manifest.to_json(), indent=2).encode(),
                  ContentType="application/json")
    return key


def check_drift(manifest: Manifest | None, local_hash: Callable[[], str], policy: str,
                change: SourceChange | None = None) -> str | None:
    """A warning when the function cannot run the local sources; a UsageError if policy is error.

    change: how the local sources differ from the manifest's, file by file (None: not known). When the manifest
    records its files, change alone decides: a `tests` change is no drift (invoke ships it as a test bundle), a
    `deploy` change is, even with the same files (a new runner, say). Else local_hash (the sources hash, only
    computed then) is compared with the manifest's."""
    if policy == "ignore":
        return None
    if manifest is None:
        problem = "no deploy manifest found: has `hypertest deploy` run for this function?"
    elif (change.kind != "deploy" if change is not None and manifest.sources is not None
          else manifest.sources_hash == local_hash()):
        return None
    else:
        why = change.reason if change is not None else "the local test sources differ from the deployed ones"
        problem = f"{why}: deploy first (the function runs the copy deployed at {manifest.deployed_at})"
    if policy == "error":
        raise UsageError(problem, hint="run `hypertest deploy` (the action: command deploy-and-invoke), "
                                       "or set provider.aws.drift: warn")
    return problem
