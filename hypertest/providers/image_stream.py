"""Following the Docker daemon's build and push streams: progress lines, and errors with the last output."""

from __future__ import annotations

import collections
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from hypertest.errors import InfrastructureError

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|\[[0-9;]*m")
RECENT_LINES = 25  # how much of the output a failure shows


def follow(stream: Iterable[Mapping[str, Any]], what: str, say: Callable[[str], None]) -> list[Mapping[str, Any]]:
    """Read a decoded build or push stream to its end; each build step goes to `say`; an error event
    raises InfrastructureError("docker <what> failed: ...") with the stream's last lines."""
    events = []
    recent: collections.deque[str] = collections.deque(maxlen=RECENT_LINES)
    for event in stream:
        events.append(event)
        if event.get("error") or event.get("errorDetail"):
            detail = event.get("errorDetail", {}).get("message") or event.get("error")
            output = "\n".join(f"    {line}" for line in recent)
            raise InfrastructureError(f"docker {what} failed: {str(detail).strip()}"
                                      + (f"\n  last output:\n{output}" if output else ""))
        text = _ANSI.sub("", str(event.get("stream") or "")).rstrip()
        recent.extend(line for line in text.splitlines() if line.strip())
        if text.strip().startswith("Step "):
            say(f"  {text.strip()}")
    return events


def explain(exc: Exception) -> str:
    """The daemon's own explanation of a Docker SDK error, else the error's text."""
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc).strip()
