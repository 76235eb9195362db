"""Lambda hygiene before the first invocation: the function must be `Active` with its last update
`Successful` (an invocation during an update runs the old image), and an `Inactive` one is woken."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from typing import Any

import botocore.exceptions

from hypertest.errors import InfrastructureError

READY_TIMEOUT_S = 600.0
POLL_S = 2.0
WAKE_EVENT = b'{"hypertest": "wake"}'  # the runner answers it at once with an invalid-payload result


def wait_until_ready(client: Any, name: str, say: Callable[[str], None], *, timeout_s: float = READY_TIMEOUT_S,
                     poll_s: float = POLL_S, sleep: Callable[[float], None] = time.sleep,
                     clock: Callable[[], float] = time.monotonic) -> Mapping[str, Any]:
    """The function's configuration once it can be invoked with its newest code; InfrastructureError when it
    failed, or is still not ready after timeout_s."""
    deadline = clock() + timeout_s
    woken = False
    said = ""
    while True:
        config: Mapping[str, Any] = client.get_function_configuration(FunctionName=name)
        state, update = str(config.get("State") or "Active"), str(config.get("LastUpdateStatus") or "Successful")
        _raise_if_failed(name, config, state, update)
        if state == "Active" and update == "Successful":
            return config
        if state == "Inactive" and not woken:
            say(f"function {name} is Inactive (idle for a long time): waking it")
            _wake(client, name)
            woken = True
        elif f"{state}/{update}" != said:
            say(f"waiting for function {name}: State {state}, LastUpdateStatus {update}")
        said = f"{state}/{update}"
        if clock() >= deadline:
            raise InfrastructureError(f"function {name} is still {state} (last update: {update}) after "
                                      f"{timeout_s:g} s", hint="check the function in the Lambda console")
        sleep(poll_s)


def limit_warnings(config: Mapping[str, Any], peaks: Mapping[str, int]) -> list[str]:
    """Warnings when the function's memory or /tmp leaves less than a tenth of headroom over what units of
    past runs used at most."""
    warnings = []
    limits = (("peakMemoryMb", int(config.get("MemorySize") or 0), "memory", "memory"),
              ("peakTmpMb", int((config.get("EphemeralStorage") or {}).get("Size") or 0), "ephemeral storage",
               "ephemeralStorage"))
    for key, limit, what, setting in limits:
        peak = peaks.get(key)
        if peak and limit and peak > limit * 0.9:
            warnings.append(f"units of past runs used up to {peak} MB of {what}, and the function has {limit} MB: "
                            f"raise provider.aws.{setting} (then `hypertest deploy`) before tests fail for lack of it")
    return warnings


def _raise_if_failed(name: str, config: Mapping[str, Any], state: str, update: str) -> None:
    if state == "Failed":
        raise InfrastructureError(
            f"function {name} is Failed ({config.get('StateReasonCode')}: {config.get('StateReason')})",
            hint="fix the cause, then delete the function and run `hypertest deploy` again")
    if update == "Failed":
        raise InfrastructureError(
            f"the last update of function {name} failed ({config.get('LastUpdateStatusReasonCode')}: "
            f"{config.get('LastUpdateStatusReason')}); invocations would run the previous image",
            hint="fix the cause and run `hypertest deploy` again")


def _wake(client: Any, name: str) -> None:
    """Invoke an Inactive function once: Lambda answers with an error and recreates its resources."""
    with contextlib.suppress(botocore.exceptions.ClientError):  # the invocation fails while it wakes
        client.invoke(FunctionName=name, Payload=WAKE_EVENT)
