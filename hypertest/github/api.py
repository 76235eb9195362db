"""A small GitHub REST client: JSON in and out, bounded retries on secondary rate limits."""

from __future__ import annotations

import http.client
import ipaddress
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

MAX_ATTEMPTS = 4
MAX_WAIT_S = 60.0
TIMEOUT_S = 30.0  # each connect and read
BUDGET_S = 300.0  # every request of one GitHubApi together, rate-limit waits included
MAX_ANSWER_BYTES = 32 * 1024 * 1024


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
    _deadline: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        problem = api_url_problem(self.api_url)
        if problem:
            raise ValueError(f"GITHUB_API_URL {self.api_url!r}: {problem}")
        self._deadline = time.monotonic() + BUDGET_S

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """One API call; secondary rate limits (403/429 with retry-after or no remaining quota) wait and retry.
        Every failure (refused, unreachable, too slow, an answer that is not JSON) is a GitHubApiError."""
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise GitHubApiError(0, f"no answer within {BUDGET_S:g} s in all")
            request = urllib.request.Request(f"{self.api_url.rstrip('/')}{path}", data=data, method=method,  # noqa: S310
                                             headers={"Authorization": f"Bearer {self.token}",
                                                      "Accept": "application/vnd.github+json",
                                                      "X-GitHub-Api-Version": "2022-11-28",
                                                      "Content-Type": "application/json",
                                                      "User-Agent": "hypertest"})
            try:
                with urllib.request.urlopen(request, timeout=min(TIMEOUT_S, left)) as response:  # noqa: S310
                    return _json(_read(response, self._deadline), response.status)
            except urllib.error.HTTPError as exc:
                wait = _rate_limit_wait(exc)
                wait = None if wait is None else min(wait, MAX_WAIT_S)
                if wait is not None and attempt < MAX_ATTEMPTS and wait < self._deadline - time.monotonic():
                    self.sleep(wait)
                    continue
                raise GitHubApiError(exc.code, _message(exc)) from None
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:  # timeouts are OSErrors
                raise GitHubApiError(0, str(getattr(exc, "reason", exc)) or type(exc).__name__) from None
            except ValueError as exc:  # a URL http.client refuses, a token it cannot put in a header
                raise GitHubApiError(0, f"the request could not be made ({type(exc).__name__})") from None
        raise GitHubApiError(429, "still rate limited")


def api_url_problem(url: str) -> str:
    """Why url cannot be the GitHub API's address ('' when it can): https, or http to this machine only
    (a token is never sent in clear text over a network)."""
    if not url.isascii() or not url.isprintable() or " " in url:
        return "holds a space, a control character or a character outside ASCII"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number from 0 to 65535
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "not an https:// URL with a host"
    if parts.username is not None or parts.query or parts.fragment:
        return "an API URL has no user name, query or fragment"
    if parts.scheme == "http" and not _loopback(parts.hostname):
        return "http:// would send the token unencrypted; use https:// (http:// is for this machine only)"
    return ""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read(response: http.client.HTTPResponse, deadline: float) -> bytes:
    """The answer's body, at most MAX_ANSWER_BYTES, given up at the deadline (a server may trickle)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read1(1 << 16):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise GitHubApiError(0, f"an answer of more than {MAX_ANSWER_BYTES} bytes")
        if time.monotonic() > deadline:
            raise GitHubApiError(0, "the answer came too slowly")
        chunks.append(chunk)
    return b"".join(chunks)


def _json(data: bytes, status: int) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise GitHubApiError(status, "the answer is not JSON") from None


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
    """The refusal's message (GitHub's JSON "message"), cut short; the HTTP reason when there is none."""
    try:
        message = str(json.loads(exc.read(1 << 16)).get("message", exc.reason))
    except (AttributeError, ValueError, RecursionError, OSError, http.client.HTTPException):
        message = str(exc.reason)
    return message if len(message) <= 300 else message[:300] + "…"
