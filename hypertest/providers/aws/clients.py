"""boto3 clients configured for this workload: one session, one client per service, shared by threads."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from hypertest.errors import UsageError
from hypertest.providers.aws.settings import AwsSettings

# Seconds beyond the function timeout the Invoke call waits for its response. Below the function
# timeout, botocore would give up on a running invocation (and, with retries, send it again).
READ_TIMEOUT_MARGIN_S = 30


class AwsClients:
    """Clients made once from one session (sessions are not thread-safe; clients are)."""

    def __init__(self, settings: AwsSettings, concurrency: int) -> None:
        self.settings = settings
        self.concurrency = concurrency
        try:
            self.session = boto3.session.Session(profile_name=settings.profile, region_name=settings.region)
        except botocore.exceptions.ProfileNotFound as exc:
            raise UsageError(f"provider.aws.profile: {exc}") from None
        if not self.session.region_name:
            raise UsageError("no AWS region: set provider.aws.region in hypertest.yml, or AWS_REGION")
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    @property
    def region(self) -> str:
        """The region every client talks to."""
        return str(self.session.region_name)

    def client(self, service: str) -> Any:
        """The shared client of a service (lambda, s3, ecr, sts, iam, service-quotas)."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self.session.client(
                    service,  # type: ignore[call-overload]
                    endpoint_url=self.settings.endpoints.get(service),
                    config=self._config(service))
            return self._clients[service]

    def _config(self, service: str) -> Config:
        pool = max(10, self.concurrency + 10)
        if service == "lambda":
            # Synchronous Invoke: wait longer than the function may run, never let the SDK re-send
            # (a read timeout would run the tests twice), and pool a connection per slot.
            return Config(read_timeout=self.settings.timeout_s + READ_TIMEOUT_MARGIN_S, connect_timeout=10,
                          retries={"total_max_attempts": 1, "mode": "standard"}, max_pool_connections=pool,
                          tcp_keepalive=True, parameter_validation=False)
        if service == "s3":
            return Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=pool,
                          signature_version="s3v4", s3={"addressing_style": "path"}
                          if self.settings.endpoints.get("s3") else None)
        return Config(retries={"max_attempts": 5, "mode": "standard"})


def auth_config(token_data: Mapping[str, Any]) -> dict[str, str]:
    """docker auth from ECR's GetAuthorizationToken answer."""
    import base64

    user, _, password = base64.b64decode(token_data["authorizationToken"]).decode().partition(":")
    return {"username": user, "password": password, "serveraddress": str(token_data["proxyEndpoint"])}
