"""Fallbacks and cooldowns.

``fallbacks`` (a list of model strings) are tried in order when a chat or
embedding call -- or the opening of a stream, before its first chunk --
fails with a rate limit, a timeout, a server error (5xx) or a connection
error; never after a bad request, an authentication error, a refused budget
or a hook's veto.  Each model gets the client's own retries; at most
``1 + len(fallbacks)`` models are tried.  When all fail, the caller gets the
last error with ``attempts`` (a list of ``(model, error)``) and a message
listing them.

``cooldown_secs``: after 3 consecutive retryable failures, a provider is
skipped for that many seconds.  The :class:`Cooldown` built-in does it with
an ``on_request`` hook that raises :class:`~liter_llm.errors.ServiceUnavailableError`
(code ``"cooldown"``) without any I/O, so the next fallback is tried at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from liter_llm._log import get_logger
from liter_llm.errors import LiterLlmError, LiterLlmTimeoutError, RateLimitedError, ServerError, ServiceUnavailableError
from liter_llm.hookspecs import hookimpl

if TYPE_CHECKING:
    from liter_llm._call import Call
    from liter_llm._pipeline import Flow, Pipeline

__all__ = ["FALLBACK_OPERATIONS", "Cooldown", "call_flow", "is_fallback_error"]

#: Operations that fall back to the next model (``chat_stream`` only before its first chunk).
FALLBACK_OPERATIONS = frozenset({"chat", "embed", "chat_stream"})
#: Consecutive retryable failures after which a provider cools down.
COOLDOWN_THRESHOLD = 3
COOLDOWN_CODE = "cooldown"


def is_fallback_error(error: BaseException) -> bool:
    """Whether ``error`` lets the next model be tried: rate limits, timeouts, 5xx, connection errors."""
    return isinstance(error, (RateLimitedError, LiterLlmTimeoutError, ServerError))


def _describe(attempts: list[tuple[str, LiterLlmError]]) -> str:
    return "; ".join(f"{model}: {type(error).__name__}: {error.message}" for model, error in attempts)


def call_flow(
    pipeline: Pipeline,
    operation: str,
    request: Any,
    *,
    model: str | None,
    params: dict[str, Any] | None = None,
    provider: str | None = None,
) -> Flow:
    """Route and run a call, trying the configured fallbacks in order.

    Returns the result; for ``chat_stream`` returns ``(call, open_response)``.
    """
    stream = operation == "chat_stream"
    fallbacks = pipeline.config.fallbacks
    models: list[str | None] = [model]
    if fallbacks and operation in FALLBACK_OPERATIONS and model is not None and provider is None:
        models.extend(name for name in fallbacks if name != model)
    attempts: list[tuple[str, LiterLlmError]] = []
    last = len(models) - 1
    for index, name in enumerate(models):
        current = request if index == 0 or request is None else attrs.evolve(request, model=name)
        try:
            call = pipeline.prepare(operation, current, model=name, params=params, provider=provider)
            if stream:
                response = yield from pipeline.open_stream(call)
                return call, response
            return (yield from pipeline.run(call))
        except LiterLlmError as error:
            if last == 0:
                raise
            attempts.append((name or "", error))
            if index < last and is_fallback_error(error):
                get_logger().warning(
                    "fallback",
                    failed_model=name,
                    next_model=models[index + 1],
                    error=f"{type(error).__name__}: {error.message}",
                )
                continue
            error.attempts = list(attempts)  # type: ignore[attr-defined]
            if len(attempts) > 1:
                error.message = f"{error.message} (tried {len(attempts)} models: {_describe(attempts)})"
            raise
    raise AssertionError("unreachable")  # pragma: no cover


class Cooldown:
    """The ``cooldown`` built-in: skips a provider for ``cooldown_secs`` after repeated failures."""

    def __init__(
        self, cooldown_secs: float, threshold: int = COOLDOWN_THRESHOLD, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.cooldown_secs = cooldown_secs
        self.threshold = threshold
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self._until: dict[str, float] = {}

    def cooling(self, provider: str) -> float:
        """Seconds left in ``provider``'s cooldown (0 when it may be called)."""
        with self._lock:
            until = self._until.get(provider)
            if until is None:
                return 0.0
            left = until - self._clock()
            if left <= 0:
                del self._until[provider]
                return 0.0
            return left

    @hookimpl(tryfirst=True)
    def on_request(self, call: Call) -> None:
        """Refuse a call to a cooling provider at once (ServiceUnavailableError, code "cooldown")."""
        left = self.cooling(call.provider.name)
        if left > 0:
            raise ServiceUnavailableError(
                f"provider {call.provider.name} is cooling down after {self.threshold} consecutive failures "
                f"({left:.1f} s left); skipped without sending",
                provider=call.provider.name,
                code=COOLDOWN_CODE,
                retry_after=left,
            )

    @hookimpl
    def on_error(self, call: Call, error: LiterLlmError) -> None:
        """Count a retryable failure; the threshold-th in a row starts the cooldown."""
        if error.code == COOLDOWN_CODE or not is_fallback_error(error):
            return
        if isinstance(error, RateLimitedError) and error.status_code is None:
            return  # the client's own rate limit, not the provider's
        name = call.provider.name
        with self._lock:
            count = self._failures.get(name, 0) + 1
            if count >= self.threshold:
                self._failures[name] = 0
                self._until[name] = self._clock() + self.cooldown_secs
            else:
                self._failures[name] = count
        if count >= self.threshold:
            get_logger().warning("provider_cooldown", provider=name, seconds=self.cooldown_secs, failures=count)

    @hookimpl
    def on_response(self, call: Call) -> None:
        """A success ends the run of failures."""
        if not call.cache_hit:
            with self._lock:
                self._failures.pop(call.provider.name, None)
