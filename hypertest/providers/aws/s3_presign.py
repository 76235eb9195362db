"""Presigned GET links to a run's files in S3, optionally with query parameters that are part of the signature."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# One handler id for the duration of one presign call (publish presigns from one thread).
_HANDLER_ID = "hypertest-signed-query"


@dataclass(frozen=True)
class S3Signer:
    """Presigns GETs of keys below a run's prefix with one client (SigV4 with the provider's s3 client)."""

    client: Any
    bucket: str
    prefix: str
    expires_s: int

    def __call__(self, relative: str, query: Mapping[str, str] | None = None) -> str:
        """A presigned GET link to `<prefix>/<relative>`. The `query` parameters are added before signing, so
        they are covered by the signature (S3 refuses a SigV4 link whose query changed after signing)."""
        params = {"Bucket": self.bucket, "Key": f"{self.prefix}/{relative}" if self.prefix else relative}
        if not query:
            return self._presign(params)
        extra = urllib.parse.urlencode(dict(query), quote_via=urllib.parse.quote, safe="-_.~")

        def add_query(request: Any, **_: Any) -> None:
            request.url += ("&" if "?" in request.url else "?") + extra

        events = self.client.meta.events
        events.register("before-sign.s3.GetObject", add_query, unique_id=_HANDLER_ID)
        try:
            return self._presign(params)
        finally:
            events.unregister("before-sign.s3.GetObject", unique_id=_HANDLER_ID)

    def _presign(self, params: Mapping[str, str]) -> str:
        url: str = self.client.generate_presigned_url("get_object", Params=dict(params), ExpiresIn=self.expires_s)
        return url
