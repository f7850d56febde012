"""The rate_limit built-in: rpm and tpm over a sliding window, through both clients."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

import liter_llm
from liter_llm.builtins.rate_limit import estimate_tokens
from liter_llm.errors import RateLimitedError
from liter_llm.types import ChatCompletionRequest

BASE = "http://127.0.0.1:9/v1"
MESSAGES = [{"role": "user", "content": "Hello"}]


class Server:
    def __init__(self, total_tokens: int = 12) -> None:
        self.times: list[float] = []
        self.total_tokens = total_tokens

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.times.append(time.monotonic())
        body = json.loads(request.content)
        return httpx.Response(
            200,
            json={
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1700000000,
                "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
                "usage": {
                    "prompt_tokens": self.total_tokens - 2,
                    "completion_tokens": 2,
                    "total_tokens": self.total_tokens,
                },
            },
        )


def sync_client(handler: Any, **options: Any) -> liter_llm.DefaultClient:
    return liter_llm.create_client(
        api_key="sk-test", base_url=BASE, model_hint="openai", transport=httpx.MockTransport(handler), **options
    )


def async_client(handler: Any, **options: Any) -> liter_llm.AsyncDefaultClient:
    return liter_llm.create_async_client(
        api_key="sk-test", base_url=BASE, model_hint="openai", transport=httpx.MockTransport(handler), **options
    )


def test_rpm_waits_for_the_window_sync() -> None:
    server = Server()
    with sync_client(server, rate_limit={"rpm": 2, "window_seconds": 0.3}) as client:
        start = time.monotonic()
        for _ in range(3):
            client.chat(model="gpt-4o", messages=MESSAGES)
    assert len(server.times) == 3
    assert server.times[1] - start < 0.2
    assert server.times[2] - server.times[0] >= 0.29  # the third waited for the first to leave the window


def test_rpm_waits_without_blocking_the_event_loop() -> None:
    server = Server()

    async def main() -> int:
        ticks = 0
        done = False

        async def ticker() -> None:
            nonlocal ticks
            while not done:
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        async with async_client(server, rate_limit={"rpm": 1, "window_seconds": 0.3}) as client:
            await client.chat(model="gpt-4o", messages=MESSAGES)
            await client.chat(model="gpt-4o", messages=MESSAGES)
        done = True
        await task
        return ticks

    ticks = asyncio.run(main())
    assert server.times[1] - server.times[0] >= 0.29
    assert ticks >= 10  # the loop kept running while the call waited


def test_limits_are_per_model() -> None:
    server = Server()
    with sync_client(server, rate_limit={"rpm": 1, "window_seconds": 30}, timeout_secs=5) as client:
        start = time.monotonic()
        client.chat(model="gpt-4o", messages=MESSAGES)
        client.chat(model="gpt-4o-mini", messages=MESSAGES)
    assert time.monotonic() - start < 1.0


def test_past_the_timeout_fails_with_retry_after_both_clients() -> None:
    server = Server()
    with sync_client(server, rate_limit={"rpm": 1, "window_seconds": 30}, timeout_secs=0.2) as client:
        client.chat(model="gpt-4o", messages=MESSAGES)
        started = time.monotonic()
        with pytest.raises(RateLimitedError) as info:
            client.chat(model="gpt-4o", messages=MESSAGES)
        assert time.monotonic() - started < 0.5
    assert info.value.retry_after == pytest.approx(30, abs=1)
    assert len(server.times) == 1

    async def main() -> None:
        server = Server()
        async with async_client(server, rate_limit={"rpm": 1, "window_seconds": 30}, timeout_secs=0.2) as client:
            await client.chat(model="gpt-4o", messages=MESSAGES)
            with pytest.raises(RateLimitedError) as info:
                await client.chat(model="gpt-4o", messages=MESSAGES)
            assert info.value.retry_after is not None
            assert info.value.retry_after > 29
        assert len(server.times) == 1

    asyncio.run(main())


def test_tpm_counts_reported_usage_both_clients() -> None:
    # each answer reports 100 tokens; with tpm=100 the second call must wait for the window
    server = Server(total_tokens=100)
    with sync_client(server, rate_limit={"tpm": 100, "window_seconds": 0.3}) as client:
        client.chat(model="gpt-4o", messages=MESSAGES)
        client.chat(model="gpt-4o", messages=MESSAGES)
    assert server.times[1] - server.times[0] >= 0.29

    async def main() -> None:
        server = Server(total_tokens=100)
        async with async_client(server, rate_limit={"tpm": 100, "window_seconds": 0.3}) as client:
            await client.chat(model="gpt-4o", messages=MESSAGES)
            await client.chat(model="gpt-4o", messages=MESSAGES)
        assert server.times[1] - server.times[0] >= 0.29

    asyncio.run(main())


def test_estimate_is_characters_over_four() -> None:
    request = ChatCompletionRequest.from_dict({"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 400}]})
    assert estimate_tokens(request) == 100


class SlowServer(Server):
    """Answers after 50 ms, so calls overlap; reports only 2 tokens each."""

    def __init__(self) -> None:
        super().__init__(total_tokens=2)

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)
        return self(request)

    def handle_sync(self, request: httpx.Request) -> httpx.Response:
        time.sleep(0.05)
        return self(request)


LONG = [{"role": "user", "content": "x" * 400}]  # estimated at 100 tokens


def test_tpm_estimates_the_prompt_before_sending_both_clients() -> None:
    # two overlapping 100-token prompts do not fit in tpm=150 before any answer arrives
    import threading

    server = SlowServer()
    with sync_client(server.handle_sync, rate_limit={"tpm": 150, "window_seconds": 0.3}) as client:
        threads = [threading.Thread(target=client.chat, kwargs={"model": "gpt-4o", "messages": LONG}) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(5)
    assert len(server.times) == 2
    assert server.times[1] - server.times[0] >= 0.2

    async def main() -> None:
        server = SlowServer()
        async with async_client(server.handle_async, rate_limit={"tpm": 150, "window_seconds": 0.3}) as client:
            await asyncio.gather(*(client.chat(model="gpt-4o", messages=LONG) for _ in range(2)))
        assert server.times[1] - server.times[0] >= 0.2

    asyncio.run(main())


def test_one_prompt_above_tpm_is_still_sent() -> None:
    server = Server()
    with sync_client(server, rate_limit={"tpm": 10}) as client:
        client.chat(model="gpt-4o", messages=[{"role": "user", "content": "y" * 1000}])
    assert len(server.times) == 1


def test_rate_limit_from_toml(tmp_path: Any) -> None:
    path = tmp_path / "liter-llm.toml"
    path.write_text(
        f'api_key = "sk-test"\nbase_url = "{BASE}"\nmodel_hint = "openai"\n'
        "timeout_secs = 0.2\n\n[rate_limit]\nrpm = 1\nwindow_seconds = 30\n"
    )
    server = Server()
    with liter_llm.create_client_from_file(str(path), transport=httpx.MockTransport(server)) as client:
        client.chat(model="gpt-4o", messages=MESSAGES)
        with pytest.raises(RateLimitedError):
            client.chat(model="gpt-4o", messages=MESSAGES)
