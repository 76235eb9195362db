"""What a Lambda sandbox of the docker provider is made of (SandboxSpec), what one invocation comes to
(SandboxResult), and the environment and user Lambda gives a function's runtime; sandbox.py runs them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

RUNTIME_API_ADDRESS = "127.0.0.1:9001"
LAMBDA_UID = 993  # the user Lambda runs images as (sbx_user1051)
LAMBDA_GID = 990
MB_PER_VCPU = 1769  # Lambda gives one vCPU per 1,769 MB of memory


@dataclass(frozen=True)
class Endpoint:
    """A TCP service on the host that the sandbox reaches at the same address on its own loopback."""

    host: str
    port: int


@dataclass(frozen=True)
class SandboxSpec:
    """What every sandbox of one function is made of."""

    image: str
    function_name: str
    memory_mb: int
    ephemeral_storage_mb: int
    timeout_s: float
    region: str = "us-east-1"
    environment: Mapping[str, str] = field(default_factory=dict)
    endpoints: tuple[Endpoint, ...] = ()
    mounts: Mapping[str, str] = field(default_factory=dict)  # host folder -> folder in the sandbox (read-write)
    user: str = f"{LAMBDA_UID}:{LAMBDA_GID}"
    cpus: float = 1.0  # the most the daemon's machine gives (the memory's share is capped at it)
    entry_point: tuple[str, ...] = ()  # overrides the image's ENTRYPOINT (Lambda's ImageConfig.EntryPoint)
    command: tuple[str, ...] = ()  # overrides the image's CMD (Lambda's ImageConfig.Command)

    @property
    def function_arn(self) -> str:
        """The ARN the runtime is told it runs as."""
        return f"arn:aws:lambda:{self.region}:000000000000:function:{self.function_name}"


@dataclass(frozen=True)
class SandboxResult:
    """What one invocation came to."""

    body: bytes  # the response, or Lambda's error document
    error_type: str | None  # None when the function answered; else Lambda's errorType
    message: str  # for errors: what happened, for a person
    log_tail: str
    cold: bool
    duration_s: float


class SandboxError(Exception):
    """The sandbox could not be created or started (the message is for the user)."""


def lambda_environment(spec: SandboxSpec) -> dict[str, str]:
    """The environment Lambda gives a function's runtime, with the function's own variables over it."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"hypertest-emulator/{uuid.uuid4().hex}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_RUNTIME_API": RUNTIME_API_ADDRESS,
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        **spec.environment,
    }


def host_user() -> str:
    """uid:gid the sandbox runs as: this user's own when not root (so its files stay the user's), else Lambda's."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return f"{LAMBDA_UID}:{LAMBDA_GID}" if uid == 0 else f"{uid}:{os.getgid()}"
