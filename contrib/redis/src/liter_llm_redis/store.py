"""The connection shared by the Redis backends: sync and asyncio clients, key names, timeouts, outages.

Every Redis command is bounded by ``timeout_secs`` (connect and read); only a
closed connection is tried again, once, on a new one (a Redis that restarted),
never a timeout: an outage is known within twice that bound, never a hang.  The pool
reconnects by itself on the next command once Redis is back.  A failure
becomes :class:`RedisUnavailableError` (a
:class:`~liter_llm.errors.ServiceUnavailableError`, code
``"redis_unavailable"``) naming Redis and the server, never its password.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis
import redis.asyncio
import redis.asyncio.retry
import redis.backoff
import redis.retry

from liter_llm.config import RedisConfig
from liter_llm.errors import ServiceUnavailableError

__all__ = ["REDIS_UNAVAILABLE", "OutageLog", "RedisStore", "RedisUnavailableError"]

#: The ``code`` of the error raised when Redis cannot be reached (``on_outage = "fail_closed"``).
REDIS_UNAVAILABLE = "redis_unavailable"

T = TypeVar("T")

#: A pooled connection that Redis closed (it restarted) is tried once more on a new one; never a timeout.
_RETRIED = (redis.ConnectionError,)


class RedisUnavailableError(ServiceUnavailableError):
    """Redis could not be reached within ``timeout_secs`` (or refused the command)."""


def _where(url: str) -> str:
    """``host:port/db`` of a Redis URL, without any user name or password."""
    try:
        parts = urlsplit(url)
        if parts.scheme == "unix":
            return parts.path or "unix socket"
        host = parts.hostname or "127.0.0.1"
        return f"{host}:{parts.port or 6379}{parts.path or ''}"
    except ValueError:
        return "redis"


class OutageLog:
    """Logs an outage once (and the recovery once), per feature."""

    def __init__(self, feature: str, where: str) -> None:
        self.feature = feature
        self.where = where
        self.down = False
        self._lock = threading.Lock()

    def failed(self, error: BaseException, policy: str) -> None:
        """Redis failed: the first failure of a run is logged (WARNING ``redis_unavailable``)."""
        from liter_llm.wire import get_logger

        with self._lock:
            first = not self.down
            self.down = True
        if first:
            get_logger().warning(
                "redis_unavailable",
                feature=self.feature,
                redis=self.where,
                on_outage=policy,
                error=f"{type(error).__name__}: {error}",
            )

    def worked(self) -> None:
        """Redis answered: after an outage, ``redis_recovered`` is logged once."""
        if not self.down:
            return
        from liter_llm.wire import get_logger

        with self._lock:
            was = self.down
            self.down = False
        if was:
            get_logger().warning("redis_recovered", feature=self.feature, redis=self.where)


class RedisStore:
    """One Redis for one client: a sync client, an asyncio client per event loop, and the key names.

    Keys are ``<key_prefix>{<feature>}:<name>``: the hash tag puts every key of
    one feature (and so every key one Lua script touches) in one Redis Cluster
    slot.
    """

    def __init__(self, config: RedisConfig) -> None:
        self.config = config
        self.prefix = config.key_prefix
        self.timeout = config.timeout_secs
        self.where = _where(config.url)
        self._sync: redis.Redis | None = None
        self._async: tuple[asyncio.AbstractEventLoop, redis.asyncio.Redis] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RedisStore({self.where!r}, prefix={self.prefix!r})"

    def key(self, feature: str, *parts: str) -> str:
        """The key of ``parts`` under ``feature``'s hash tag."""
        return ":".join((f"{self.prefix}{{{feature}}}", *parts))

    # -- clients -----------------------------------------------------------
    @property
    def sync(self) -> redis.Redis:
        """The blocking client (created on first use; connecting happens on the first command)."""
        client = self._sync
        if client is None:
            with self._lock:
                if self._sync is None:
                    self._sync = redis.Redis.from_url(
                        self.config.url,
                        socket_timeout=self.timeout,
                        socket_connect_timeout=self.timeout,
                        retry=redis.retry.Retry(redis.backoff.NoBackoff(), 1, supported_errors=_RETRIED),
                        retry_on_timeout=False,
                    )
                client = self._sync
        return client

    def aclient(self) -> redis.asyncio.Redis:
        """The asyncio client of the running event loop (one per loop: its connections belong to it)."""
        loop = asyncio.get_running_loop()
        held = self._async
        if held is None or held[0] is not loop:
            client = redis.asyncio.Redis.from_url(
                self.config.url,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                retry=redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), 1, supported_errors=_RETRIED),
                retry_on_timeout=False,
            )
            self._async = held = (loop, client)
        return held[1]

    # -- running commands ------------------------------------------------------
    def error(self, exc: BaseException, feature: str) -> RedisUnavailableError:
        """The error a failed Redis command becomes."""
        return RedisUnavailableError(
            f"Redis at {self.where} is unavailable for the {feature} ({type(exc).__name__}: {exc}); "
            f'the call was refused (on_outage = "fail_closed")',
            code=REDIS_UNAVAILABLE,
        )

    def run(self, command: Callable[[redis.Redis], T]) -> T:
        """Run ``command(client)`` on the blocking client; a Redis failure raises ``redis.RedisError``."""
        return command(self.sync)

    async def arun(self, command: Callable[[redis.asyncio.Redis], Awaitable[T]]) -> T:
        """Await ``command(client)`` on the loop's client, bounded by ``timeout_secs`` as a whole."""
        client = self.aclient()
        try:
            return await asyncio.wait_for(command(client), self.timeout * 3)
        except asyncio.TimeoutError as exc:
            raise redis.TimeoutError(f"no answer within {self.timeout} s") from exc

    def close(self) -> None:
        """Close the blocking client's connections (the asyncio ones go with their loop)."""
        with self._lock:
            client, self._sync = self._sync, None
        if client is not None:
            client.close()


#: What a Redis command failure is: connection, timeout, a script error, a READONLY replica...
REDIS_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, OSError)


def is_redis_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure of Redis (not of liter-llm)."""
    return isinstance(exc, REDIS_ERRORS)


def policy_of(feature_policy: str | None, config: RedisConfig) -> str:
    """The outage policy of a feature: its own ``on_outage``, else the ``[redis]`` block's."""
    return feature_policy or config.on_outage


def noop(*_args: Any) -> None:
    """Nothing (a placeholder callback)."""
