"""Rate limit: client-side requests and tokens per minute, per model, over a sliding window.

``rate_limit = {rpm, tpm, window_seconds}``.  Before a call is sent, the
``throttle`` hook says how many seconds it must wait for the window to have
room; the core sleeps (the async client without blocking the event loop) and
asks again, and past the call's timeout fails with
:class:`~liter_llm.errors.RateLimitedError` carrying ``retry_after``.

``tpm`` counts tokens: a call is admitted with an estimate of its prompt
(``len(text) / 4``), replaced by the provider's ``usage.total_tokens`` when
the answer arrives.  A call is always admitted into an empty window, even if
its estimate alone is above ``tpm``, so one large prompt cannot wait forever.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from liter_llm.builtins.budget import model_key
from liter_llm.hookspecs import hookimpl

if TYPE_CHECKING:
    from liter_llm._call import Call
    from liter_llm.config import RateLimitConfig

__all__ = ["RateLimiter", "estimate_tokens", "request_text"]


def _content_text(content: Any, out: list[str]) -> None:
    if content is None:
        return
    if isinstance(content, str):
        out.append(content)
    elif isinstance(content, list):
        for part in content:
            text = part if isinstance(part, str) else getattr(part, "text", None)
            if isinstance(text, str):
                out.append(text)


def request_text(request: Any) -> str:
    """The text a request sends: message contents (chat), input (embeddings, moderation), prompt."""
    out: list[str] = []
    for message in getattr(request, "messages", None) or ():
        _content_text(getattr(message, "content", None), out)
    for name in ("input", "prompt", "query"):
        value = getattr(request, name, None)
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, str))
    return "\n".join(out)


def estimate_tokens(request: Any) -> int:
    """A rough prompt size in tokens: characters / 4 (at least 1)."""
    return max(1, len(request_text(request)) // 4)


class _Window:
    __slots__ = ("entries", "tokens")

    def __init__(self) -> None:
        self.entries: deque[list[float]] = deque()  # [admitted at, tokens]
        self.tokens = 0.0


class RateLimiter:
    """The ``rate_limit`` built-in: one sliding window per model (``provider/model``)."""

    def __init__(self, config: RateLimitConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.rpm = config.rpm
        self.tpm = config.tpm
        self.window_seconds = config.window_seconds if config.window_seconds > 0 else 60.0
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}

    def _expire(self, window: _Window, now: float) -> None:
        horizon = now - self.window_seconds
        entries = window.entries
        while entries and entries[0][0] <= horizon:
            gone = entries.popleft()
            window.tokens -= gone[1]
            gone.append(0.0)  # marks the entry as out of the window
        if not entries:
            window.tokens = 0.0

    def _wait(self, window: _Window, now: float, tokens: float) -> float:
        entries = window.entries
        if not entries:
            return 0.0
        wait = 0.0
        if self.rpm is not None and len(entries) >= self.rpm:
            oldest = entries[len(entries) - self.rpm][0]
            wait = max(wait, oldest + self.window_seconds - now)
        if self.tpm is not None and window.tokens + tokens > self.tpm:
            # wait until enough of the oldest entries have left the window
            excess = window.tokens + tokens - self.tpm
            freed = 0.0
            for admitted, used in entries:
                freed += used
                if freed >= excess:
                    wait = max(wait, admitted + self.window_seconds - now)
                    break
            else:
                wait = max(wait, entries[-1][0] + self.window_seconds - now)
        return max(wait, 0.0)

    @hookimpl
    def throttle(self, call: Call) -> float | None:
        """Seconds the call must wait; ``None`` once it is admitted (and counted)."""
        if self.rpm is None and self.tpm is None:
            return None
        key = model_key(call)
        estimate = float(estimate_tokens(call.request)) if self.tpm is not None else 0.0
        with self._lock:
            now = self._clock()
            window = self._windows.get(key)
            if window is None:
                window = self._windows[key] = _Window()
            self._expire(window, now)
            wait = self._wait(window, now, estimate)
            if wait > 0:
                return wait
            entry = [now, estimate]
            window.entries.append(entry)
            window.tokens += estimate
        call.state["rate_limit_entry"] = (key, entry)
        return None

    @hookimpl
    def on_response(self, call: Call, response: Any) -> None:
        """Replace the token estimate by the provider's reported usage."""
        held = call.state.pop("rate_limit_entry", None)
        usage = getattr(response, "usage", None)
        if held is None or usage is None or self.tpm is None:
            return
        key, entry = held
        actual = float(usage.total_tokens or (usage.prompt_tokens or 0) + (usage.completion_tokens or 0))
        with self._lock:
            window = self._windows.get(key)
            if window is not None and len(entry) == 2:  # still in the window
                window.tokens += actual - entry[1]
                entry[1] = actual
