"""The core's built-in plugins (cost, budget, cache, rate limit, cooldown, logging), registered per client.

Each built-in is an ordinary plugin object built from the client's
configuration and registered on every hook relay of that client, so a user
can read it, disable it by name (``create_client(disable_plugins=["cache"])``)
and register a replacement through ``hooks=[...]``.

========== ======================================= ===============================================
name       switched on by                          hooks
========== ======================================= ===============================================
cost       ``cost_tracking = true``                on_response (tryfirst): sets ``response.cost``
preflight  ``preflight = true``                    on_request: refuses a chat past the context window
budget     ``budget = {...}``                      check_budget, on_response
cache      ``cache = {...}``                       cached_response, on_response (trylast)
rate_limit ``rate_limit = {...}``                  throttle, on_response
cooldown   ``cooldown_secs = N``                   on_request (tryfirst), on_error, on_response
logging    always (off with ``disable_plugins``)   wrap_call: one ``llm_call`` event per call
========== ======================================= ===============================================

One more is registered on every relay, ``trylast``, ahead of these:
``openai_wire`` (:mod:`liter_llm.builtins.openai_wire`), the OpenAI wire
format (build_request for providers that declare that wire, auth,
stream_decoder, parse_response, parse_stream_event).

Backends: ``budget.backend``, ``rate_limit.backend`` and ``cache.backend``
name where the state is kept (``"memory"``, this process, by default).
Another name (``"redis"``) is provided by a contrib package, which calls
:func:`register_backend` (:func:`~liter_llm.builtins.cache.register_cache_backend`
for the cache); a package that declares the name in the ``liter_llm.backends``
entry point group is loaded when a client first asks for it.  When a
``[redis]`` block is configured, a registered ``"redis"`` cooldown backend
shares the cooldowns too.

Fallbacks (``fallbacks = [...]``) are not a hook: the client tries the next
model itself, in the call flow (:func:`liter_llm._flow.call_flow`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from liter_llm.clock import SYSTEM_CLOCK, Clock
from liter_llm.config import ClientConfig
from liter_llm.errors import BadRequestError

__all__ = ["BACKEND_ENTRY_POINTS", "BUILTIN_NAMES", "backends", "builtin_plugins", "load_backend", "register_backend"]

#: The entry point group of packages that provide backends (``redis = "liter_llm_redis:register"``).
BACKEND_ENTRY_POINTS = "liter_llm.backends"
#: The features a backend may replace.
BACKEND_FEATURES = ("budget", "rate_limit", "cooldown")

#: ``factory(config, clock)`` -> the plugin object that replaces the built-in of that feature
BackendFactory = Callable[[ClientConfig, Clock], Any]

_backends: dict[tuple[str, str], BackendFactory] = {}
_backends_lock = threading.Lock()
_loaded: set[str] = set()


def register_backend(feature: str, name: str, factory: BackendFactory) -> None:
    """Make ``name`` available as the backend of ``feature`` (``budget``, ``rate_limit``, ``cooldown``).

    ``factory(client_config, clock)`` builds the plugin that takes the
    built-in's place (same name, same hooks) for one client.  A backend of the
    same feature and name is replaced.
    """
    if feature not in BACKEND_FEATURES:
        raise BadRequestError(f"register_backend: feature must be one of {', '.join(BACKEND_FEATURES)}")
    if not isinstance(name, str) or not name.strip() or name == "memory":
        raise BadRequestError('register_backend: a non-empty name other than "memory" is required')
    if not callable(factory):
        raise BadRequestError("register_backend: factory must be callable")
    with _backends_lock:
        _backends[(feature, name)] = factory


def backends(feature: str) -> list[str]:
    """The backend names available for ``feature`` (``"memory"`` included)."""
    with _backends_lock:
        return sorted({"memory", *(name for kind, name in _backends if kind == feature)})


def load_backend(name: str) -> bool:
    """Load the package that declares ``name`` in the ``liter_llm.backends`` entry points (once).

    Returns whether one was found.  Its entry point is a function called
    with no argument, which registers its backends.
    """
    with _backends_lock:
        if name in _loaded:
            return True
    from importlib import metadata  # only when a backend is asked for

    found = False
    for entry_point in metadata.entry_points(group=BACKEND_ENTRY_POINTS):
        if entry_point.name == name:
            register = entry_point.load()
            register()
            found = True
    if found:
        with _backends_lock:
            _loaded.add(name)
    return found


def _factory(feature: str, name: str, *, required: bool = True) -> BackendFactory | None:
    with _backends_lock:
        factory = _backends.get((feature, name))
    if factory is None and load_backend(name):
        with _backends_lock:
            factory = _backends.get((feature, name))
    if factory is None and required:
        hint = f" (install liter-llm[{name}])" if name == "redis" else ""
        raise BadRequestError(
            f"{feature}.backend: unknown backend {name!r}{hint}; available: {', '.join(backends(feature))}"
        )
    return factory


#: The names of the built-in plugins, for ``disable_plugins``.
BUILTIN_NAMES = ("cost", "preflight", "budget", "cache", "rate_limit", "cooldown", "logging")


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
    if config.preflight:
        from liter_llm.builtins.preflight import Preflight

        plugins.append(("preflight", Preflight()))
    if config.budget is not None and config.budget.backend != "memory":
        plugins.append(("budget", _make("budget", config.budget.backend, config, clock)))
    elif config.budget is not None:
        from liter_llm.builtins.budget import Budget

        plugins.append(("budget", Budget(config.budget, clock=clock.time)))
    if config.cache is not None:
        from liter_llm.builtins.cache import ResponseCache

        plugins.append(("cache", ResponseCache(config.cache, clock=clock.monotonic, client_config=config)))
    limited = config.rate_limit is not None and (config.rate_limit.rpm is not None or config.rate_limit.tpm is not None)
    if limited and config.rate_limit is not None and config.rate_limit.backend != "memory":
        plugins.append(("rate_limit", _make("rate_limit", config.rate_limit.backend, config, clock)))
    elif limited and config.rate_limit is not None:
        from liter_llm.builtins.rate_limit import RateLimiter

        plugins.append(("rate_limit", RateLimiter(config.rate_limit, clock=clock.monotonic)))
    shared_cooldown = _factory("cooldown", "redis") if config.cooldown_secs and config.redis is not None else None
    if shared_cooldown is not None:
        plugins.append(("cooldown", shared_cooldown(config, clock)))
    elif config.cooldown_secs:
        from liter_llm.builtins.fallbacks import Cooldown

        plugins.append(("cooldown", Cooldown(config.cooldown_secs, clock=clock.monotonic)))
    from liter_llm.builtins.log import CallLogger

    plugins.append(("logging", CallLogger()))
    return plugins


def _make(feature: str, name: str, config: ClientConfig, clock: Clock) -> Any:
    factory = _factory(feature, name)
    assert factory is not None
    return factory(config, clock)
