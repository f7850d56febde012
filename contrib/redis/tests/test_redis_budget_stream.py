"""The Redis budget and streamed answers: reserved before the stream opens, settled to the usage of its last chunk.

A stream the caller closes before its end settles to the usage the chunks
received so far carried when any did (Anthropic's ``message_delta`` comes before
``message_stop``), else its reservation is released; both against the real
redis-server.  The mock answers send one event per network read, as a provider does.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from redis_test_support import run_async

import liter_llm
from liter_llm.builtins.cost import set_model_price

BASE = "http://127.0.0.1:9/v1"
MODEL = "openai/redis-stream-model"
CLAUDE = "anthropic/redis-stream-claude"
MESSAGES = [{"role": "user", "content": "Hi"}]
MAX_TOKENS = 100  # worst case at $0.01 per output token: $1.00
USED = 60  # the answer's usage: $0.60


@pytest.fixture(autouse=True)
def _priced() -> None:
    set_model_price(MODEL, input_cost_per_token=0.0, output_cost_per_token=0.01)
    set_model_price(CLAUDE, input_cost_per_token=0.001, output_cost_per_token=0.01)


class Pieces(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body sent one event per read, for both clients."""

    def __init__(self, events: list[str]) -> None:
        self.events = [event.encode() for event in events]

    def __iter__(self) -> Any:
        yield from self.events

    async def __aiter__(self) -> Any:
        for event in self.events:
            yield event


def _sse(events: list[str]) -> Pieces:
    return Pieces(events)


def openai_stream(request: httpx.Request) -> httpx.Response:
    """An OpenAI chat stream with ``stream_options.include_usage``: the usage comes in the last chunk, alone."""
    model = json.loads(request.content)["model"]

    def chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None, choices: bool = True) -> str:
        body = {
            "id": "chatcmpl-s",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else [],
            "usage": usage,
        }
        return f"data: {json.dumps(body)}\n\n"

    events = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo"}),
        chunk({}, finish="stop"),
        chunk({}, usage={"prompt_tokens": 3, "completion_tokens": USED, "total_tokens": USED + 3}, choices=False),
        "data: [DONE]\n\n",
    ]
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_sse(events))


def anthropic_stream(request: httpx.Request) -> httpx.Response:
    """Anthropic's documented event sequence: the prompt's usage in message_start, the output's in message_delta."""

    def event(name: str, data: dict[str, Any]) -> str:
        return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"

    events = [
        event(
            "message_start",
            {
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": "redis-stream-claude",
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 200, "output_tokens": 1},
                }
            },
        ),
        event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "Hello"}}),
        event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": " there"}}),
        event("content_block_stop", {"index": 0}),
        event(
            "message_delta",
            {"delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 15}},
        ),
        event("message_stop", {}),
    ]
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_sse(events))


def options(url: str, **budget: Any) -> dict[str, Any]:
    return {
        "api_key": "sk-test-secret",
        "base_url": BASE,
        "max_retries": 0,
        "redis": {"url": url, "key_prefix": "s:", "timeout_secs": 0.5},
        "budget": {"backend": "redis", "global_limit": 10.0, **budget},
    }


def sync_client(url: str, handler: Any, hint: str = "openai") -> liter_llm.DefaultClient:
    return liter_llm.create_client(transport=httpx.MockTransport(handler), model_hint=hint, **options(url))


def async_client(url: str, handler: Any, hint: str = "openai") -> liter_llm.AsyncDefaultClient:
    async def ahandler(request: httpx.Request) -> httpx.Response:
        return handler(request)

    return liter_llm.create_async_client(transport=httpx.MockTransport(ahandler), model_hint=hint, **options(url))


def test_a_stream_read_to_its_end_settles_to_the_usage_of_its_last_chunk_sync(redis_url: str) -> None:
    with sync_client(redis_url, openai_stream) as client:
        budget = client.budget
        stream = client.chat_stream(model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS)
        first = next(stream)
        assert first.choices[0].delta.role == "assistant"
        assert budget.held == pytest.approx(1.0)  # the worst case, reserved before the stream opened
        assert budget.spent == 0.0
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Hello"
        assert budget.held == 0.0
        assert budget.spent == pytest.approx(0.6)  # 60 tokens at $0.01, the usage of the last chunk


