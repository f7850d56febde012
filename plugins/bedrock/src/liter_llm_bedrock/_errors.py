"""Bedrock's error answers (``x-amzn-errortype`` and the JSON body) and stream exceptions -> LiterLlmError."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from liter_llm.errors import (
    AuthenticationError,
    ContextWindowExceededError,
    LiterLlmError,
    LiterLlmTimeoutError,
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
    error_from_status,
    parse_retry_after,
)

__all__ = ["ERROR_TYPES", "bedrock_error", "error_type_of", "parse_bedrock_error"]

#: Bedrock's exception names (lower-case, without "Exception") -> (status, error class or None: by status)
ERROR_TYPES: Mapping[str, tuple[int, type[LiterLlmError] | None]] = {
    "throttling": (429, RateLimitedError),
    "servicequotaexceeded": (429, RateLimitedError),
    "validation": (400, None),
    "accessdenied": (403, AuthenticationError),
    "unrecognizedclient": (401, AuthenticationError),
    "expiredtoken": (401, AuthenticationError),
    "invalidsignature": (403, AuthenticationError),
    "incompletesignature": (403, AuthenticationError),
    "missingauthenticationtoken": (403, AuthenticationError),
    "resourcenotfound": (404, NotFoundError),
    "modelnotready": (503, ServiceUnavailableError),
    "serviceunavailable": (503, ServiceUnavailableError),
    "modeltimeout": (408, LiterLlmTimeoutError),
    "internalserver": (500, None),
    "modelstreamerror": (424, None),
    "modelerror": (424, None),
}

_CONTEXT_MARKERS = ("too long", "too many tokens", "context length", "context window", "maximum context", "token limit")
_MAX_MESSAGE = 500


def error_type_of(value: str | None) -> str | None:
    """The short exception name of an ``x-amzn-errortype`` / ``__type`` / ``:exception-type`` value.

    ``ValidationException:http://internal.amazon.com/coral/...`` and
    ``com.amazon.coral.validate#ValidationException`` both give ``ValidationException``.
    """
    if not value:
        return None
    name = value.split(":", 1)[0]
    name = name.rsplit("#", 1)[-1].strip()
    return name or None


def _key(name: str) -> str:
    key = name.lower()
    return key[: -len("exception")] if key.endswith("exception") else key


def bedrock_error(
    name: str | None,
    message: str,
    *,
    status: int | None = None,
    provider: str = "bedrock",
    retry_after: float | None = None,
    body: str | None = None,
) -> LiterLlmError:
    """The error for a Bedrock exception name (and the HTTP status, when there was one)."""
    entry = ERROR_TYPES.get(_key(name)) if name else None
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + f"... ({len(message)} characters)"
    if entry is None:
        return error_from_status(
            status or 500, message, provider=provider, code=name, retry_after=retry_after, body=body
        )
    default_status, cls = entry
    code = status or default_status
    if cls is None:
        if _key(name or "") == "validation" and any(m in message.lower() for m in _CONTEXT_MARKERS):
            cls = ContextWindowExceededError
        else:
            return error_from_status(code, message, provider=provider, code=name, retry_after=retry_after, body=body)
    return cls(message, status_code=code, provider=provider, code=name, retry_after=retry_after, body=body)


def parse_bedrock_error(response: httpx.Response, provider: str = "bedrock") -> LiterLlmError:
    """Map a non-2xx Bedrock answer: ``x-amzn-errortype`` first, then the body's ``__type`` and ``message``."""
    text = response.content.decode("utf-8", errors="replace")
    data: Any = None
    if text.strip().startswith("{"):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            data = None
    name = error_type_of(response.headers.get("x-amzn-errortype"))
    message: str | None = None
    if isinstance(data, Mapping):
        if name is None:
            name = error_type_of(data.get("__type") if isinstance(data.get("__type"), str) else None)
            if name is None and isinstance(data.get("code"), str):
                name = data["code"]
        for field in ("message", "Message", "error"):
            if isinstance(data.get(field), str):
                message = data[field]
                break
    if not message:
        message = text.strip() or f"Bedrock answered HTTP {response.status_code} with an empty body"
    return bedrock_error(
        name,
        message,
        status=response.status_code,
        provider=provider,
        retry_after=parse_retry_after(response.headers),
        body=text or None,
    )
