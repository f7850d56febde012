"""Anthropic's error bodies -> the LiterLlmError family."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from liter_llm.errors import LiterLlmError, error_from_status, parse_retry_after

__all__ = ["ERROR_STATUS", "error_from_type", "parse_anthropic_error"]

#: Anthropic's documented error types and the HTTP status each goes with.
ERROR_STATUS: Mapping[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}

_MAX_MESSAGE = 500


def error_from_type(
    error_type: str | None,
    message: str,
    *,
    status: int | None = None,
    provider: str = "anthropic",
    retry_after: float | None = None,
    body: str | None = None,
) -> LiterLlmError:
    """The error for an Anthropic error ``type`` (and the HTTP status, when there was one).

    Inside a stream there is no status: the error type gives it
    (``overloaded_error`` -> 529 -> ServiceUnavailableError).  An unknown type
    without a status is a server error (500).
    """
    if status is None:
        status = ERROR_STATUS.get(error_type or "", 500)
    return error_from_status(
        status,
        message,
        provider=provider,
        code=error_type,
        error_type=error_type,
        retry_after=retry_after,
        body=body,
    )


def parse_anthropic_error(response: httpx.Response, provider: str = "anthropic") -> LiterLlmError:
    """Map a non-2xx Messages API answer (``{"type": "error", "error": {"type", "message"}}``) to our error."""
    text = response.content.decode("utf-8", errors="replace")
    etype: str | None = None
    message: str | None = None
    data: Any = None
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except (ValueError, RecursionError):
            data = None
    if isinstance(data, Mapping):
        inner = data.get("error")
        if isinstance(inner, Mapping):
            if isinstance(inner.get("type"), str):
                etype = inner["type"]
            if isinstance(inner.get("message"), str):
                message = inner["message"]
        elif isinstance(inner, str):
            message = inner
        if message is None and isinstance(data.get("message"), str):
            message = data["message"]
    if not message:
        message = stripped or f"the provider answered HTTP {response.status_code} with an empty body"
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + f"... ({len(message)} characters)"
    return error_from_type(
        etype,
        message,
        status=response.status_code,
        provider=provider,
        retry_after=parse_retry_after(response.headers),
        body=text or None,
    )
