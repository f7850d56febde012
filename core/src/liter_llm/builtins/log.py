"""The ``logging`` built-in: one structured ``llm_call`` event per call, written on the ``wrap_call`` hook.

Registered on every client (leave it out with ``disable_plugins=["logging"]``).
At the end of each call it logs, through structlog on the standard library's
``liter_llm`` logger:

* ``llm_call`` at INFO when the call succeeded (a stream: when it ended),
* ``llm_call`` at WARNING when it failed (with ``error``),
* ``llm_call`` at INFO with ``outcome="closed"`` for a stream closed before its end,

with ``provider``, ``model``, ``operation``, ``outcome``, ``attempts``,
``latency_ms``, ``cache_hit`` and, where the answer has usage, ``prompt_tokens``
and ``completion_tokens``.  Each attempt is still logged by the core as
``llm_attempt`` (DEBUG, WARNING when it failed).  The plugin takes part in a
call only when the ``liter_llm`` logger is on for INFO (it is off by default,
like any logger under a WARNING root): then a call costs nothing extra and a
stream is not assembled for it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from liter_llm._log import get_logger, is_enabled
from liter_llm.errors import LiterLlmError
from liter_llm.hookspecs import hookimpl

if TYPE_CHECKING:
    from liter_llm._call import Call

__all__ = ["CallLogger"]


class CallLogger:
    """Logs one ``llm_call`` event per call (see the module docstring)."""

    @hookimpl
    def wrap_call(self, call: Call) -> Generator[None, Any, None] | None:
        """Time the call and log its outcome; ``None`` (no part in the call) unless the logger is on for INFO."""
        if not is_enabled(logging.INFO):
            return None
        return self._span(call)

    def _span(self, call: Call) -> Generator[None, Any, None]:
        started = time.monotonic()
        outcome = "closed"
        level = logging.INFO
        fields: dict[str, Any] = {}
        try:
            response = yield
            outcome = "ok"
            usage = getattr(response, "usage", None)
            if usage is not None:
                fields["prompt_tokens"] = getattr(usage, "prompt_tokens", None)
                fields["completion_tokens"] = getattr(usage, "completion_tokens", None)
        except LiterLlmError as error:
            outcome = "error"
            level = logging.WARNING
            fields["error"] = f"{type(error).__name__}: {error.message}"
            raise
        finally:
            if is_enabled(level):
                get_logger().log(
                    level,
                    "llm_call",
                    provider=call.provider.name,
                    model=call.model,
                    operation=call.operation,
                    outcome=outcome,
                    attempts=call.attempt + 1,
                    cache_hit=call.cache_hit,
                    latency_ms=round((time.monotonic() - started) * 1000, 2),
                    **fields,
                )
