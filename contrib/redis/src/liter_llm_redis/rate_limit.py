"""rpm and tpm per model on Redis: an exact sliding window log, in one Lua script.

Each admitted call is an entry (its id, scored by the time it was admitted, and
its tokens) in ``<prefix>{rate_limit:<model>}:entries`` / ``:tokens``.  The
script drops the entries older than the window, then admits the call (and
records it) or answers how long it must wait: until the oldest entry that
keeps the window full leaves it.  The token estimate (``len(text) / 4``) is
replaced by the provider's ``usage.total_tokens`` when the answer arrives.
Time is the client's clock (``clock.time()``, wall time: machines sharing a
limit need synchronised clocks, as NTP gives).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

from liter_llm.builtins.budget import model_key
from liter_llm.builtins.rate_limit import RateLimiter, estimate_tokens
from liter_llm.clock import SYSTEM_CLOCK, Clock
from liter_llm.config import RateLimitConfig, RedisConfig
from liter_llm.errors import LiterLlmError
from liter_llm.hookspecs import Effect, hookimpl
from liter_llm_redis.store import OutageLog, RedisStore, is_redis_error, policy_of

if TYPE_CHECKING:
    from liter_llm import Call

__all__ = ["RedisRateLimiter"]

# KEYS: entries (zset id -> admitted at, ms), tokens (hash id -> tokens, __total__)
# ARGV: now_ms, window_ms, rpm ('' none), tpm ('' none), id, estimate
_ADMIT = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - window)
for _, id in ipairs(gone) do
  local used = tonumber(redis.call('HGET', KEYS[2], id) or '0')
  if used ~= 0 then redis.call('HINCRBY', KEYS[2], '__total__', -used) end
  redis.call('HDEL', KEYS[2], id)
end
if #gone > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window) end
local count = redis.call('ZCARD', KEYS[1])
local estimate = tonumber(ARGV[6])
local wait = 0
if count > 0 then
  if ARGV[3] ~= '' and count >= tonumber(ARGV[3]) then
    local index = count - tonumber(ARGV[3])
    local oldest = redis.call('ZRANGE', KEYS[1], index, index, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now)
  end
  if ARGV[4] ~= '' then
    local total = tonumber(redis.call('HGET', KEYS[2], '__total__') or '0')
    local excess = total + estimate - tonumber(ARGV[4])
    if excess > 0 then
      local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
      local freed, at = 0, nil
      for i = 1, #entries, 2 do
        freed = freed + tonumber(redis.call('HGET', KEYS[2], entries[i]) or '0')
        at = tonumber(entries[i + 1])
        if freed >= excess then break end
      end
      wait = math.max(wait, at + window - now)
    end
  end
end
if wait > 0 then return wait end
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('HSET', KEYS[2], ARGV[5], estimate)
redis.call('HINCRBY', KEYS[2], '__total__', estimate)
redis.call('PEXPIRE', KEYS[1], window * 2)
redis.call('PEXPIRE', KEYS[2], window * 2)
return 0
"""

