"""The ``llamacpp/`` provider against a real llama.cpp OpenAI-compatible server, through both clients.

The server (``python -m llama_cpp.server``, SmolLM2-135M) is started by the
fixtures in conftest.py.  The tests check structure, never wording.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING

import anyio
import pytest

import liter_llm
from liter_llm.errors import StreamingError
from liter_llm.types import ChatCompletionChunk, ChatCompletionResponse, FinishReason

if TYPE_CHECKING:
    from .conftest import LlamaServer

# A real model answers in a second or two on an idle machine, but a loaded 2-core machine (a
# loaded CI run, other suites beside it) has been seen to take over a minute for one answer:
# calls and tests get room for that instead of the defaults (60 s per call, 120 s per test).
CALL_TIMEOUT = 300
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

MODEL = "llamacpp/smollm2"
PROMPT = [{"role": "user", "content": "Name three colours."}]
JSON_PROMPT = [{"role": "user", "content": 'Reply with a JSON object like {"colour": "red"}.'}]
COUNT = [{"role": "user", "content": "Count from 1 to 300, one number per line."}]


def _check_chat(response: ChatCompletionResponse, max_tokens: int) -> None:
    assert response.id
    assert response.object == "chat.completion"
    assert len(response.choices) == 1
    choice = response.choices[0]
    assert choice.message.content
    assert choice.finish_reason in (FinishReason.STOP, FinishReason.LENGTH)
    assert response.usage is not None
    assert response.usage.prompt_tokens > 0
    assert 0 < response.usage.completion_tokens <= max_tokens


def _check_stream(chunks: list[ChatCompletionChunk], max_tokens: int) -> str:
    assert chunks
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert 1 < len(texts) <= max_tokens
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [FinishReason.LENGTH] or finishes == [FinishReason.STOP]
    return "".join(texts)


# -- chat -----------------------------------------------------------------------------------------


def test_chat_sync(llamacpp_url: str) -> None:
    with liter_llm.create_client(timeout_secs=CALL_TIMEOUT) as client:
        response = client.chat(model=MODEL, messages=PROMPT, max_tokens=8, temperature=0)
    _check_chat(response, 8)


@pytest.mark.anyio
async def test_chat_async(llamacpp_url: str) -> None:
    async with liter_llm.create_async_client(timeout_secs=CALL_TIMEOUT) as client:
        response = await client.chat(model=MODEL, messages=PROMPT, max_tokens=8, temperature=0)
    _check_chat(response, 8)


# -- streaming ------------------------------------------------------------------------------------


def test_stream_sync(llamacpp_url: str) -> None:
    with liter_llm.create_client(timeout_secs=CALL_TIMEOUT) as client:
        stream = client.chat_stream(model=MODEL, messages=PROMPT, max_tokens=8, temperature=0)
        with stream:
            chunks = list(stream)
        text = _check_stream(chunks, 8)
        # the [DONE] marker ended the stream normally, so it assembles to the same text
        assert stream.response().choices[0].message.content == text


@pytest.mark.anyio
async def test_stream_async(llamacpp_url: str) -> None:
    async with liter_llm.create_async_client(timeout_secs=CALL_TIMEOUT) as client:
        stream = await client.chat_stream(model=MODEL, messages=PROMPT, max_tokens=8, temperature=0)
        async with stream:
            chunks = [chunk async for chunk in stream]
        text = _check_stream(chunks, 8)
        assert (await stream.response()).choices[0].message.content == text


# -- models ---------------------------------------------------------------------------------------


def test_list_models_sync(llamacpp_url: str) -> None:
    with liter_llm.create_client(timeout_secs=CALL_TIMEOUT) as client:
        listing = client.list_models(provider="llamacpp")
    assert [model.id for model in listing.data] == ["smollm2"]


@pytest.mark.anyio
async def test_list_models_async(llamacpp_url: str) -> None:
    async with liter_llm.create_async_client(model_hint="llamacpp", timeout_secs=CALL_TIMEOUT) as client:
        listing = await client.list_models()
    assert [model.id for model in listing.data] == ["smollm2"]


# -- JSON mode ------------------------------------------------------------------------------------


def test_json_object_sync(llamacpp_url: str) -> None:
    with liter_llm.create_client(timeout_secs=CALL_TIMEOUT) as client:
        response = client.chat(
            model=MODEL, messages=JSON_PROMPT, response_format={"type": "json_object"}, max_tokens=80, temperature=0
        )
    assert response.choices[0].finish_reason == FinishReason.STOP
    assert isinstance(json.loads(response.choices[0].message.content or ""), dict)


@pytest.mark.anyio
async def test_json_object_async(llamacpp_url: str) -> None:
    async with liter_llm.create_async_client(timeout_secs=CALL_TIMEOUT) as client:
        response = await client.chat(
            model=MODEL, messages=JSON_PROMPT, response_format={"type": "json_object"}, max_tokens=80, temperature=0
        )
    assert response.choices[0].finish_reason == FinishReason.STOP
    assert isinstance(json.loads(response.choices[0].message.content or ""), dict)


# -- a stream closed early ------------------------------------------------------------------------


def test_stream_closed_early_releases_the_connection_sync(llamacpp_url: str) -> None:
    with liter_llm.create_client(timeout_secs=CALL_TIMEOUT) as client:
        stream = client.chat_stream(model=MODEL, messages=COUNT, max_tokens=60, temperature=0)
        first = [next(stream) for _ in range(3)]
        stream.close()
        assert len(first) == 3
        assert list(stream) == []
        after = client.chat(model=MODEL, messages=PROMPT, max_tokens=4, temperature=0)
        _check_chat(after, 4)
        again = client.chat_stream(model=MODEL, messages=PROMPT, max_tokens=4, temperature=0)
        _check_stream(list(again), 4)


@pytest.mark.anyio
async def test_stream_closed_early_releases_the_connection_async(llamacpp_url: str) -> None:
    async with liter_llm.create_async_client(timeout_secs=CALL_TIMEOUT) as client:
        stream = await client.chat_stream(model=MODEL, messages=COUNT, max_tokens=60, temperature=0)
        count = 0
        async for _ in stream:
            count += 1
            if count == 3:
                break
        await stream.aclose()
        with anyio.fail_after(120):
            after = await client.chat(model=MODEL, messages=PROMPT, max_tokens=4, temperature=0)
            again = await client.chat_stream(model=MODEL, messages=PROMPT, max_tokens=4, temperature=0)
            chunks = [chunk async for chunk in again]
        _check_chat(after, 4)
        _check_stream(chunks, 4)


# -- the server dies mid-stream -------------------------------------------------------------------


def _drain(stream: Iterator[ChatCompletionChunk], into: list[ChatCompletionChunk]) -> None:
    for chunk in stream:
        into.append(chunk)


async def _adrain(stream: AsyncIterator[ChatCompletionChunk], into: list[ChatCompletionChunk]) -> None:
    async for chunk in stream:
        into.append(chunk)


def _partial(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_server_killed_mid_stream_sync(
    start_llama_server: Callable[[], LlamaServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_llama_server()  # a private server: the shared one survives
    monkeypatch.setenv("LLAMACPP_BASE_URL", server.base_url)
    with liter_llm.create_client(timeout_secs=CALL_TIMEOUT) as client:
        stream = client.chat_stream(model=MODEL, messages=COUNT, max_tokens=200, temperature=0)
        received = [next(stream) for _ in range(4)]
        server.kill()
        with pytest.raises(StreamingError) as info:
            _drain(stream, received)
    error = info.value
    assert error.provider == "llamacpp"
    assert error.chunks[: len(received)] == received
    assert len(error.chunks) < 200
    assert _partial(error.chunks)
    assert _partial(received) in _partial(error.chunks)
    assert all(c.choices[0].finish_reason is None for c in error.chunks if c.choices)


@pytest.mark.anyio
async def test_server_killed_mid_stream_async(
    start_llama_server: Callable[[], LlamaServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_llama_server()
    monkeypatch.setenv("LLAMACPP_BASE_URL", server.base_url)
    async with liter_llm.create_async_client(timeout_secs=CALL_TIMEOUT) as client:
        stream = await client.chat_stream(model=MODEL, messages=COUNT, max_tokens=200, temperature=0)
        received = [await stream.__anext__() for _ in range(4)]
        server.kill()
        with pytest.raises(StreamingError) as info:
            await _adrain(stream, received)
    error = info.value
    assert error.chunks[: len(received)] == received
    assert len(error.chunks) < 200
    assert _partial(error.chunks)
    assert all(c.choices[0].finish_reason is None for c in error.chunks if c.choices)
