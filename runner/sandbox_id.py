"""Where a unit ran, as its result reports it (`sandbox`): the sandbox a retry must not share with the attempt
before it, and what the report shows of each attempt.

On Lambda (and in the docker provider's emulated sandboxes, which get Lambda's variables) it is the execution
environment's log stream, one per sandbox, with the host name (a container's id under Docker); in a local
runner process it is that process's pid.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

LOG_STREAM_VARIABLE = "AWS_LAMBDA_LOG_STREAM_NAME"


def sandbox_id(environ: Mapping[str, str] | None = None, pid: int | None = None) -> str:
    """This process's sandbox: `lambda <log stream> on <host>` in a Lambda(-like) sandbox, else
    `local pid <pid>` (the runner process's)."""
    env = os.environ if environ is None else environ
    stream = env.get(LOG_STREAM_VARIABLE)
    if stream:
        return f"lambda {stream} on {socket.gethostname()}"
    return f"local pid {os.getpid() if pid is None else pid}"
