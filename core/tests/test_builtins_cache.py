"""The cache built-in: hits, misses, keys, TTL, LRU, errors, streams, backends, through both clients."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

import liter_llm
from liter_llm.builtins.cache import CacheBackend, MemoryCache, cache_backends, register_cache_backend
from liter_llm.errors import BadRequestError, ServerError

BASE = S.BASE
MESSAGES = S.MESSAGES


def numbered(fail_first: int = 0) -> S.OpenAIServer:
    """The shared server: answers "answer <n>" (chat, streams) and [0.5, n] (embeddings) for the n-th request."""
    return S.OpenAIServer(
        "answer {n}", usage={"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}, fail_first=fail_first
    )


CLIENTS = S.MockClients(cache={"max_entries": 100, "ttl_seconds": 60})
sync_client = CLIENTS.sync
async_client = CLIENTS.async_
twin = CLIENTS.twin


def test_hit_makes_no_network_call_and_is_marked(mode: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="liter_llm")
    server = numbered()
    with twin(mode, server) as client:
        first = client.chat(model="gpt-4o", messages=MESSAGES, temperature=0.2)
        second = client.chat(model="gpt-4o", messages=MESSAGES, temperature=0.2)
    assert len(server.requests) == 1
    assert first.cache_hit is False
    assert second.cache_hit is True
    assert second.choices[0].message.content == first.choices[0].message.content == "answer 1"
    assert "cache_hit" in caplog.text


def test_hit_makes_no_network_call_and_is_marked_async() -> None:
    server = numbered()

    async def main() -> None:
        async with async_client(server) as client:
            first = await client.chat(model="gpt-4o", messages=MESSAGES)
            second = await client.chat(model="gpt-4o", messages=MESSAGES)
            assert not first.cache_hit
            assert second.cache_hit
            assert second.choices[0].message.content == "answer 1"
            e1 = await client.embed(model="text-embedding-3-small", input="hi")
            e2 = await client.embed(model="text-embedding-3-small", input="hi")
            assert e2.cache_hit
            assert e2.data[0].embedding == e1.data[0].embedding

    asyncio.run(main())
    assert len(server.requests) == 2


def test_every_answer_changing_parameter_is_in_the_key(mode: str) -> None:
    server = numbered()
    with twin(mode, server) as client:
        client.chat(model="gpt-4o", messages=MESSAGES)
        client.chat(model="gpt-4o", messages=MESSAGES, temperature=0.5)
        client.chat(model="gpt-4o", messages=MESSAGES, temperature=0.5, seed=1)
        client.chat(model="gpt-4o-mini", messages=MESSAGES)
        client.chat(model="gpt-4o", messages=[{"role": "user", "content": "Hello!"}])
        client.chat(model="gpt-4o", messages=MESSAGES, extra_body={"top_k": 3})
        client.embed(model="text-embedding-3-small", input="hi")
        client.embed(model="text-embedding-3-small", input="hi", dimensions=8)
        assert len(server.requests) == 8
        # and each of them is now a hit
        assert client.chat(model="gpt-4o", messages=MESSAGES, temperature=0.5, seed=1).cache_hit
        assert client.embed(model="text-embedding-3-small", input="hi", dimensions=8).cache_hit
    assert len(server.requests) == 8


def test_the_api_key_is_not_in_the_key_and_not_in_the_cache(mode: str) -> None:
    stored: dict[str, bytes] = {}

    class Spy(MemoryCache):
        def set(self, key: str, value: bytes, ttl_seconds: float | None) -> None:
            stored[key] = value
            super().set(key, value, ttl_seconds)

    register_cache_backend("test-spy", lambda config: Spy(config.max_entries))
    server = numbered()
    secret = "sk-very-secret-key-123456"
    for key in (secret, "sk-another-key-98765"):
        client = S.Api(
            mode,
            api_key=key,
            base_url=BASE,
            model_hint="openai",
            transport=httpx.MockTransport(server),
            cache={"backend": "test-spy"},
        )
        with client:
            client.chat(model="gpt-4o", messages=MESSAGES)
    assert len(stored) == 1  # same request with another key: same cache key
    ((key, value),) = stored.items()
    assert secret not in key
    assert secret.encode() not in value
    assert len(key) == 64  # sha256 hex


def test_callers_mutating_a_response_do_not_poison_the_cache(mode: str) -> None:
    server = numbered()
    with twin(mode, server) as client:
        first = client.chat(model="gpt-4o", messages=MESSAGES)
        first.choices[0].message.content = "poisoned"
        second = client.chat(model="gpt-4o", messages=MESSAGES)
        second.choices[0].message.content = "poisoned again"
        third = client.chat(model="gpt-4o", messages=MESSAGES)
    assert third.choices[0].message.content == "answer 1"
    assert third is not second


def test_errors_are_never_cached_both_clients() -> None:
    server = numbered(fail_first=1)
    with sync_client(server) as client:
        with pytest.raises(BadRequestError):
            client.chat(model="gpt-4o", messages=MESSAGES)
        answer = client.chat(model="gpt-4o", messages=MESSAGES)
        assert not answer.cache_hit
        assert answer.choices[0].message.content == "answer 2"
    assert len(server.requests) == 2

    async def main() -> None:
        server = numbered(fail_first=1)
        async with async_client(server) as client:
            with pytest.raises(BadRequestError):
                await client.chat(model="gpt-4o", messages=MESSAGES)
            assert not (await client.chat(model="gpt-4o", messages=MESSAGES)).cache_hit
            assert (await client.chat(model="gpt-4o", messages=MESSAGES)).cache_hit
        assert len(server.requests) == 2

    asyncio.run(main())


def test_server_errors_are_not_cached(mode: str) -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(500, json={"error": {"message": "boom"}})
        return numbered()(request)

    with twin(mode, handler, max_retries=0) as client:
        with pytest.raises(ServerError):
            client.chat(model="gpt-4o", messages=MESSAGES)
        assert not client.chat(model="gpt-4o", messages=MESSAGES).cache_hit
    assert calls["n"] == 2


def test_streams_bypass_the_cache_both_clients() -> None:
    server = numbered()
    with sync_client(server) as client:
        client.chat(model="gpt-4o", messages=MESSAGES)
        texts = []
        for _ in range(2):
            with client.chat_stream(model="gpt-4o", messages=MESSAGES) as stream:
                texts.append("".join(c.choices[0].delta.content or "" for c in stream if c.choices))
        assert texts == ["answer 2", "answer 3"]
        # and a stream did not fill the cache for chat either
        assert client.chat(model="gpt-4o", messages=MESSAGES).cache_hit
    assert len(server.requests) == 3

    async def main() -> None:
        server = numbered()
        async with async_client(server) as client:
            for _ in range(2):
                stream = await client.chat_stream(model="gpt-4o", messages=MESSAGES)
                async for _chunk in stream:
                    pass
        assert len(server.requests) == 2

    asyncio.run(main())


def test_ttl_expires_entries_both_clients() -> None:
    from liter_llm.clock import ManualClock

    clock = ManualClock()
    server = numbered()
    with sync_client(server, cache={"ttl_seconds": 0.05}, clock=clock) as client:
        client.chat(model="gpt-4o", messages=MESSAGES)
        clock.advance(0.049)
        assert client.chat(model="gpt-4o", messages=MESSAGES).cache_hit
        clock.advance(0.001)
        assert not client.chat(model="gpt-4o", messages=MESSAGES).cache_hit
    assert len(server.requests) == 2

    async def main() -> None:
        clock = ManualClock()
        server = numbered()
        async with async_client(server, cache={"ttl_seconds": 0.05}, clock=clock) as client:
            await client.chat(model="gpt-4o", messages=MESSAGES)
            clock.advance(0.049)
            assert (await client.chat(model="gpt-4o", messages=MESSAGES)).cache_hit
            clock.advance(0.001)
            assert not (await client.chat(model="gpt-4o", messages=MESSAGES)).cache_hit
        assert len(server.requests) == 2

    asyncio.run(main())


def test_memory_backend_is_lru_with_ttl() -> None:
    now = [0.0]
    cache = MemoryCache(max_entries=2, clock=lambda: now[0])
    assert isinstance(cache, CacheBackend)
    cache.set("a", b"1", 10)
    cache.set("b", b"2", 10)
    assert cache.get("a") == b"1"  # a is now most recently used
    cache.set("c", b"3", 10)  # evicts b
    assert cache.get("b") is None
    assert cache.get("a") == b"1"
    assert cache.get("c") == b"3"
    now[0] = 10.0
    assert cache.get("a") is None  # expired
    cache.set("d", b"4", None)
    now[0] = 1e9
    assert cache.get("d") == b"4"  # no TTL
    cache.delete("d")
    assert cache.get("d") is None
    cache.set("e", b"5", 1)
    cache.clear()
    assert len(cache) == 0


def test_lru_limit_through_the_client(mode: str) -> None:
    server = numbered()
    with twin(mode, server, cache={"max_entries": 1}) as client:
        client.chat(model="gpt-4o", messages=MESSAGES)
        client.chat(model="gpt-4o-mini", messages=MESSAGES)  # evicts the first
        assert not client.chat(model="gpt-4o", messages=MESSAGES).cache_hit
    assert len(server.requests) == 3


def test_unknown_backend_is_a_clear_error_and_registered_backends_are_used() -> None:
    with pytest.raises(BadRequestError, match="unknown cache backend 'nope'"):
        liter_llm.create_client(api_key="k", cache={"backend": "nope"})
    with pytest.raises(BadRequestError, match="unknown cache backend 'nope'"):
        liter_llm.create_async_client(api_key="k", cache={"backend": "nope"})
    made: list[Any] = []

    def factory(config: Any) -> MemoryCache:
        backend = MemoryCache(config.max_entries)
        made.append(backend)
        return backend

    register_cache_backend("test-dict", factory)
    assert "test-dict" in cache_backends()
    server = numbered()

    async def main() -> None:
        async with async_client(server, cache={"backend": "test-dict"}) as client:
            await client.chat(model="gpt-4o", messages=MESSAGES)
            assert (await client.chat(model="gpt-4o", messages=MESSAGES)).cache_hit

    asyncio.run(main())
    assert len(made) == 1
    assert len(made[0]) == 1
    with pytest.raises(BadRequestError):
        register_cache_backend("", factory)


def test_a_corrupt_entry_is_a_miss(mode: str) -> None:
    backends: list[MemoryCache] = []

    def factory(config: Any) -> MemoryCache:
        backends.append(MemoryCache())
        return backends[-1]

    register_cache_backend("test-corrupt", factory)
    server = numbered()
    with twin(mode, server, cache={"backend": "test-corrupt"}) as client:
        client.chat(model="gpt-4o", messages=MESSAGES)
        (key,) = list(backends[0]._data)
        backends[0].set(key, b"{not json", None)
        assert not client.chat(model="gpt-4o", messages=MESSAGES).cache_hit
    assert len(server.requests) == 2


def test_cache_from_json_config_and_cost_of_a_hit(mode: str) -> None:
    server = numbered()
    config = {
        "api_key": "sk-test",
        "base_url": BASE,
        "model_hint": "openai",
        "cost_tracking": True,
        "cache": {"max_entries": 10, "ttl_seconds": 30, "backend": "memory"},
    }
    create = liter_llm.create_client_from_json if mode == "sync" else liter_llm.create_async_client_from_json
    with S.Api.around(mode, create(json.dumps(config), transport=httpx.MockTransport(server))) as client:
        first = client.chat(model="gpt-4o", messages=MESSAGES)
        second = client.chat(model="gpt-4o", messages=MESSAGES)
    assert first.cost == pytest.approx(10 * 2.5e-6 + 2 * 1e-5)
    assert second.cache_hit
    assert second.cost == 0.0  # a hit costs nothing
    assert len(server.requests) == 1