@run_async
async def test_a_stream_read_to_its_end_settles_to_the_usage_of_its_last_chunk_async(redis_url: str) -> None:
    async with async_client(redis_url, openai_stream) as client:
        budget = client.budget
        stream = await client.chat_stream(model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS)
        await stream.__anext__()
        assert budget.held == pytest.approx(1.0)
        response = await stream.response()
        assert response.usage is not None
        assert response.usage.completion_tokens == USED
        await budget.drain()
        assert budget.held == 0.0
        assert budget.spent == pytest.approx(0.6)


def test_a_stream_closed_early_without_usage_releases_its_reservation_sync(redis_url: str) -> None:
    with sync_client(redis_url, openai_stream) as client:
        budget = client.budget
        with client.chat_stream(model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS) as stream:
            next(stream)
            next(stream)
            assert budget.held == pytest.approx(1.0)
        assert budget.held == 0.0  # released at once, not left to expire after hold_secs
        assert budget.spent == 0.0


@run_async
async def test_a_stream_closed_early_without_usage_releases_its_reservation_async(redis_url: str) -> None:
    async with async_client(redis_url, openai_stream) as client:
        budget = client.budget
        async with await client.chat_stream(model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS) as stream:
            await stream.__anext__()
            assert budget.held == pytest.approx(1.0)
        await budget.drain()
        assert budget.held == 0.0
        assert budget.spent == 0.0


def test_a_stream_closed_early_settles_the_usage_its_chunks_carried_sync(redis_url: str) -> None:
    with sync_client(redis_url, anthropic_stream, hint="anthropic") as client:
        budget = client.budget
        with client.chat_stream(model=CLAUDE, messages=MESSAGES, max_tokens=MAX_TOKENS) as stream:
            next(stream)  # message_start: the parser keeps its usage for message_delta
        assert budget.held == 0.0
        assert budget.spent == 0.0  # nothing the chunks said: released
        with client.chat_stream(model=CLAUDE, messages=MESSAGES, max_tokens=MAX_TOKENS) as stream:
            chunks = [next(stream) for _ in range(4)]  # up to message_delta (finish and usage), not message_stop
            assert chunks[-1].usage is not None
            assert budget.held == pytest.approx(1.0 + 0.006)  # max_tokens plus the prompt's upper bound
        assert budget.held == 0.0
        assert budget.spent == pytest.approx(200 * 0.001 + 15 * 0.01)  # the usage received before the close


@run_async
async def test_a_stream_closed_early_settles_the_usage_its_chunks_carried_async(redis_url: str) -> None:
    async with async_client(redis_url, anthropic_stream, hint="anthropic") as client:
        budget = client.budget
        async with await client.chat_stream(model=CLAUDE, messages=MESSAGES, max_tokens=MAX_TOKENS) as stream:
            await stream.__anext__()
        await budget.drain()
        assert budget.held == 0.0
        assert budget.spent == 0.0
        async with await client.chat_stream(model=CLAUDE, messages=MESSAGES, max_tokens=MAX_TOKENS) as stream:
            for _ in range(4):
                await stream.__anext__()
        await budget.drain()
        assert budget.held == 0.0
        assert budget.spent == pytest.approx(0.35)


@run_async
async def test_a_cancelled_call_releases_its_reservation_async(redis_url: str) -> None:
    import asyncio

    started = asyncio.Event()

    async def never(request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async with liter_llm.create_async_client(
        transport=httpx.MockTransport(never), model_hint="openai", **options(redis_url)
    ) as client:
        task = asyncio.ensure_future(client.chat(model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS))
        await asyncio.wait_for(started.wait(), 30)
        assert client.budget.held == pytest.approx(1.0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await client.budget.drain()
        assert client.budget.held == 0.0
