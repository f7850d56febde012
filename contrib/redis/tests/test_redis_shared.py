"""The Redis cache and cooldowns, and outages (killed, restarted, not answering), against real redis-servers."""

from __future__ import annotations

import json
import logging
import multiprocessing
import sys
import time
from typing import Any

import httpx
import pytest
from redis_test_support import run_async

import liter_llm
from liter_llm.builtins.cost import set_model_price
from liter_llm.errors import BudgetExceededError, ServiceUnavailableError

BASE = "http://127.0.0.1:9/v1"
MODEL = "openai/gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Hello there"}]
SECRET = "sk-test-very-secret-key"


def reply(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1700000000,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": body["messages"][0]["content"]},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5},
        },
    )


def failing(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, json={"error": {"message": "overloaded", "type": "server_error"}})


class Recorder:
    def __init__(self, handler: Any = reply) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


def options(url: str, **extra: Any) -> dict[str, Any]:
    redis = {"url": url, "key_prefix": "t:", "timeout_secs": 0.3, **extra.pop("redis", {})}
    return {"api_key": SECRET, "base_url": BASE, "model_hint": "openai", "max_retries": 0, "redis": redis, **extra}


def sync_client(url: str, handler: Any = reply, **extra: Any) -> liter_llm.DefaultClient:
    return liter_llm.create_client(transport=httpx.MockTransport(handler), **options(url, **extra))


def async_client(url: str, handler: Any = reply, **extra: Any) -> liter_llm.AsyncDefaultClient:
    async def ahandler(request: httpx.Request) -> httpx.Response:
        return handler(request)

    return liter_llm.create_async_client(transport=httpx.MockTransport(ahandler), **options(url, **extra))


CACHE = {"backend": "redis", "ttl_seconds": 60, "max_entries": 3}

# ---------------------------------------------------------------------------
# The cache
# ---------------------------------------------------------------------------


def test_a_cached_answer_is_served_to_another_client_sync(redis_url: str, redis_server: Any) -> None:
    first, second = Recorder(), Recorder()
    with sync_client(redis_url, first, cache=CACHE) as one, sync_client(redis_url, second, cache=CACHE) as two:
        answer = one.chat(model=MODEL, messages=MESSAGES)
        again = two.chat(model=MODEL, messages=MESSAGES)
        other = two.chat(model=MODEL, messages=[{"role": "user", "content": "Another question"}])
    assert len(first.requests) == 1
    assert len(second.requests) == 1
    assert again.cache_hit
    assert not answer.cache_hit
    assert again.choices[0].message.content == "Hello there"
    assert other.choices[0].message.content == "Another question"  # never the answer of another request
    with redis_server.client() as client:
        stored = b"".join(client.get(key) or b"" for key in client.keys("t:{cache}:*") if b"index" not in key)
        assert SECRET.encode() not in stored
        assert all(SECRET.encode() not in key for key in client.keys("*"))
        ttl = client.pttl(next(key for key in client.keys("t:{cache}:*") if b"index" not in key))
        assert 0 < ttl <= 60_000


@run_async
async def test_a_cached_answer_is_served_to_another_client_async(redis_url: str) -> None:
    first, second = Recorder(), Recorder()
    async with async_client(redis_url, first, cache=CACHE) as one, async_client(redis_url, second, cache=CACHE) as two:
        await one.chat(model=MODEL, messages=MESSAGES)
        await one.builtins["cache"].drain()
        again = await two.chat(model=MODEL, messages=MESSAGES)
        for client in (one, two):  # only redis.asyncio was used: the event loop never blocked on Redis
            assert client.builtins["cache"].backend.store._sync is None
    assert again.cache_hit
    assert len(second.requests) == 0


def test_the_cache_keeps_its_size_bound(redis_url: str, redis_server: Any) -> None:
    with sync_client(redis_url, cache=CACHE) as client:
        for index in range(6):
            client.chat(model=MODEL, messages=[{"role": "user", "content": f"question {index}"}])
        assert len(client.builtins["cache"].backend) == 3
    with redis_server.client() as raw:
        assert len([key for key in raw.keys("t:{cache}:*") if b"index" not in key]) == 3


def _cache_worker(url: str, results: Any) -> None:
    seen = Recorder()
    with sync_client(url, seen, cache=CACHE) as client:
        client.chat(model=MODEL, messages=MESSAGES)
    results.put(len(seen.requests))


