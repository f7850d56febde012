"""Cache: chat and embedding responses answered from memory (or a contrib backend).

``cache = {max_entries, ttl_seconds, backend}``.  The key is the SHA-256 of
the canonical request: the operation, the provider, the model as it goes on
the wire and the request's ``to_dict()`` with sorted keys -- every parameter
that changes the answer, never the API key.  Errors are never stored;
streams bypass the cache.  A backend that fails (a Redis outage) never
fails a call: the failure is logged once (``cache_backend_failed``) and calls
are served uncached until it works again.  A hit makes no network call, comes back with
``cache_hit = True`` (and ``cost = 0.0`` when costs are tracked), and is
logged as a ``cache_hit`` event.  Entries are stored as JSON, so a caller
that changes a response it got cannot change what the cache holds.

Backends implement :class:`CacheBackend` over ``bytes`` values and are
chosen by name; ``"memory"`` (an LRU with a TTL) is built in, others are
added with :func:`register_cache_backend`.  A backend that also has
``aget`` / ``aset`` / ``adelete`` coroutines (the Redis one) is awaited by
the async client, which then never blocks its event loop on it: the look-up
is an :class:`~liter_llm.hookspecs.Effect`, the write a task on the loop
(``await cache.drain()`` waits for those still running).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from liter_llm._log import get_logger, is_enabled
from liter_llm.errors import BadRequestError
from liter_llm.hookspecs import Effect, hookimpl
from liter_llm.operations import OPERATIONS, field_of

if TYPE_CHECKING:
    from liter_llm._call import Call
    from liter_llm.config import CacheConfig, ClientConfig

__all__ = [
    "CACHED_OPERATIONS",
    "CacheBackend",
    "MemoryCache",
    "ResponseCache",
    "cache_backends",
    "cache_key",
    "register_cache_backend",
]

#: The operations whose answers are cached.
CACHED_OPERATIONS = frozenset(name for name in OPERATIONS if field_of(name, "cacheable"))


@runtime_checkable
class CacheBackend(Protocol):
    """Storage for cached responses (JSON bytes), safe under concurrency."""

    def get(self, key: str) -> bytes | None:
        """The value stored under ``key``, or ``None`` (missing or expired)."""

    def set(self, key: str, value: bytes, ttl_seconds: float | None) -> None:
        """Store ``value`` under ``key`` for ``ttl_seconds`` (``None``/0: no expiry)."""

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""

    def clear(self) -> None:
        """Remove everything."""


class MemoryCache:
    """An in-process LRU cache with a time to live, under a lock."""

    def __init__(self, max_entries: int = 1000, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._data: OrderedDict[str, tuple[float | None, bytes]] = OrderedDict()

    def get(self, key: str) -> bytes | None:
        """The value under ``key``, refreshed as most recently used; ``None`` if missing or expired."""
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            expires, value = entry
            if expires is not None and self._clock() >= expires:
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return value

    def set(self, key: str, value: bytes, ttl_seconds: float | None) -> None:
        """Store ``value``; the least recently used entries go when ``max_entries`` is passed."""
        if self.max_entries <= 0:
            return
        expires = self._clock() + ttl_seconds if ttl_seconds else None
        with self._lock:
            self._data[key] = (expires, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        """Remove everything."""
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)


BackendFactory = Callable[..., CacheBackend]


def _memory_backend(config: CacheConfig) -> CacheBackend:
    return MemoryCache(config.max_entries)


_backends: dict[str, BackendFactory] = {"memory": _memory_backend}
_backends_lock = threading.Lock()


def register_cache_backend(name: str, factory: BackendFactory) -> None:
    """Make a cache backend available as ``cache.backend = name``.

    ``factory(cache_config)`` (or ``factory(cache_config, client_config)``, for
    a backend that reads other settings such as ``[redis]``) builds the backend
    for a client.  A backend of the
    same name is replaced.  Contrib packages (a Redis cache, say) call this
    when imported.
    """
    if not isinstance(name, str) or not name.strip():
        raise BadRequestError("register_cache_backend: a non-empty name is required")
    if not callable(factory):
        raise BadRequestError("register_cache_backend: factory must be callable")
    with _backends_lock:
        _backends[name] = factory


def cache_backends() -> list[str]:
    """The names of the available cache backends."""
    with _backends_lock:
        return sorted(_backends)


def _takes_client_config(factory: BackendFactory) -> bool:
    """Whether ``factory`` accepts ``(cache_config, client_config)`` (a backend that needs ``[redis]``)."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in parameters)