# KEYS: tokens;  ARGV: id, actual
_CORRECT = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local delta = tonumber(ARGV[2]) - tonumber(old)
if delta ~= 0 then redis.call('HINCRBY', KEYS[1], '__total__', delta) end
return 1
"""


class RedisRateLimiter:
    """The ``rate_limit`` built-in with its windows in Redis (``rate_limit.backend = "redis"``).

    Attributes:
        local: the in-process :class:`~liter_llm.builtins.rate_limit.RateLimiter`
            that serves calls while Redis is down (``on_outage = "fail_open"``).
    """

    def __init__(self, config: RateLimitConfig, redis: RedisConfig, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.rpm = config.rpm
        self.tpm = config.tpm
        self.window_seconds = config.window_seconds if config.window_seconds > 0 else 60.0
        self.on_outage = policy_of(config.on_outage, redis)
        self.store = RedisStore(redis)
        self.local = RateLimiter(config, clock=clock.monotonic)
        self._clock = clock
        self._outage = OutageLog("rate_limit", self.store.where)
        self._pending: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:
        return (
            f"RedisRateLimiter({self.store.where!r}, rpm={self.rpm!r}, tpm={self.tpm!r}, on_outage={self.on_outage!r})"
        )

    def _keys(self, key: str) -> tuple[str, str]:
        feature = f"rate_limit:{key}"
        return self.store.key(feature, "entries"), self.store.key(feature, "tokens")

    def _args(self, call: Call) -> tuple[tuple[str, str], list[Any]]:
        key = model_key(call)
        entry = call.state.get("redis_rate_limit_id") or uuid.uuid4().hex
        call.state["redis_rate_limit_id"] = entry
        estimate = estimate_tokens(call.request) if self.tpm is not None else 0
        args = [
            int(self._clock.time() * 1000),
            int(self.window_seconds * 1000),
            "" if self.rpm is None else self.rpm,
            "" if self.tpm is None else self.tpm,
            entry,
            estimate,
        ]
        return self._keys(key), args

    def _admitted(self, call: Call, keys: tuple[str, str], wait_ms: Any) -> float | None:
        self._outage.worked()
        wait = int(wait_ms) / 1000
        if wait > 0:
            return wait
        call.state["redis_rate_limit"] = (keys[1], call.state.pop("redis_rate_limit_id"))
        return None

    def _outage_or_raise(self, exc: Exception, call: Call) -> float | None:
        if isinstance(exc, LiterLlmError) or not is_redis_error(exc):
            raise exc
        self._outage.failed(exc, self.on_outage)
        if self.on_outage == "fail_closed":
            error = self.store.error(exc, "rate limit")
            error.provider = call.provider.name
            raise error from None
        call.state["redis_rate_limit_local"] = True
        return self.local.throttle(call)

    @hookimpl
    def throttle(self, call: Call) -> Effect | float | None:
        """Admit the call in the shared window, or say how long to wait (an Effect: awaited on the async client)."""
        if call.state.get("redis_rate_limit_local"):
            return self.local.throttle(call)

        def run() -> float | None:
            try:
                keys, args = self._args(call)
                result = self.store.run(lambda client: client.eval(_ADMIT, 2, *keys, *args))
                return self._admitted(call, keys, result)
            except Exception as exc:
                return self._outage_or_raise(exc, call)

        async def arun() -> float | None:
            try:
                keys, args = self._args(call)
                result = await self.store.arun(lambda client: client.eval(_ADMIT, 2, *keys, *args))
                return self._admitted(call, keys, result)
            except Exception as exc:
                return self._outage_or_raise(exc, call)

        return Effect(run, arun)

    async def drain(self) -> None:
        """Wait for the token corrections the async client scheduled."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    @hookimpl
    def on_response(self, call: Call, response: Any) -> None:
        """Replace the token estimate by the provider's reported usage."""
        if call.state.pop("redis_rate_limit_local", False):
            self.local.on_response(call, response)
            return
        held = call.state.pop("redis_rate_limit", None)
        usage = getattr(response, "usage", None)
        if held is None or usage is None or self.tpm is None:
            return
        actual = int(usage.total_tokens or (usage.prompt_tokens or 0) + (usage.completion_tokens or 0))
        tokens_key, entry = held

        def failed(exc: BaseException) -> None:
            self._outage.failed(exc, self.on_outage)

        if call.is_async:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return

            async def correct() -> None:
                try:
                    await self.store.arun(lambda client: client.eval(_CORRECT, 1, tokens_key, entry, actual))
                except Exception as exc:
                    failed(exc)

            task = loop.create_task(correct())
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            return
        try:
            self.store.run(lambda client: client.eval(_CORRECT, 1, tokens_key, entry, actual))
        except Exception as exc:
            failed(exc)
