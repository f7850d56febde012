"""The response cache on Redis (``cache.backend = "redis"``): shared by every process, with a TTL and a size bound.

Values are the JSON the core's cache stores, under
``<prefix>{cache}:<sha256 of the canonical request>`` (the key never holds the
API key: see :func:`liter_llm.builtins.cache.cache_key`), with Redis' own
expiry for ``ttl_seconds``.  ``max_entries`` is kept by an index (a sorted
set by time of writing): one Lua script writes the entry and drops the oldest
past the bound, so concurrent writers cannot pass it.  Any Redis failure is
raised to the core's cache, which serves the call uncached (a cache always
fails open) and logs it once.
"""

from __future__ import annotations

import time

from liter_llm.config import CacheConfig, RedisConfig
from liter_llm_redis.store import RedisStore

__all__ = ["RedisCache"]

# KEYS: entry, index;  ARGV: value, ttl_ms (0: none), max_entries, now (ms), prefix
_SET = """
local ttl = tonumber(ARGV[2])
if ttl > 0 then redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl) else redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('ZADD', KEYS[2], tonumber(ARGV[4]), KEYS[1])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if over > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #oldest, 2 do redis.call('DEL', oldest[i]) end
end
return 1
"""

_DELETE = """
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], KEYS[1])
return 1
"""

_CLEAR = """
local keys = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, key in ipairs(keys) do redis.call('DEL', key) end
redis.call('DEL', KEYS[1])
return #keys
"""


class RedisCache:
    """A :class:`~liter_llm.builtins.cache.CacheBackend` in Redis, shared by every process.

    The sync client uses its blocking methods; the async client awaits
    ``aget`` / ``aset`` / ``adelete`` (redis.asyncio), so its event loop is
    never blocked.  Every command is bounded by the ``[redis]`` block's
    ``timeout_secs``.
    """

    def __init__(self, config: CacheConfig, redis: RedisConfig) -> None:
        self.max_entries = config.max_entries
        self.store = RedisStore(redis)
        self._index = self.store.key("cache", "index")

    def __repr__(self) -> str:
        return f"RedisCache({self.store.where!r}, max_entries={self.max_entries})"

    def _key(self, key: str) -> str:
        return self.store.key("cache", key)

    def get(self, key: str) -> bytes | None:
        """The value under ``key``, or ``None`` (missing or expired)."""
        value = self.store.run(lambda client: client.get(self._key(key)))
        if value is None:
            return None
        return value if isinstance(value, bytes) else str(value).encode("utf-8")

    def set(self, key: str, value: bytes, ttl_seconds: float | None) -> None:
        """Store ``value`` for ``ttl_seconds`` (``None``/0: no expiry); the oldest entries go past ``max_entries``."""
        if self.max_entries <= 0:
            return
        ttl_ms = max(1, int(ttl_seconds * 1000)) if ttl_seconds else 0
        now_ms = int(time.time() * 1000)
        self.store.run(
            lambda client: client.eval(_SET, 2, self._key(key), self._index, value, ttl_ms, self.max_entries, now_ms)
        )

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        full = self._key(key)
        self.store.run(lambda client: client.eval(_DELETE, 2, full, self._index))

    async def aget(self, key: str) -> bytes | None:
        """:meth:`get` on the event loop's asyncio client (the async client awaits it)."""
        value = await self.store.arun(lambda client: client.get(self._key(key)))
        if value is None:
            return None
        return value if isinstance(value, bytes) else str(value).encode("utf-8")

    async def aset(self, key: str, value: bytes, ttl_seconds: float | None) -> None:
        """:meth:`set` on the event loop's asyncio client."""
        if self.max_entries <= 0:
            return
        ttl_ms = max(1, int(ttl_seconds * 1000)) if ttl_seconds else 0
        now_ms = int(time.time() * 1000)
        await self.store.arun(
            lambda client: client.eval(_SET, 2, self._key(key), self._index, value, ttl_ms, self.max_entries, now_ms)
        )

    async def adelete(self, key: str) -> None:
        """:meth:`delete` on the event loop's asyncio client."""
        full = self._key(key)
        await self.store.arun(lambda client: client.eval(_DELETE, 2, full, self._index))

    def clear(self) -> None:
        """Remove every entry this cache wrote (under its key prefix)."""
        self.store.run(lambda client: client.eval(_CLEAR, 1, self._index))

    def __len__(self) -> int:
        return int(self.store.run(lambda client: client.zcard(self._index)))
