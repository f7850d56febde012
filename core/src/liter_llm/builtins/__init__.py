"""The core's built-in plugins (cost, budget, cache, rate limit, cooldown, logging), registered per client.

Each built-in is an ordinary plugin object built from the client's
configuration and registered on every hook relay of that client, so a user
can read it, disable it by name (``create_client(disable_plugins=["cache"])``)
and register a replacement through ``hooks=[...]``.

========== ======================================= ===============================================
name       switched on by                          hooks
========== ======================================= ===============================================
cost       ``cost_tracking = true``                on_response (tryfirst): sets ``response.cost``
budget     ``budget = {...}``                      check_budget, on_response
cache      ``cache = {...}``                       cached_response, on_response (trylast)
rate_limit ``rate_limit = {...}``                  throttle, on_response
cooldown   ``cooldown_secs = N``                   on_request (tryfirst), on_error, on_response
logging    always (off with ``disable_plugins``)   wrap_call: one ``llm_call`` event per call
========== ======================================= ===============================================

Fallbacks (``fallbacks = [...]``) are not a hook: the client tries the next
model itself, in the call flow (:func:`liter_llm._pipeline.call_flow`).
"""

from __future__ import annotations

from typing import Any

from liter_llm.clock import SYSTEM_CLOCK, Clock
from liter_llm.config import ClientConfig

__all__ = ["BUILTIN_NAMES", "builtin_plugins"]

#: The names of the built-in plugins, for ``disable_plugins``.
BUILTIN_NAMES = ("cost", "budget", "cache", "rate_limit", "cooldown", "logging")


def builtin_plugins(config: ClientConfig, clock: Clock = SYSTEM_CLOCK) -> list[tuple[str, Any]]:
    """The built-in plugins a client with ``config`` registers, as ``(name, plugin)`` pairs.

    Only the features the configuration switches on are built; each module is
    imported only then.  ``clock`` gives the rate limit its windows, the
    in-memory cache its time to live and the cooldown its expiry.
    """
    plugins: list[tuple[str, Any]] = []
    if config.cost_tracking:
        from liter_llm.builtins.cost import CostTracker

        plugins.append(("cost", CostTracker()))
    if config.budget is not None:
        from liter_llm.builtins.budget import Budget

        plugins.append(("budget", Budget(config.budget)))
    if config.cache is not None:
        from liter_llm.builtins.cache import ResponseCache

        plugins.append(("cache", ResponseCache(config.cache, clock=clock.monotonic)))
    if config.rate_limit is not None and (config.rate_limit.rpm is not None or config.rate_limit.tpm is not None):
        from liter_llm.builtins.rate_limit import RateLimiter

        plugins.append(("rate_limit", RateLimiter(config.rate_limit, clock=clock.monotonic)))
    if config.cooldown_secs:
        from liter_llm.builtins.fallbacks import Cooldown

        plugins.append(("cooldown", Cooldown(config.cooldown_secs, clock=clock.monotonic)))
    from liter_llm.builtins.log import CallLogger

    plugins.append(("logging", CallLogger()))
    return plugins