@pytest.mark.skipif(sys.platform != "linux", reason="forks a worker process")
def test_a_cache_hit_across_processes(redis_url: str) -> None:
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    with sync_client(redis_url, cache=CACHE) as client:
        client.chat(model=MODEL, messages=MESSAGES)
    process = context.Process(target=_cache_worker, args=(redis_url, results))
    process.start()
    assert results.get(timeout=30) == 0  # the other process sent nothing: a hit
    process.join(30)


def test_the_cache_fails_open_when_redis_is_down_sync(own_redis: Any, caplog: pytest.LogCaptureFixture) -> None:
    seen = Recorder()
    caplog.set_level(logging.WARNING, logger="liter_llm")
    with sync_client(own_redis.url, seen, cache=CACHE) as client:
        client.chat(model=MODEL, messages=MESSAGES)
        own_redis.kill()
        answer = client.chat(model=MODEL, messages=MESSAGES)  # served, uncached
        assert not answer.cache_hit
        own_redis.start()  # an empty Redis on the same port: reconnected by itself
        client.chat(model=MODEL, messages=MESSAGES)
        assert client.chat(model=MODEL, messages=MESSAGES).cache_hit
    assert "cache_backend_failed" in caplog.text
    assert len(seen.requests) == 3


@run_async
async def test_the_cache_fails_open_when_redis_is_down_async(own_redis: Any) -> None:
    async with async_client(own_redis.url, cache=CACHE) as client:
        own_redis.kill()
        answer = await client.chat(model=MODEL, messages=MESSAGES)
        assert not answer.cache_hit


# ---------------------------------------------------------------------------
# Cooldowns
# ---------------------------------------------------------------------------


def _cooled_worker(url: str, results: Any) -> None:
    seen = Recorder()
    with sync_client(url, seen, cooldown_secs=60) as client:
        try:
            client.chat(model=MODEL, messages=MESSAGES)
            results.put(("answered", len(seen.requests)))
        except ServiceUnavailableError as error:
            results.put((error.code, len(seen.requests)))


@pytest.mark.skipif(sys.platform != "linux", reason="forks a worker process")
def test_a_cooldown_is_seen_by_another_process(redis_url: str) -> None:
    with sync_client(redis_url, failing, cooldown_secs=60) as client:
        assert type(client.builtins["cooldown"]).__name__ == "RedisCooldown"
        for _ in range(3):
            with pytest.raises(ServiceUnavailableError):
                client.chat(model=MODEL, messages=MESSAGES)
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    process = context.Process(target=_cooled_worker, args=(redis_url, results))
    process.start()
    assert results.get(timeout=30) == ("cooldown", 0)  # skipped there too, nothing sent
    process.join(30)


@run_async
async def test_a_cooldown_is_shared_by_async_clients(redis_url: str) -> None:
    async with async_client(redis_url, failing, cooldown_secs=60) as one:
        for _ in range(3):
            with pytest.raises(ServiceUnavailableError):
                await one.chat(model=MODEL, messages=MESSAGES)
        await one.builtins["cooldown"].drain()
    seen = Recorder()
    async with async_client(redis_url, seen, cooldown_secs=60) as two:
        with pytest.raises(ServiceUnavailableError) as info:
            await two.chat(model=MODEL, messages=MESSAGES)
    assert info.value.code == "cooldown"
    assert seen.requests == []


# ---------------------------------------------------------------------------
# Outages: killed and restarted, not answering
# ---------------------------------------------------------------------------

LIMITS = {"budget": {"backend": "redis", "global_limit": 100.0}, "rate_limit": {"backend": "redis", "rpm": 1000}}


@pytest.fixture(autouse=True)
def _priced() -> None:
    set_model_price(MODEL, input_cost_per_token=0.001, output_cost_per_token=0.001)


def test_fail_closed_refuses_while_redis_is_down_and_recovers_sync(own_redis: Any) -> None:
    seen = Recorder()
    with sync_client(own_redis.url, seen, **LIMITS) as client:
        client.chat(model=MODEL, messages=MESSAGES)
        own_redis.kill()
        started = time.monotonic()
        with pytest.raises(ServiceUnavailableError) as info:
            client.chat(model=MODEL, messages=MESSAGES)
        assert time.monotonic() - started < 3.0
        assert info.value.code == "redis_unavailable"
        assert "Redis at 127.0.0.1" in str(info.value)
        assert SECRET not in str(info.value)
        own_redis.start()
        client.chat(model=MODEL, messages=MESSAGES)  # reconnected by itself
    assert len(seen.requests) == 2


