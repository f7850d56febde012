"""The cooldown built-in (fallbacks themselves are part of the call flow).

``fallbacks`` (a list of model strings) are tried in order when a chat or
embedding call -- or the opening of a stream, before its first chunk --
fails with a transient error (:func:`liter_llm.errors.is_transient`: a rate
limit, a timeout, a server error (5xx) or a connection error); never after a
bad request, an authentication error, a refused budget or a hook's veto.
Each model gets the client's own retries; at most ``1 + len(fallbacks)``
models are tried.  When all fail, the caller gets the last error with
``attempts`` (a list of ``(model, error)``) and a message listing them.  The
loop is :func:`liter_llm._flow.call_flow`, not a hook.

``cooldown_secs``: after 3 consecutive retryable failures, a provider is
skipped for that many seconds.  The :class:`Cooldown` built-in does it with
an ``on_request`` hook that raises :class:`~liter_llm.errors.ServiceUnavailableError`
(code ``"cooldown"``) without any I/O, so the next fallback is tried at once.

A call routed to a target of a model alias (``models``, see
:mod:`liter_llm.router`) is counted and cooled down per *target*
(:func:`cooldown_key`: ``"target:<alias>/<id>"``), not per provider: one
failing deployment does not cool down the provider's other deployments.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from liter_llm._log import get_logger
from liter_llm.errors import LiterLlmError, RateLimitedError, ServiceUnavailableError, is_transient
from liter_llm.hookspecs import hookimpl
from liter_llm.router import ROUTE_STATE_KEY, Route

if TYPE_CHECKING:
    from liter_llm._call import Call

__all__ = ["Cooldown", "cooldown_key", "cooldown_subject", "is_fallback_error"]

#: Consecutive retryable failures after which a provider cools down.
COOLDOWN_THRESHOLD = 3
COOLDOWN_CODE = "cooldown"

#: The errors after which the next model is tried and a cooldown failure is counted (one definition, in errors).
is_fallback_error = is_transient


def cooldown_key(call: Call) -> str:
    """What a cooldown counts ``call``'s failures against: its router target, else its provider's name."""
    route = call.state.get(ROUTE_STATE_KEY)
    if isinstance(route, Route):
        return f"target:{route.alias}/{route.target}"
    return call.provider.name


def cooldown_subject(call: Call) -> str:
    """``call``'s cooldown subject in words, for messages (``provider openai``, ``target fast[1] (openai)``)."""
    route = call.state.get(ROUTE_STATE_KEY)
    if isinstance(route, Route):
        return f"target {route.target} of model alias {route.alias} ({call.provider.name})"
    return f"provider {call.provider.name}"


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
        """Seconds left in ``provider``'s cooldown (0 when it may be called); ``provider`` may be a
        :func:`cooldown_key` of a router target (``"target:fast/fast[1]"``)."""
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
        left = self.cooling(cooldown_key(call))
        if left > 0:
            raise ServiceUnavailableError(
                f"{cooldown_subject(call)} is cooling down after {self.threshold} consecutive failures "
                f"({left:.1f} s left); skipped without sending",
                provider=call.provider.name,
                code=COOLDOWN_CODE,
                retry_after=left,
            )

    @hookimpl
    def on_error(self, call: Call, error: LiterLlmError) -> None:
        """Count a retryable failure; the threshold-th in a row starts the cooldown."""
        if error.code == COOLDOWN_CODE or not is_transient(error):
            return
        if isinstance(error, RateLimitedError) and error.status_code is None:
            return  # the client's own rate limit, not the provider's
        name = cooldown_key(call)
        with self._lock:
            count = self._failures.get(name, 0) + 1
            if count >= self.threshold:
                self._failures[name] = 0
                self._until[name] = self._clock() + self.cooldown_secs
            else:
                self._failures[name] = count
        if count >= self.threshold:
            get_logger().warning(
                "provider_cooldown", provider=call.provider.name, key=name, seconds=self.cooldown_secs, failures=count
            )

    @hookimpl
    def on_response(self, call: Call) -> None:
        """A success ends the run of failures."""
        if not call.cache_hit:
            with self._lock:
                self._failures.pop(cooldown_key(call), None)
