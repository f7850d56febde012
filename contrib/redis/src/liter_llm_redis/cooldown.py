"""Cooldowns shared by every process (when a ``[redis]`` block is configured with ``cooldown_secs``).

A provider that failed ``threshold`` times in a row (counted in Redis, by
every process) is cooled down in Redis for ``cooldown_secs``: every process
skips it (``ServiceUnavailableError``, code ``"cooldown"``) until the key
expires.  A router target (``models``) is counted and cooled down on its
own (:func:`~liter_llm.builtins.fallbacks.cooldown_key`), shared alike.
The check needs Redis, and hooks do no I/O, so it runs in
``check_budget`` as an :class:`~liter_llm.hookspecs.Effect` (awaited on the
async client) rather than in ``on_request``.  A cooldown is advisory: when
Redis is down the check lets the call go, and the in-process
:class:`~liter_llm.builtins.fallbacks.Cooldown` keeps counting.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from liter_llm.builtins.fallbacks import (
    COOLDOWN_CODE,
    COOLDOWN_THRESHOLD,
    Cooldown,
    cooldown_key,
    cooldown_subject,
    is_fallback_error,
)
from liter_llm.clock import SYSTEM_CLOCK, Clock
from liter_llm.config import RedisConfig
from liter_llm.errors import LiterLlmError, RateLimitedError, ServiceUnavailableError
from liter_llm.hookspecs import Effect, hookimpl
from liter_llm.wire import get_logger
from liter_llm_redis.store import REDIS_UNAVAILABLE, OutageLog, RedisStore

if TYPE_CHECKING:
    from liter_llm import Call

__all__ = ["RedisCooldown"]

# KEYS: failures, until;  ARGV: threshold, cooldown_ms
_FAILED = """
local count = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], math.max(tonumber(ARGV[2]) * 2, 60000))
if count >= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], '1', 'PX', tonumber(ARGV[2]))
  return 1
end
return 0
"""


class RedisCooldown:
    """The ``cooldown`` built-in with its state in Redis."""

    def __init__(
        self, cooldown_secs: float, redis: RedisConfig, threshold: int = COOLDOWN_THRESHOLD, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.cooldown_secs = cooldown_secs
        self.threshold = threshold
        self.store = RedisStore(redis)
        self.local = Cooldown(cooldown_secs, threshold, clock=clock.monotonic)
        self._outage = OutageLog("cooldown", self.store.where)
        self._pending: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:
        return f"RedisCooldown({self.store.where!r}, cooldown_secs={self.cooldown_secs!r})"

    def _keys(self, provider: str) -> tuple[str, str]:
        """The Redis keys of a cooldown subject (a provider's name, or a router target's :func:`cooldown_key`)."""
        return self.store.key("cooldown", provider, "failures"), self.store.key("cooldown", provider, "until")

    def _refuse(self, call: Call, left_ms: Any) -> None:
        self._outage.worked()
        left = int(left_ms) / 1000
        if left > 0:
            raise ServiceUnavailableError(
                f"{cooldown_subject(call)} is cooling down after {self.threshold} consecutive failures "
                f"({left:.1f} s left, shared through Redis); skipped without sending",
                provider=call.provider.name,
                code=COOLDOWN_CODE,
                retry_after=left,
            )
        self.local.on_request(call)

    def _unreachable(self, exc: Exception, call: Call) -> None:
        if isinstance(exc, LiterLlmError):
            raise exc
        self._outage.failed(exc, "fail_open")
        self.local.on_request(call)

    @hookimpl(tryfirst=True)
    def check_budget(self, call: Call) -> Effect:
        """Refuse a call to a provider cooling down in any process (ServiceUnavailableError, code "cooldown")."""
        until = self._keys(cooldown_key(call))[1]

        def run() -> None:
            try:
                left = self.store.run(lambda client: client.pttl(until))
            except Exception as exc:
                self._unreachable(exc, call)
                return
            self._refuse(call, left)

        async def arun() -> None:
            try:
                left = await self.store.arun(lambda client: client.pttl(until))
            except Exception as exc:
                self._unreachable(exc, call)
                return
            self._refuse(call, left)

        return Effect(run, arun)

    def _schedule(self, call: Call, sync: Any, coroutine: Any) -> None:
        if call.is_async:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                coroutine.close()
                return
            task = loop.create_task(coroutine)
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
        else:
            coroutine.close()
            sync()

    async def drain(self) -> None:
        """Wait for the updates the async client scheduled."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    @hookimpl
    def on_error(self, call: Call, error: LiterLlmError) -> None:
        """Count a retryable failure in Redis; the threshold-th in a row cools the provider down everywhere."""
        if error.code in (COOLDOWN_CODE, REDIS_UNAVAILABLE) or not is_fallback_error(error):
            return
        if isinstance(error, RateLimitedError) and error.status_code is None:
            return  # the client's own rate limit, not the provider's
        self.local.on_error(call, error)
        name = call.provider.name
        keys = self._keys(cooldown_key(call))
        args = (self.threshold, max(1, int(self.cooldown_secs * 1000)))

        def started(result: Any) -> None:
            self._outage.worked()
            if int(result):
                get_logger().warning("provider_cooldown", provider=name, seconds=self.cooldown_secs, shared=True)

        def sync() -> None:
            try:
                started(self.store.run(lambda client: client.eval(_FAILED, 2, *keys, *args)))
            except Exception as exc:
                self._outage.failed(exc, "fail_open")

        async def run() -> None:
            try:
                started(await self.store.arun(lambda client: client.eval(_FAILED, 2, *keys, *args)))
            except Exception as exc:
                self._outage.failed(exc, "fail_open")

        self._schedule(call, sync, run())

    @hookimpl
    def on_response(self, call: Call) -> None:
        """A success ends the run of failures, in every process."""
        if call.cache_hit:
            return
        self.local.on_response(call)
        failures = self._keys(cooldown_key(call))[0]

        def sync() -> None:
            try:
                self.store.run(lambda client: client.delete(failures))
            except Exception as exc:
                self._outage.failed(exc, "fail_open")

        async def run() -> None:
            try:
                await self.store.arun(lambda client: client.delete(failures))
            except Exception as exc:
                self._outage.failed(exc, "fail_open")

        self._schedule(call, sync, run())