def cache_key(call: Call) -> str:
    """The SHA-256 (hex) of the canonical request: operation, provider, wire model, request fields."""
    request = call.request
    body = request.to_dict() if hasattr(request, "to_dict") else request
    canonical = json.dumps(
        {"operation": call.operation, "provider": call.provider.name, "model": call.model, "request": body},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    """The ``cache`` built-in: answers repeated chat and embed calls from a :class:`CacheBackend`."""

    def __init__(
        self,
        config: CacheConfig,
        backend: CacheBackend | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        client_config: ClientConfig | None = None,
    ) -> None:
        self.ttl_seconds = config.ttl_seconds
        if backend is None and config.backend == "memory" and _backends.get("memory") is _memory_backend:
            backend = MemoryCache(config.max_entries, clock=clock)  # the built-in one, on the client's clock
        if backend is None:
            with _backends_lock:
                factory = _backends.get(config.backend)
            if factory is None:
                from liter_llm.builtins import load_backend

                if load_backend(config.backend):
                    with _backends_lock:
                        factory = _backends.get(config.backend)
            if factory is None:
                raise BadRequestError(
                    f"cache.backend: unknown cache backend {config.backend!r}; available: {', '.join(cache_backends())}"
                )
            backend = factory(config, client_config) if _takes_client_config(factory) else factory(config)
        self.backend: CacheBackend = backend
        self._failing = False  # a backend outage is logged once, until the backend works again
        self._pending: set[asyncio.Task[Any]] = set()

    def clear(self) -> None:
        """Empty the cache."""
        self.backend.clear()

    def _backend(self, operation: str, *args: Any) -> Any:
        """Run one backend operation; a failure (a Redis outage) is logged once and counts as a miss."""
        try:
            result = getattr(self.backend, operation)(*args)
        except Exception as exc:
            return self._failed(operation, exc)
        return self._worked(result)

    async def _abackend(self, operation: str, *args: Any) -> Any:
        """:meth:`_backend` for an async backend's coroutine (``aget``, ``aset``, ``adelete``)."""
        try:
            result = await getattr(self.backend, operation)(*args)
        except Exception as exc:
            return self._failed(operation, exc)
        return self._worked(result)

    def _failed(self, operation: str, exc: Exception) -> None:
        if not self._failing:
            self._failing = True
            get_logger().warning(
                "cache_backend_failed",
                operation=operation,
                backend=type(self.backend).__name__,
                error=f"{type(exc).__name__}: {exc}",
                note="calls are served uncached until the backend works again",
            )

    def _worked(self, result: Any) -> Any:
        if self._failing:
            self._failing = False
            get_logger().warning("cache_backend_recovered", backend=type(self.backend).__name__)
        return result

    @property
    def _is_async_backend(self) -> bool:
        return all(callable(getattr(self.backend, name, None)) for name in ("aget", "aset", "adelete"))

    @hookimpl
    def cached_response(self, call: Call) -> Any | None:
        """Return a fresh copy of the stored answer, marked ``cache_hit``, or ``None``.

        On the async client with an async backend: an Effect whose value is that answer.
        """
        if not call.op.cacheable or call.request is None:
            return None
        key = cache_key(call)
        call.state["cache_key"] = key
        if call.is_async and self._is_async_backend:

            def run() -> Any:
                return self._hit(call, key, self._backend("get", key))

            async def arun() -> Any:
                stored = await self._abackend("aget", key)
                response = self._hit(call, key, stored, delete=False)
                if response is None and stored is not None:
                    await self._abackend("adelete", key)
                return response

            return Effect(run, arun)
        return self._hit(call, key, self._backend("get", key))

    def _hit(self, call: Call, key: str, stored: Any, *, delete: bool = True) -> Any | None:
        if stored is None:
            return None
        try:
            response = call.op.response_type.from_json(stored)
        except Exception:  # a corrupt entry is a miss, and goes
            if delete:
                self._backend("delete", key)
            return None
        response.cache_hit = True
        if is_enabled(20):
            get_logger().info(
                "cache_hit", provider=call.provider.name, model=call.model, operation=call.operation, key=key[:16]
            )
        return response

    @hookimpl(trylast=True)
    def on_response(self, call: Call, response: Any) -> None:
        """Store a fresh (non-cached, non-streamed) chat or embed answer."""
        if call.cache_hit or not call.op.cacheable:
            return
        key = call.state.get("cache_key")
        if key is None:
            return
        stored_cost = getattr(response, "cost", None)
        data = response.to_dict()
        data.pop("cache_hit", None)
        if stored_cost is not None:
            data["cost"] = stored_cost
        encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if call.is_async and self._is_async_backend:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (a stream finished off the loop): not stored
                return
            task = loop.create_task(self._abackend("aset", key, encoded, self.ttl_seconds))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            return
        self._backend("set", key, encoded, self.ttl_seconds)

    async def drain(self) -> None:
        """Wait for the writes the async client scheduled on an async backend."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
