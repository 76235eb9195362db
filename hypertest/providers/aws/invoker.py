"""Synchronous Invoke of one unit: retry only what proves the function never ran, never re-send otherwise."""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from runner.json_text import utf8_json
from runner.model import error_unit_result

MAX_REQUEST_BYTES = 6 * 1024 * 1024
# Refusals that come before the function runs: safe to send again after a pause.
RETRYABLE_CODES = frozenset({
    "TooManyRequestsException", "ServiceException", "EC2ThrottledException", "ResourceNotReadyException",
    "ResourceConflictException", "ThrottlingException", "Throttling", "RequestLimitExceeded",
})
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 20.0
LOG_TAIL_CHARS = 4000


@dataclass(frozen=True)
class InvokeResult:
    """What one unit's Invoke gave: the runner's result (or an error result) and how it went."""

    result: Mapping[str, Any]
    attempts: int
    refused: int
    function_error: bool


# Lambda's function errors that are the sandbox's, and their infrastructure cause (other function errors: crash).
FUNCTION_ERROR_CAUSES = {"Runtime.OutOfMemory": "OOM", "Sandbox.Timedout": "timeout"}
THROTTLING_CODES = frozenset({"TooManyRequestsException", "EC2ThrottledException", "ThrottlingException", "Throttling",
                              "RequestLimitExceeded", "429"})


def error_result(message: str, log_tail: str = "", infra: str | None = None) -> dict[str, Any]:
    """A unit result that carries only an error (aggregation turns it into error records), with the
    infrastructure cause when it is known (core/infra_cause.py)."""
    text = message if not log_tail else f"{message}\n--- function log (tail) ---\n{log_tail[-LOG_TAIL_CHARS:]}"
    result = dict(error_unit_result(text))
    if infra:
        result["infra"] = infra
    return result


class Invoker:
    """Invokes the function for one unit at a time; thread-safe (the boto3 client is shared)."""

    def __init__(self, client: Any, function_name: str, *, retries: int,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None) -> None:
        self.client = client
        self.function_name = function_name
        self.retries = retries
        self.sleep = sleep
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy

    def invoke(self, payload: Mapping[str, Any]) -> InvokeResult:
        """Invoke once, re-sending only after refusals (throttling, service errors, no connection)."""
        body = utf8_json(payload).encode()
        if len(body) > MAX_REQUEST_BYTES:
            return InvokeResult(error_result(f"the unit's payload is {len(body)} bytes, over Lambda's 6 MB"),
                                0, 0, False)
        refused = 0
        last_refusal, last_code = "", ""
        for attempt in range(1, self.retries + 2):
            try:
                response = self.client.invoke(FunctionName=self.function_name, InvocationType="RequestResponse",
                                              LogType="Tail", Payload=body)
            except botocore.exceptions.ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
                message = exc.response.get("Error", {}).get("Message", str(exc))
                if code in RETRYABLE_CODES or status in (429, 500, 502, 503, 504):
                    refused += 1
                    last_refusal, last_code = f"{code or status}: {message}", code or str(status)
                    if attempt <= self.retries:
                        self.sleep(self._backoff(attempt))
                    continue
                return InvokeResult(error_result(f"Invoke was refused: {code or status}: {message}"),
                                    attempt, refused, False)
            except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError) as exc:
                refused += 1  # the request never reached Lambda
                last_refusal, last_code = str(exc), ""
                if attempt <= self.retries:
                    self.sleep(self._backoff(attempt))
                continue
            except botocore.exceptions.ReadTimeoutError:
                return InvokeResult(error_result(
                    "no response before the read timeout; not sent again, as the function may have run",
                    infra="timeout"), attempt, refused, False)
            except botocore.exceptions.BotoCoreError as exc:
                return InvokeResult(error_result(f"Invoke failed: {exc}"), attempt, refused, False)
            return self._read(response, attempt, refused)
        return InvokeResult(error_result(f"Invoke was still refused after {self.retries + 1} attempts: "
                                         f"{last_refusal}",
                                         infra="throttled" if last_code in THROTTLING_CODES else "lost"),
                            self.retries + 1, refused, False)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return self.rng.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1)))

    def _read(self, response: Mapping[str, Any], attempt: int, refused: int) -> InvokeResult:
        raw = response["Payload"].read()
        log_tail = _decode_log(response.get("LogResult"))
        if response.get("FunctionError"):
            detail = _function_error(raw)
            cause = next((cause for kind, cause in FUNCTION_ERROR_CAUSES.items() if detail.startswith(kind)), "crash")
            return InvokeResult(error_result(f"the function failed ({response['FunctionError']}): {detail}",
                                             log_tail, infra=cause), attempt, refused, True)
        try:
            result = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            preview = raw[:200].decode("utf-8", errors="replace")
            return InvokeResult(error_result(f"the function returned malformed JSON ({len(raw)} bytes): {preview!r}",
                                             log_tail, infra="malformed result"), attempt, refused, False)
        if not isinstance(result, dict):
            return InvokeResult(error_result(f"the function returned {type(result).__name__}, not an object",
                                             log_tail, infra="malformed result"), attempt, refused, False)
        if log_tail and result.get("status") == "error":
            result = {**result, "error": f"{result.get('error')}\n--- function log (tail) ---\n{log_tail}"}
        return InvokeResult(result, attempt, refused, False)


def _decode_log(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    try:
        return base64.b64decode(value).decode("utf-8", errors="replace")[-LOG_TAIL_CHARS:]
    except ValueError:
        return ""


def _function_error(raw: bytes) -> str:
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return raw[:500].decode("utf-8", errors="replace")
    if isinstance(document, dict):
        kind = document.get("errorType", "")
        message = document.get("errorMessage", "")
        return f"{kind}: {message}" if kind else str(message)
    return str(document)[:500]
