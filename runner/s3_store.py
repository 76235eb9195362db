"""Artifacts in S3: `s3://<bucket>/<prefix>/<key>`, where the prefix ends with the run id."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class S3Store:
    """Uploads a unit's files with their content types; locators are keys relative to the run prefix."""

    def __init__(self, bucket: str, prefix: str, endpoint_url: str | None = None, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if client is None:
            import boto3  # present in the Lambda image and in `hypertest[aws]`
            from botocore.config import Config

            client = boto3.client("s3", endpoint_url=endpoint_url,
                                  config=Config(retries={"max_attempts": 5, "mode": "standard"},
                                                s3={"addressing_style": "path"} if endpoint_url else None))
        self.client = client

    def put(self, source: Path, key: str, content_type: str) -> str:
        """Upload source to prefix/key."""
        self.client.upload_file(str(source), self.bucket, f"{self.prefix}/{key}",
                                ExtraArgs={"ContentType": content_type})
        return key

    def put_bytes(self, data: bytes, key: str, content_type: str) -> str:
        """Upload bytes to prefix/key."""
        self.client.put_object(Bucket=self.bucket, Key=f"{self.prefix}/{key}", Body=data, ContentType=content_type)
        return key

    def get_bytes(self, key: str) -> bytes:
        """Download prefix/key."""
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=f"{self.prefix}/{key}")["Body"].read()
        return body
