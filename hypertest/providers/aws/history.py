"""The aws provider's history store: one S3 object per run at s3://<bucket>/<prefix>/history/<branch key>/<name>,
written whole by one PUT (S3 puts are atomic) and never rewritten. The boto3 client is shared by core's reader
threads (clients are thread-safe). botocore's errors propagate: core warns with their text and goes on."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import botocore.exceptions

ENTRY_SUFFIX = ".json"
DELETE_BATCH = 1000  # the most keys one DeleteObjects takes
LIST_PAGE = 1000  # the most keys one ListObjectsV2 answers
MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
_PLAIN = {"403": "access denied", "404": "not found"}


class S3History:
    """A HistoryStore in an S3 bucket: `<prefix>/history/<branch key>/<entry name>`."""

    def __init__(self, s3: Any, bucket: str, prefix: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.folder = "/".join(part for part in (prefix.strip("/"), "history") if part)

    @property
    def where(self) -> str:
        """s3://<bucket>/<prefix>/history."""
        return f"s3://{self.bucket}/{self.folder}"

    def _key(self, branch_key: str, name: str = "") -> str:
        return f"{self.folder}/{branch_key}/{name}"

    def names(self, branch_key: str, limit: int) -> list[str]:
        """The entries in the branch's folder (at most limit; none when it has none), page by page."""
        folder = self._key(branch_key)
        found: list[str] = []
        token: str | None = None
        for _ in range(limit // LIST_PAGE + 2):  # a page answers up to LIST_PAGE keys, each page one request
            wanted = min(LIST_PAGE, limit - len(found))
            if wanted <= 0:
                break
            request: dict[str, Any] = {"Bucket": self.bucket, "Prefix": folder, "Delimiter": "/",
                                       "MaxKeys": wanted}
            if token:
                request["ContinuationToken"] = token
            with _explaining("list"):
                page = self.s3.list_objects_v2(**request)
            for item in page.get("Contents", []):
                name = str(item["Key"])[len(folder):]
                if name.endswith(ENTRY_SUFFIX) and len(found) < limit:
                    found.append(name)
            token = page.get("NextContinuationToken") if page.get("IsTruncated") else None
            if not token:
                break
        return found

    def read(self, branch_key: str, name: str, max_bytes: int) -> bytes | None:
        """An entry's bytes; None when it is gone; ValueError saying its size when it has more than max_bytes (its
        body is then not downloaded: at most max_bytes + 1 bytes of it are read)."""
        key = self._key(branch_key, name)
        try:
            answer = self.s3.get_object(Bucket=self.bucket, Key=key)
        except botocore.exceptions.ClientError as exc:
            if _code(exc) in MISSING:
                return None
            raise S3HistoryError(exc, "read") from exc
        body = answer["Body"]
        try:
            size = int(answer.get("ContentLength") or 0)
            if size > max_bytes:
                raise ValueError(f"{size:,} bytes, more than the {max_bytes:,} an entry may have")
            data: bytes = body.read(max_bytes + 1)
        finally:
            with contextlib.suppress(Exception):  # closing an unread stream drops its connection, never raises
                body.close()
        if len(data) > max_bytes:
            raise ValueError(f"more than the {max_bytes:,} bytes an entry may have")
        return data

    def write(self, branch_key: str, name: str, data: bytes) -> None:
        """Store an entry with one PUT: the object appears whole, or not at all."""
        key = self._key(branch_key, name)
        with _explaining("write"):
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="application/json")

    def remove(self, branch_key: str, names: Sequence[str]) -> None:
        """Delete entries, DELETE_BATCH per request; keys already gone are no error (S3 reports them deleted)."""
        for start in range(0, len(names), DELETE_BATCH):
            batch = [{"Key": self._key(branch_key, name)} for name in names[start:start + DELETE_BATCH]]
            with _explaining("remove"):
                answer = self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            errors = [error for error in answer.get("Errors", []) if error.get("Code") not in MISSING]
            if errors:
                first = errors[0]
                code = str(first.get("Code"))
                raise OSError(f"{len(errors)} of {len(batch)} entries not deleted (DeleteObjects), first "
                              f"{first.get('Key')}: {code}: {first.get('Message')}{_needs('remove', code)}")


class S3HistoryError(botocore.exceptions.ClientError):
    """A ClientError of the store (its response, code and operation kept) whose text says in one line what was
    refused and which permission it needs: core prints str(exc), and a HEAD-style 403 or 404 carries no
    message of its own."""

    def __init__(self, exc: botocore.exceptions.ClientError, action: str) -> None:
        super().__init__(exc.response, exc.operation_name)
        code = _code(exc)
        message = str(exc.response.get("Error", {}).get("Message", "")) or _PLAIN.get(code, "refused")
        self.text = f"{code or 'error'}: {message} ({exc.operation_name}){_needs(action, code)}"

    def __str__(self) -> str:
        return self.text


@contextlib.contextmanager
def _explaining(action: str) -> Iterator[None]:
    """A ClientError inside re-raised as an S3HistoryError: what was refused and which permission it needs."""
    try:
        yield
    except botocore.exceptions.ClientError as exc:
        raise S3HistoryError(exc, action) from exc


# The IAM permission each of the store's operations needs (iam/invoke-policy.json grants them).
PERMISSIONS = {"list": "s3:ListBucket", "read": "s3:GetObject", "write": "s3:PutObject",
               "remove": "s3:DeleteObject"}


def _code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _needs(action: str, code: str) -> str:
    if code in ("AccessDenied", "403", "Forbidden", "AllAccessDisabled"):
        return f"; it needs {PERMISSIONS[action]} (see iam/invoke-policy.json from `hypertest init --provider aws`)"
    return ""
