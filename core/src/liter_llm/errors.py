"""The ``LiterLlmError`` family and the one mapping from HTTP error answers to it.

Every failure that reaches a caller of liter-llm is a :class:`LiterLlmError`
subclass.  Each error carries the HTTP status, the provider, the provider's own
error code and message, ``retry_after`` (seconds) where the provider gave one,
and the raw body.  Errors pickle, so they cross process boundaries intact.

A provider plugin that speaks another error dialect only adds what differs:
it extracts ``(message, code, type)`` from its body and calls
:func:`error_from_status` with them (see ``hookspecs.parse_error``).
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Mapping
from typing import Any

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "ContentPolicyError",
    "ContextWindowExceededError",
    "EndpointNotSupportedError",
    "HookRejectedError",
    "InternalError",
    "InvalidHeaderError",
    "LiterLlmError",
    "LiterLlmTimeoutError",
    "NotFoundError",
    "RateLimitedError",
    "SerializationError",
    "ServerError",
    "ServiceUnavailableError",
    "StreamTimeoutError",
    "StreamingError",
    "StructuredOutputError",
    "StructuredOutputRefusalError",
    "error_from_response",
    "error_from_status",
    "parse_retry_after",
]

_MAX_BODY_IN_MESSAGE = 500

# -- transient failures: the one definition -------------------------------------
#
# A transient failure may go away by itself: the provider throttles, times out,
# is overloaded or broken for now, or the connection was lost.  Retries,
# fallbacks and the cooldown all act on transient failures only, and read them
# from here:
#
# * the retry loop (``_flow.CallFlow.send_with_retries``) retries an HTTP
#   answer whose status is in :data:`RETRY_STATUSES` (408 and 409 too: the same
#   request to the same provider may pass) and a connection that failed before
#   any answer (the httpx exceptions of ``_transport_errors._retryable_transport``; a
#   read timeout is not retried: it has used the call's time);
# * a fallback (``_flow.call_flow``) tries the next model, and the cooldown
#   (``builtins.fallbacks.Cooldown``) counts a failure, when
#   :func:`is_transient` holds for the error the retries ended with.

#: HTTP statuses retried on the same provider.
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


class LiterLlmError(Exception):
    """Base class of every error raised by liter-llm.

    Attributes:
        message: a human-readable description of what went wrong.
        status_code: the HTTP status of the provider's answer, if there was one.
        provider: the name of the provider the call was routed to, if known.
        code: the provider's own error code or type (e.g. ``"context_length_exceeded"``).
        retry_after: seconds the provider asked us to wait, where it said so.
        body: the raw error body as received (text), where there was one.
    """

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        provider: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        body: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.provider = provider
        self.code = code
        self.retry_after = retry_after
        self.body = body

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def __reduce__(self) -> tuple[Any, ...]:
        state = {
            "status_code": self.status_code,
            "provider": self.provider,
            "code": self.code,
            "retry_after": self.retry_after,
            "body": self.body,
        }
        state.update(self._extra_state())
        return (_rebuild_error, (type(self), self.message, state))

    def __str__(self) -> str:
        parts = []
        if self.provider:
            parts.append(self.provider)
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        if self.code:
            parts.append(str(self.code))
        prefix = f"[{', '.join(parts)}] " if parts else ""
        return f"{prefix}{self.kind}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status_code={self.status_code!r}, "
            f"provider={self.provider!r}, code={self.code!r}, retry_after={self.retry_after!r})"
        )


def _rebuild_error(cls: type[LiterLlmError], message: str, state: dict[str, Any]) -> LiterLlmError:
    err = cls.__new__(cls)
    LiterLlmError.__init__(
        err,
        message,
        status_code=state.pop("status_code"),
        provider=state.pop("provider"),
        code=state.pop("code"),
        retry_after=state.pop("retry_after"),
        body=state.pop("body"),
    )
    for key, value in state.items():
        setattr(err, key, value)
    return err


class AuthenticationError(LiterLlmError):
    """Authentication failed: a missing, invalid or unauthorised API key (HTTP 401/403)."""

    kind = "authentication failed"


class RateLimitedError(LiterLlmError):
    """The provider (or a local rate limit) refused the call for now (HTTP 429)."""

    kind = "rate limited"


class BadRequestError(LiterLlmError):
    """The request was invalid: an unknown field, a wrong type, a rejected parameter."""

    kind = "bad request"


class ContextWindowExceededError(BadRequestError):
    """The prompt (plus requested output) does not fit the model's context window."""

    kind = "context window exceeded"


class ContentPolicyError(BadRequestError):
    """The provider refused the content under its safety or content policy."""

    kind = "content policy violation"


class NotFoundError(LiterLlmError):
    """The model, file, batch or endpoint does not exist (HTTP 404)."""

    kind = "not found"


class ServerError(LiterLlmError):
    """The provider failed (HTTP 500, or another unexpected 5xx)."""

    kind = "server error"


