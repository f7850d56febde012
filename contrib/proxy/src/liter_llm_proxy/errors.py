"""liter-llm's errors in OpenAI's HTTP error shape: ``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

from typing import Any

from liter_llm.errors import (
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ContentPolicyError,
    ContextWindowExceededError,
    EndpointNotSupportedError,
    HookRejectedError,
    LiterLlmError,
    LiterLlmTimeoutError,
    NotFoundError,
    RateLimitedError,
    SerializationError,
    ServerError,
    ServiceUnavailableError,
    StreamingError,
)

__all__ = ["PermissionDeniedError", "error_body", "error_status", "error_type"]


class PermissionDeniedError(AuthenticationError):
    """A valid key that may not do this (a model outside its allow-list, the admin API): HTTP 403."""

    kind = "permission denied"


# (class, default status, OpenAI error type), most specific first
_KINDS: tuple[tuple[type[LiterLlmError], int, str], ...] = (
    (PermissionDeniedError, 403, "permission_error"),
    (AuthenticationError, 401, "authentication_error"),
    (BudgetExceededError, 429, "insufficient_quota"),
    (RateLimitedError, 429, "rate_limit_error"),
    (ContextWindowExceededError, 400, "invalid_request_error"),
    (ContentPolicyError, 400, "invalid_request_error"),
    (HookRejectedError, 400, "invalid_request_error"),
    (EndpointNotSupportedError, 400, "invalid_request_error"),
    (NotFoundError, 404, "invalid_request_error"),
    (BadRequestError, 400, "invalid_request_error"),
    (StreamingError, 502, "server_error"),
    (LiterLlmTimeoutError, 504, "timeout_error"),
    (ServiceUnavailableError, 503, "service_unavailable_error"),
    (SerializationError, 502, "server_error"),
    (ServerError, 500, "server_error"),
)

_DEFAULT_CODES: dict[type[LiterLlmError], str] = {
    BudgetExceededError: "budget_exceeded",
    ContextWindowExceededError: "context_length_exceeded",
    ContentPolicyError: "content_policy_violation",
    EndpointNotSupportedError: "endpoint_not_supported",
    LiterLlmTimeoutError: "timeout",
}


def _kind(error: LiterLlmError) -> tuple[int, str]:
    for cls, status, etype in _KINDS:
        if isinstance(error, cls):
            return status, etype
    return 500, "server_error"


def error_status(error: LiterLlmError) -> int:
    """The HTTP status the proxy answers with for ``error``.

    The upstream's own status is kept when it belongs to the error's kind (a 413
    stays a 413, a 502 stays a 502); otherwise the kind's status.
    """
    status, _ = _kind(error)
    upstream = error.status_code
    same_kind = upstream is not None and 400 <= upstream < 600 and (upstream >= 500) == (status >= 500)
    if same_kind and upstream is not None and not isinstance(error, (BudgetExceededError, PermissionDeniedError)):
        return upstream
    return status


def error_type(error: LiterLlmError) -> str:
    """The OpenAI ``error.type`` of ``error``."""
    return _kind(error)[1]


def error_body(error: LiterLlmError) -> dict[str, Any]:
    """The OpenAI error object for ``error`` (its message is liter-llm's, already free of keys)."""
    code = error.code
    if code is None:
        for cls, default in _DEFAULT_CODES.items():
            if isinstance(error, cls):
                code = default
                break
    return {
        "error": {
            "message": error.message,
            "type": error_type(error),
            "param": getattr(error, "param", None),
            "code": None if code is None else str(code),
        }
    }