@run_async
async def test_fail_closed_refuses_while_redis_is_down_and_recovers_async(own_redis: Any) -> None:
    seen = Recorder()
    async with async_client(own_redis.url, seen, **LIMITS) as client:
        await client.chat(model=MODEL, messages=MESSAGES)
        await client.budget.drain()
        own_redis.kill()
        with pytest.raises(ServiceUnavailableError) as info:
            await client.chat(model=MODEL, messages=MESSAGES)
        assert info.value.code == "redis_unavailable"
        own_redis.start()
        await client.chat(model=MODEL, messages=MESSAGES)
        await client.budget.drain()
    assert len(seen.requests) == 2


def test_fail_open_serves_in_process_and_logs_once_sync(own_redis: Any, caplog: pytest.LogCaptureFixture) -> None:
    seen = Recorder()
    limits = {"budget": {"backend": "redis", "global_limit": 0.05}, "rate_limit": {"backend": "redis", "rpm": 1000}}
    with caplog.at_level(logging.WARNING, logger="liter_llm"):
        with sync_client(own_redis.url, seen, redis={"on_outage": "fail_open"}, **limits) as client:
            own_redis.kill()
            outcomes = []
            for _ in range(9):  # each reserves $0.018 (15 prompt tokens at most, max_tokens=3) and costs $0.005
                try:
                    client.chat(model=MODEL, messages=MESSAGES, max_tokens=3)
                    outcomes.append("ok")
                except BudgetExceededError:  # the in-process budget still holds
                    outcomes.append("refused")
            assert client.budget.local.spent == pytest.approx(0.035)
    assert outcomes == ["ok"] * 7 + ["refused"] * 2  # 0.035 spent + 0.018 > 0.05
    assert len(seen.requests) == 7
    assert caplog.text.count("event='redis_unavailable'") == 2  # once for the budget, once for the rate limit


@run_async
async def test_fail_open_serves_in_process_async(own_redis: Any) -> None:
    seen = Recorder()
    async with async_client(own_redis.url, seen, redis={"on_outage": "fail_open"}, **LIMITS) as client:
        own_redis.kill()
        await client.chat(model=MODEL, messages=MESSAGES)
        await client.chat(model=MODEL, messages=MESSAGES)
    assert len(seen.requests) == 2


def test_a_feature_overrides_the_outage_policy(own_redis: Any) -> None:
    limits = {
        "budget": {"backend": "redis", "global_limit": 100.0, "on_outage": "fail_open"},
        "rate_limit": {"backend": "redis", "rpm": 1000},
    }
    with sync_client(own_redis.url, **limits) as client:
        own_redis.kill()
        with pytest.raises(ServiceUnavailableError) as info:  # the budget lets it go, the rate limit does not
            client.chat(model=MODEL, messages=MESSAGES)
    assert "rate limit" in str(info.value)


def test_a_redis_that_stops_answering_is_bounded_by_timeout_sync(own_redis: Any) -> None:
    with sync_client(own_redis.url, **LIMITS) as client:
        client.chat(model=MODEL, messages=MESSAGES)
        own_redis.pause()
        try:
            started = time.monotonic()
            with pytest.raises(ServiceUnavailableError) as info:
                client.chat(model=MODEL, messages=MESSAGES)
            assert time.monotonic() - started < 3.0  # timeout_secs = 0.3, not a hang
            assert info.value.code == "redis_unavailable"
        finally:
            own_redis.resume()
        client.chat(model=MODEL, messages=MESSAGES)


@run_async
async def test_a_redis_that_stops_answering_is_bounded_by_timeout_async(own_redis: Any) -> None:
    async with async_client(own_redis.url, **LIMITS) as client:
        await client.chat(model=MODEL, messages=MESSAGES)
        await client.budget.drain()
        own_redis.pause()
        try:
            started = time.monotonic()
            with pytest.raises(ServiceUnavailableError):
                await client.chat(model=MODEL, messages=MESSAGES)
            assert time.monotonic() - started < 3.0
        finally:
            own_redis.resume()
        await client.chat(model=MODEL, messages=MESSAGES)
        await client.budget.drain()
