"""A small GitHub REST client: JSON in and out, bounded retries on secondary rate limits."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_ATTEMPTS = 4
MAX_WAIT_S = 60.0


class GitHubApiError(RuntimeError):
    """A refused request; status is the HTTP status (0 when nothing answered)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"GitHub API {status}: {message}")
        self.status = status


@dataclass
class GitHubApi:
    """Talks to api_url with token; sleep is injectable for tests."""

    api_url: str
    token: str
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if not self.api_url.startswith(("https://", "http://")):
            raise ValueError(f"GITHUB_API_URL must be an http(s) URL, not {self.api_url!r}")

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """One API call; secondary rate limits (403/429 with retry-after or no remaining quota) wait and retry."""
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            request = urllib.request.Request(f"{self.api_url.rstrip('/')}{path}", data=data, method=method,  # noqa: S310
                                             headers={"Authorization": f"Bearer {self.token}",
                                                      "Accept": "application/vnd.github+json",
                                                      "X-GitHub-Api-Version": "2022-11-28",
                                                      "Content-Type": "application/json",
                                                      "User-Agent": "hypertest"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - http(s) checked
                    text = response.read()
                    return json.loads(text) if text else None
            except urllib.error.HTTPError as exc:
                wait = _rate_limit_wait(exc)
                if wait is not None and attempt < MAX_ATTEMPTS:
                    self.sleep(min(wait, MAX_WAIT_S))
                    continue
                raise GitHubApiError(exc.code, _message(exc)) from None
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                raise GitHubApiError(0, str(exc)) from None
        raise GitHubApiError(429, "still rate limited")


def _rate_limit_wait(exc: urllib.error.HTTPError) -> float | None:
    if exc.code not in (403, 429):
        return None
    retry_after = exc.headers.get("retry-after")
    if retry_after and retry_after.isdigit():
        return float(retry_after)
    if exc.headers.get("x-ratelimit-remaining") == "0":
        reset = exc.headers.get("x-ratelimit-reset", "")
        return max(1.0, float(reset) - time.time()) if reset.isdigit() else 60.0
    return None


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read()).get("message", exc.reason))
    except (json.JSONDecodeError, AttributeError, ValueError):
        return str(exc.reason)
