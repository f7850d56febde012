"""Budgets, rate limits, cooldowns and the response cache shared across processes, on Redis.

Install ``liter-llm[redis]`` and name Redis as the backend; nothing needs
importing (the core finds this package through its ``liter_llm.backends``
entry point when a client asks for ``"redis"``)::

    [redis]
    url = "redis://127.0.0.1:6379/0"
    key_prefix = "liter-llm:"
    timeout_secs = 0.5
    on_outage = "fail_closed"   # or "fail_open"; budget.on_outage / rate_limit.on_outage override it

    [budget]
    backend = "redis"
    global_limit = 100.0

    [rate_limit]
    backend = "redis"
    rpm = 60

    [cache]
    backend = "redis"

With ``cooldown_secs`` set, cooldowns are shared too whenever ``[redis]`` is
configured.  See the documentation page "Redis" for the guarantees.
"""

from __future__ import annotations

from typing import Any

from liter_llm.builtins import register_backend
from liter_llm.builtins.cache import register_cache_backend
from liter_llm.clock import Clock
from liter_llm.config import CacheConfig, ClientConfig, RedisConfig
from liter_llm.errors import BadRequestError
from liter_llm_redis.budget import RedisBudget
from liter_llm_redis.cache import RedisCache
from liter_llm_redis.cooldown import RedisCooldown
from liter_llm_redis.rate_limit import RedisRateLimiter
from liter_llm_redis.store import REDIS_UNAVAILABLE, RedisStore, RedisUnavailableError

__all__ = [
    "REDIS_UNAVAILABLE",
    "RedisBudget",
    "RedisCache",
    "RedisCooldown",
    "RedisRateLimiter",
    "RedisStore",
    "RedisUnavailableError",
    "register",
]

__version__ = "0.1.0"


def _redis(config: ClientConfig, feature: str) -> RedisConfig:
    if config.redis is None:
        raise BadRequestError(f'{feature}.backend = "redis" needs a [redis] block (redis = {{"url": ...}})')
    return config.redis


def _budget(config: ClientConfig, clock: Clock) -> RedisBudget:
    assert config.budget is not None
    return RedisBudget(config.budget, _redis(config, "budget"), timeout_secs=config.timeout_secs, clock=clock)


def _rate_limit(config: ClientConfig, clock: Clock) -> RedisRateLimiter:
    assert config.rate_limit is not None
    return RedisRateLimiter(config.rate_limit, _redis(config, "rate_limit"), clock=clock)


def _cooldown(config: ClientConfig, clock: Clock) -> RedisCooldown:
    return RedisCooldown(float(config.cooldown_secs or 0.0), _redis(config, "cooldown"), clock=clock)


def _cache(cache: CacheConfig, config: Any) -> RedisCache:
    if not isinstance(config, ClientConfig):
        raise BadRequestError('cache.backend = "redis" needs the client configuration with a [redis] block')
    return RedisCache(cache, _redis(config, "cache"))


def register() -> None:
    """Register the ``"redis"`` backends of the budget, the rate limit, the cooldown and the cache."""
    register_backend("budget", "redis", _budget)
    register_backend("rate_limit", "redis", _rate_limit)
    register_backend("cooldown", "redis", _cooldown)
    register_cache_backend("redis", _cache)
