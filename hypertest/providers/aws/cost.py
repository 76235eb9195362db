"""What a run cost in Lambda, estimated from the function's memory and architecture and what its
invocations ran: the AWS provider records it in results.json's providerDetails.estimatedCost, which the
summary shows as it is (it does not know the provider)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

# Lambda prices per GB-second (us-east-1; other regions differ slightly) and per request.
GB_SECOND_USD = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
REQUEST_USD = 0.0000002
LABEL = "Est. Lambda cost"


def lambda_cost_usd(*, memory_mb: float, architecture: str, duration_ms: float, invocations: int) -> float:
    """The price of invocations that ran duration_ms in all on a function of memory_mb."""
    price = GB_SECOND_USD.get(architecture, GB_SECOND_USD["x86_64"])
    return duration_ms / 1000 * memory_mb / 1024 * price + invocations * REQUEST_USD


def estimated_cost(usd: float) -> dict[str, Any]:
    """providerDetails.estimatedCost: the summary's column name and the amount."""
    return {"label": LABEL, "usd": usd}


class CostMeter:
    """Adds up the invocations of a run and how long their units ran (thread-safe: units run at once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.invocations = 0
        self.duration_ms = 0

    def add(self, invocations: int, result: Mapping[str, Any]) -> None:
        """A unit's invocations and its result (its durationMs, when it has one)."""
        duration = result.get("durationMs")
        ran = duration if isinstance(duration, int) and not isinstance(duration, bool) and duration > 0 else 0
        with self._lock:
            self.invocations += invocations
            self.duration_ms += ran