class ServiceUnavailableError(ServerError):
    """The provider is overloaded or down (HTTP 502, 503, 504, 529), or could not be reached."""

    kind = "service unavailable"


class LiterLlmTimeoutError(LiterLlmError, TimeoutError):
    """The call did not complete within its timeout (also HTTP 408; a 504 is a :class:`ServiceUnavailableError`)."""

    kind = "request timeout"


class StreamingError(LiterLlmError):
    """A stream failed part-way: a dropped connection, a malformed event, bad UTF-8.

    ``chunks`` holds every chunk that arrived before the failure, so nothing
    that was received is lost.
    """

    kind = "streaming error"

    def __init__(self, message: str, *, chunks: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.chunks: list[Any] = list(chunks or [])

    def _extra_state(self) -> dict[str, Any]:
        return {"chunks": self.chunks}


class StreamTimeoutError(StreamingError, LiterLlmTimeoutError):
    """A stream went quiet for longer than the timeout; ``chunks`` holds what arrived.

    Both a :class:`StreamingError` and a :class:`LiterLlmTimeoutError` (so also a
    built-in ``TimeoutError``).
    """

    kind = "stream timeout"


class EndpointNotSupportedError(LiterLlmError):
    """The resolved provider does not offer the requested endpoint."""

    kind = "endpoint not supported"

    def __init__(self, provider: str, endpoint: str, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message or f"provider {provider} does not support {endpoint}", provider=provider, **kwargs)
        self.endpoint = endpoint

    def _extra_state(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint}


class InvalidHeaderError(LiterLlmError):
    """A header name or value given to the client is not valid HTTP."""

    kind = "invalid header"

    def __init__(self, name: str, reason: str, **kwargs: Any) -> None:
        super().__init__(f"invalid header {name!r}: {reason}", **kwargs)
        self.name = name
        self.reason = reason

    def _extra_state(self) -> dict[str, Any]:
        return {"name": self.name, "reason": self.reason}


class SerializationError(LiterLlmError):
    """A response could not be decoded: invalid JSON, a wrong type, bad UTF-8 or gzip."""

    kind = "serialization error"


class BudgetExceededError(LiterLlmError):
    """A hard budget refused the call before it was sent.

    ``limit_name`` is ``"global"`` or ``"model:<name>"``; ``limit`` and
    ``spent`` are in USD.
    """

    kind = "budget exceeded"

    def __init__(
        self,
        message: str,
        *,
        limit_name: str | None = None,
        limit: float | None = None,
        spent: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.limit_name = limit_name
        self.limit = limit
        self.spent = spent

    def _extra_state(self) -> dict[str, Any]:
        return {"limit_name": self.limit_name, "limit": self.limit, "spent": self.spent}


class HookRejectedError(LiterLlmError):
    """A hook (a guardrail, a user hook) refused the call before it was sent."""

    kind = "hook rejected"

    def __init__(self, message: str, *, hook: str | None = None, reason: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.hook = hook
        self.reason = reason if reason is not None else message

    def _extra_state(self) -> dict[str, Any]:
        return {"hook": self.hook, "reason": self.reason}


class StructuredOutputError(LiterLlmError):
    """``client.parse`` got no valid answer within ``max_repairs`` repairs.

    Attributes:
        attempts: every attempt (:class:`liter_llm.structured.Attempt`): each
            one's raw text, validation errors and response.
        problems: the last attempt's problems
            (:class:`liter_llm.structured.ValidationProblem`: path and problem).
    """

    kind = "structured output error"

    def __init__(
        self, message: str, *, attempts: tuple[Any, ...] = (), problems: list[Any] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.attempts = tuple(attempts)
        self.problems = list(problems or [])

    def _extra_state(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "problems": self.problems}


class StructuredOutputRefusalError(StructuredOutputError):
    """The model refused to answer a ``client.parse`` request (no repair is tried).

    Attributes:
        refusal: the model's refusal text.
    """

    kind = "structured output refused"

    def __init__(self, message: str, *, refusal: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.refusal = refusal

    def _extra_state(self) -> dict[str, Any]:
        return {**super()._extra_state(), "refusal": self.refusal}


class InternalError(LiterLlmError):
    """A bug in liter-llm or in a plugin; please report it.

    Attributes:
        hook: ``plugin.hook`` when a plugin's hook raised something other than
            a LiterLlmError (the original exception is chained as ``__cause__``).
    """

    kind = "internal error"

    def __init__(self, message: str, *, hook: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.hook = hook

    def _extra_state(self) -> dict[str, Any]:
        return {"hook": self.hook}


# ---------------------------------------------------------------------------
# Mapping an HTTP error answer to a kind
# ---------------------------------------------------------------------------

_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "context length",
    "context window",
    "maximum context",
    "prompt is too long",
    "too many tokens",
    "string_above_max_length",
    "input is too long",
    "exceeds the maximum number of tokens",
    "reduce the length",
)
_POLICY_MARKERS = (
    "content_policy",
    "content_filter",
    "content policy",
    "content management policy",
    "safety system",
    "responsible ai",
    "flagged",
)


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Read how long to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date).

    Returns seconds (never negative), or ``None`` when no usable header was sent.
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            value = float(raw_ms) / 1000.0
            if math.isfinite(value) and value >= 0:
                return value
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    raw = raw.strip()
    try:
        value = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        current = time.time() if now is None else now
        return max(0.0, when.timestamp() - current)
    if not math.isfinite(value) or value < 0:  # NaN, infinite or negative
        return None
    return value


def _classify(status: int, text: str) -> type[LiterLlmError]:
    lowered = text.lower()
    if status in (400, 413, 422):
        if any(marker in lowered for marker in _CONTEXT_MARKERS):
            return ContextWindowExceededError
        if any(marker in lowered for marker in _POLICY_MARKERS):
            return ContentPolicyError
        return BadRequestError
    if status in (401, 403):
        return AuthenticationError
    if status == 404:
        return NotFoundError
    if status == 408:
        return LiterLlmTimeoutError
    if status == 429:
        return RateLimitedError
    if status in (502, 503, 504, 529):  # 504: a gateway's upstream did not answer, as the reference maps it
        return ServiceUnavailableError
    if status >= 500:
        return ServerError
    if 400 <= status < 500:
        return BadRequestError
    return ServerError


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is transient: a rate limit, a timeout, a server error (5xx) or a lost connection.

    The next model is tried (fallbacks) and the provider's run of failures is
    counted (cooldown) only after such an error; never after a bad request, an
    authentication error, a refused budget or a hook's veto.
    """
    return isinstance(error, (RateLimitedError, LiterLlmTimeoutError, ServerError))


def error_from_status(
    status: int,
    message: str,
    *,
    provider: str | None = None,
    code: str | None = None,
    error_type: str | None = None,
    retry_after: float | None = None,
    body: str | None = None,
) -> LiterLlmError:
    """Build the error of the right kind for an HTTP status and the provider's own words.

    ``code`` and ``error_type`` (the provider's error code and type) are
    searched, with the message, for context-window and content-policy markers.
    """
    text = " ".join(filter(None, (code, error_type, message)))
    cls = _classify(status, text)
    return cls(
        message or f"HTTP {status}",
        status_code=status,
        provider=provider,
        code=code or error_type,
        retry_after=retry_after,
        body=body,
    )


def _shorten(text: str) -> str:
    text = text.strip()
    if len(text) > _MAX_BODY_IN_MESSAGE:
        return text[:_MAX_BODY_IN_MESSAGE] + f"... ({len(text)} characters)"
    return text


def extract_error_fields(data: Any) -> tuple[str | None, str | None, str | None]:
    """Pull ``(message, code, type)`` out of a decoded error body of any common shape.

    Understands the OpenAI shape ``{"error": {"message", "type", "code"}}``,
    ``{"error": "text"}``, ``{"message": ...}``, ``{"detail": ...}`` and lists of
    such objects. Returns ``None`` for what is not there.
    """
    while isinstance(data, list) and data:  # a loop: a deeply nested list must not recurse
        data = data[0]
    if not isinstance(data, dict):
        return None, None, None
    inner = data.get("error", data)
    if isinstance(inner, str):
        return inner, _as_str(data.get("code")), _as_str(data.get("type"))
    if not isinstance(inner, dict):
        inner = data
    message = inner.get("message")
    if message is None:
        message = inner.get("detail", data.get("detail"))
    if message is not None and not isinstance(message, str):
        message = json.dumps(message, ensure_ascii=False)
    code = _as_str(inner.get("code"))
    etype = _as_str(inner.get("type")) or _as_str(inner.get("status"))
    return message, code, etype


def _as_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    content: bytes,
    *,
    provider: str | None = None,
    now: float | None = None,
) -> LiterLlmError:
    """Map an HTTP error answer (status, headers, body bytes) to a :class:`LiterLlmError`.

    JSON bodies in the OpenAI shape and the other common shapes give the
    provider's message and code; a plain-text body becomes the message; an
    empty body gives a message naming the status.  ``now`` (seconds since the
    epoch, default ``time.time()``) is what an HTTP-date ``retry-after`` is
    measured from.
    """
    text = content.decode("utf-8", errors="replace")
    message: str | None = None
    code: str | None = None
    etype: str | None = None
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            data = json.loads(stripped)
        except (ValueError, RecursionError):
            data = None
        message, code, etype = extract_error_fields(data)
    if message:
        message = _shorten(message)
    else:
        message = _shorten(stripped) if stripped else f"the provider answered HTTP {status} with an empty body"
    return error_from_status(
        status,
        message,
        provider=provider,
        code=code,
        error_type=etype,
        retry_after=parse_retry_after(headers, now=now),
        body=text or None,
    )
