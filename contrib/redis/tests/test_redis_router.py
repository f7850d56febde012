"""Router targets (``models``) share their cooldowns through a real redis-server, sync and async."""

from __future__ import annotations

import json
from typing import Any

import httpx
from redis_test_support import run_async

import liter_llm

BASE = "http://127.0.0.1:9/v1"
MESSAGES = [{"role": "user", "content": "Hello there"}]
SECRET = "sk-test-very-secret-key"
TARGET_KEY = "sk-target-key-of-b-0001"
MODELS = [
    {
        "name": "fast",
        "strategy": "least-busy",
        "targets": [
            {"model": "openai/a"},
            {"model": "openai/b", "api_key": TARGET_KEY, "base_url": "http://127.0.0.1:9/b/v1"},
        ],
    }
]


class Upstream:
    """Fails the models in ``failing`` with a 503, answers the others; records each request's model."""

    def __init__(self, failing: tuple[str, ...] = ()) -> None:
        self.failing = failing
        self.models: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        model = json.loads(request.content)["model"]
        self.models.append(model)
        if model in self.failing:
            return httpx.Response(503, json={"error": {"message": "overloaded", "type": "server_error"}})
        return httpx.Response(
            200,
            json={
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1700000000,
                "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": model}, "finish_reason": "stop"}],
            },
        )


def options(url: str) -> dict[str, Any]:
    return {
        "api_key": SECRET,
        "base_url": BASE,
        "model_hint": "openai",
        "max_retries": 0,
        "cooldown_secs": 60,
        "redis": {"url": url, "key_prefix": "t:", "timeout_secs": 0.3},
        "models": MODELS,
    }


def sync_client(url: str, upstream: Upstream) -> liter_llm.DefaultClient:
    return liter_llm.create_client(transport=httpx.MockTransport(upstream), **options(url))


def async_client(url: str, upstream: Upstream) -> liter_llm.AsyncDefaultClient:
    async def handler(request: httpx.Request) -> httpx.Response:
        return upstream(request)

    return liter_llm.create_async_client(transport=httpx.MockTransport(handler), **options(url))


def test_a_cooled_target_is_skipped_by_another_client_sync(redis_url: str, redis_server: Any) -> None:
    first = Upstream(failing=("a",))
    with sync_client(redis_url, first) as one:
        assert type(one.builtins["cooldown"]).__name__ == "RedisCooldown"
        for _ in range(3):  # least-busy: a first each time; its third failure cools it everywhere
            one.chat(model="fast", messages=MESSAGES)
    assert first.models == ["a", "b"] * 3
    second = Upstream()
    with sync_client(redis_url, second) as two:
        answers = [two.chat(model="fast", messages=MESSAGES).choices[0].message.content for _ in range(2)]
    assert answers == ["b", "b"]  # a is skipped in the other client, without a request
    assert second.models == ["b", "b"]
    with redis_server.client() as client:
        keys = [key.decode() for key in client.keys("t:{cooldown}:*")]
        assert "t:{cooldown}:target:fast/fast[0]:until" in keys
        assert not any(key.startswith("t:{cooldown}:openai:") and key.endswith(":until") for key in keys)
        assert all(TARGET_KEY not in key and SECRET not in key for key in keys)


@run_async
async def test_a_cooled_target_is_skipped_by_another_client_async(redis_url: str) -> None:
    first = Upstream(failing=("a",))
    async with async_client(redis_url, first) as one:
        for _ in range(3):
            await one.chat(model="fast", messages=MESSAGES)
            await one.builtins["cooldown"].drain()
    second = Upstream()
    async with async_client(redis_url, second) as two:
        answer = await two.chat(model="fast", messages=MESSAGES)
        assert answer.choices[0].message.content == "b"
        # the provider itself is not cooled down: a direct call to openai/a is sent
        await two.chat(model="openai/a", messages=MESSAGES)
    assert second.models == ["b", "a"]
