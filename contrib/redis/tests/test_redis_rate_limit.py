"""The Redis rate limit against a real redis-server: the sliding window, waits, deadlines, tpm, 4 processes."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import sys
import time
from typing import Any

import httpx
import pytest
from redis_test_support import run_async

import liter_llm
from liter_llm.clock import ManualClock
from liter_llm.errors import RateLimitedError

BASE = "http://127.0.0.1:9/v1"
MODEL = "openai/gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Hello there"}]


def reply(request: httpx.Request, total: int = 5) -> httpx.Response:
    body = json.loads(request.content)
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1700000000,
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 2, "completion_tokens": total - 2, "total_tokens": total},
        },
    )


def options(url: str, timeout: float = 600.0, **limits: Any) -> dict[str, Any]:
    return {
        "api_key": "sk-test",
        "base_url": BASE,
        "model_hint": "openai",
        "timeout_secs": timeout,
        "redis": {"url": url, "key_prefix": "t:", "timeout_secs": 0.5},
        "rate_limit": {"backend": "redis", **limits},
    }


def sync_client(url: str, handler: Any = reply, clock: Any = None, **kw: Any) -> liter_llm.DefaultClient:
    return liter_llm.create_client(transport=httpx.MockTransport(handler), clock=clock, **options(url, **kw))


def async_client(url: str, handler: Any = reply, clock: Any = None, **kw: Any) -> liter_llm.AsyncDefaultClient:
    async def ahandler(request: httpx.Request) -> httpx.Response:
        return handler(request)

    return liter_llm.create_async_client(transport=httpx.MockTransport(ahandler), clock=clock, **options(url, **kw))


def test_the_window_makes_the_third_call_wait_sync(redis_url: str) -> None:
    clock = ManualClock(wall=time.time())
    with sync_client(redis_url, clock=clock, rpm=2, window_seconds=60) as client:
        for _ in range(3):
            client.chat(model=MODEL, messages=MESSAGES)
    assert len(clock.sleeps) == 1
    assert 59.0 < clock.sleeps[0] <= 60.0


@run_async
async def test_the_window_makes_the_third_call_wait_async(redis_url: str) -> None:
    clock = ManualClock(wall=time.time())
    async with async_client(redis_url, clock=clock, rpm=2, window_seconds=60) as client:
        for _ in range(3):
            await client.chat(model=MODEL, messages=MESSAGES)
    assert len(clock.sleeps) == 1
    assert 59.0 < clock.sleeps[0] <= 60.0


def test_the_window_is_shared_by_two_clients_sync(redis_url: str) -> None:
    clock = ManualClock(wall=time.time())
    with sync_client(redis_url, clock=clock, rpm=2) as one, sync_client(redis_url, clock=clock, rpm=2) as two:
        one.chat(model=MODEL, messages=MESSAGES)
        two.chat(model=MODEL, messages=MESSAGES)
        two.chat(model=MODEL, messages=MESSAGES)  # the window is full: this one waited
    assert len(clock.sleeps) == 1


def test_a_wait_past_the_deadline_fails_at_once_sync(redis_url: str) -> None:
    sent: list[httpx.Request] = []
    with sync_client(redis_url, lambda r: sent.append(r) or reply(r), timeout=5, rpm=1) as client:
        client.chat(model=MODEL, messages=MESSAGES)
        started = time.monotonic()
        with pytest.raises(RateLimitedError) as info:
            client.chat(model=MODEL, messages=MESSAGES)
        assert time.monotonic() - started < 2.0
    assert info.value.retry_after is not None
    assert info.value.retry_after > 50
    assert len(sent) == 1


@run_async
async def test_a_wait_past_the_deadline_fails_at_once_async(redis_url: str) -> None:
    async with async_client(redis_url, timeout=5, rpm=1) as client:
        await client.chat(model=MODEL, messages=MESSAGES)
        with pytest.raises(RateLimitedError) as info:
            await client.chat(model=MODEL, messages=MESSAGES)
    assert info.value.retry_after is not None
    assert info.value.retry_after > 50


def test_tpm_counts_the_reported_usage_sync(redis_url: str) -> None:
    clock = ManualClock(wall=time.time())
    with sync_client(redis_url, lambda r: reply(r, total=90), clock=clock, tpm=100) as client:
        client.chat(model=MODEL, messages=MESSAGES)  # estimated 2 tokens, corrected to 90
        client.chat(model=MODEL, messages=MESSAGES)  # 90 + 2 <= 100? no: 90 + estimate(2) = 92, admitted
        client.chat(model=MODEL, messages=MESSAGES)  # 180 in the window: waits
    assert len(clock.sleeps) == 1


@run_async
async def test_tpm_counts_the_reported_usage_async(redis_url: str) -> None:
    clock = ManualClock(wall=time.time())
    async with async_client(redis_url, lambda r: reply(r, total=90), clock=clock, tpm=100) as client:
        limiter = client.builtins["rate_limit"]
        await client.chat(model=MODEL, messages=MESSAGES)
        await limiter.drain()
        await client.chat(model=MODEL, messages=MESSAGES)
        await limiter.drain()
        await client.chat(model=MODEL, messages=MESSAGES)
        assert limiter.store._sync is None  # the window went through redis.asyncio only
    assert len(clock.sleeps) == 1


# ---------------------------------------------------------------------------
# 4 processes held to one rpm
# ---------------------------------------------------------------------------

RPM = 12
PER_PROCESS = 8


def _sync_worker(url: str, results: Any) -> None:
    ok = limited = 0
    with sync_client(url, timeout=5, rpm=RPM) as client:
        for _ in range(PER_PROCESS):
            try:
                client.chat(model=MODEL, messages=MESSAGES)
                ok += 1
            except RateLimitedError:
                limited += 1
    results.put((ok, limited))


def _async_worker(url: str, results: Any) -> None:
    async def main() -> tuple[int, int]:
        async with async_client(url, timeout=5, rpm=RPM) as client:

            async def one() -> bool:
                try:
                    await client.chat(model=MODEL, messages=MESSAGES)
                    return True
                except RateLimitedError:
                    return False

            outcomes = await asyncio.gather(*(one() for _ in range(PER_PROCESS)))
            return sum(outcomes), PER_PROCESS - sum(outcomes)

    results.put(asyncio.run(main()))


@pytest.mark.skipif(sys.platform != "linux", reason="forks worker processes")
@pytest.mark.parametrize("worker", [_sync_worker, _async_worker], ids=["sync", "async"])
def test_four_processes_are_held_to_the_rpm(redis_url: str, worker: Any) -> None:
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    processes = [context.Process(target=worker, args=(redis_url, results)) for _ in range(4)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    assert sum(o[0] for o in outcomes) == RPM  # 32 tried within the minute, exactly the rpm went through
    assert sum(o[1] for o in outcomes) == 4 * PER_PROCESS - RPM
