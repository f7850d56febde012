"""Cohere's error answers -> the LiterLlmError family (https://docs.cohere.com/reference/errors)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from liter_llm.errors import LiterLlmError, error_from_status, parse_retry_after

__all__ = ["STATUS_ALIASES", "parse_cohere_error"]

#: Cohere statuses outside the usual set, and the status whose error kind they are.
#: 498 (an invalid or expired key, in Cohere's older reference) is an authentication error;
#: 499 (the request was cancelled) is a server-side failure (ServiceUnavailableError).
STATUS_ALIASES: Mapping[int, int] = {498: 401, 499: 503}

_MAX_MESSAGE = 500


def parse_cohere_error(response: httpx.Response, provider: str = "cohere") -> LiterLlmError:
    """Map a non-2xx Cohere answer (``{"id"?, "message": "..."}``) to our error."""
    text = response.content.decode("utf-8", errors="replace")
    stripped = text.strip()
    data: Any = None
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except (ValueError, RecursionError):
            data = None
    message: str | None = None
    if isinstance(data, Mapping):
        for key in ("message", "detail", "error"):
            if isinstance(data.get(key), str) and data[key]:
                message = data[key]
                break
        if isinstance(data.get("error"), Mapping) and isinstance(data["error"].get("message"), str):
            message = data["error"]["message"]
    if not message:
        message = stripped or f"Cohere answered HTTP {response.status_code} with an empty body"
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + f"... ({len(message)} characters)"
    status = response.status_code
    error = error_from_status(
        STATUS_ALIASES.get(status, status),
        message,
        provider=provider,
        retry_after=parse_retry_after(response.headers),
        body=text or None,
    )
    error.status_code = status
    return error
