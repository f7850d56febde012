"""Streaming from the in-process model: chunks, incremental delivery, a free event loop, early close."""

from __future__ import annotations

import time

import anyio
import pytest

import liter_llm
from liter_llm.errors import BadRequestError
from liter_llm.types import ChatCompletionChunk, FinishReason

MODEL = "local/smollm2"
PROMPT = [{"role": "user", "content": "Name three colours."}]
# Warming up: llama.cpp reuses the evaluated prompt of the previous call; a prompt evaluated in one
# batch and one re-used from the cache give slightly different logits, so even greedy decoding
# (temperature 0) may pick another token.  Tests that compare two answers first make the same call
# once, so every compared call starts from the same cache state.
LONG = [{"role": "user", "content": "Write a long story about a dragon who loves colours."}]


def _check_chunks(chunks: list[ChatCompletionChunk], max_tokens: int) -> str:
    assert chunks, "no chunks"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" and c.model == "smollm2" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert 0 < len(texts) <= max_tokens
    assert chunks[-1].choices[0].finish_reason in (FinishReason.STOP, FinishReason.LENGTH)
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    return "".join(texts)


def test_stream_sync_matches_the_whole_answer() -> None:
    with liter_llm.create_client() as client:
        client.chat(model=MODEL, messages=PROMPT, max_tokens=12, temperature=0)  # see 'Warming up'
        whole = client.chat(model=MODEL, messages=PROMPT, max_tokens=12, temperature=0)
        with client.chat_stream(model=MODEL, messages=PROMPT, max_tokens=12, temperature=0) as stream:
            chunks = list(stream)
    text = _check_chunks(chunks, 12)
    assert text == whole.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == whole.choices[0].finish_reason


@pytest.mark.anyio
async def test_stream_async_matches_the_whole_answer() -> None:
    async with liter_llm.create_async_client() as client:
        await client.chat(model=MODEL, messages=PROMPT, max_tokens=12, temperature=0)  # see 'Warming up'
        whole = await client.chat(model=MODEL, messages=PROMPT, max_tokens=12, temperature=0)
        stream = await client.chat_stream(model=MODEL, messages=PROMPT, max_tokens=12, temperature=0)
        async with stream:
            chunks = [chunk async for chunk in stream]
        again = await client.chat_stream(model=MODEL, messages=PROMPT, max_tokens=12, temperature=0)
        assembled = await again.response()
    text = _check_chunks(chunks, 12)
    assert text == whole.choices[0].message.content
    assert assembled.choices[0].message.content == text


def test_sync_stream_is_incremental() -> None:
    """The first token arrives long before a long answer is finished."""
    with liter_llm.create_client() as client:
        started = time.monotonic()
        with client.chat_stream(model=MODEL, messages=LONG, max_tokens=80, temperature=0) as stream:
            arrivals = [time.monotonic() - started for _ in stream]
    assert len(arrivals) > 20
    first, last = arrivals[1], arrivals[-1]
    # Tokens come one by one as the model makes them: decoding 80 tokens takes a good part of a
    # second at least, so the chunks after the first are spread over that time.  Had the stream
    # buffered the answer, they would all arrive within the few milliseconds that handing out 80
    # chunks takes.  A loaded machine only widens the spread (no ratio against the prompt's
    # processing time, which a loaded machine stretches more than the decoding).
    assert last - first > 0.1


@pytest.mark.anyio
async def test_async_stream_does_not_block_the_event_loop() -> None:
    events: list[str] = []
    done = anyio.Event()

    async def ticker() -> None:
        while not done.is_set():
            events.append("tick")
            await anyio.sleep(0.005)

    async with liter_llm.create_async_client() as client, anyio.create_task_group() as group:
        group.start_soon(ticker)
        stream = await client.chat_stream(model=MODEL, messages=LONG, max_tokens=40, temperature=0)
        async with stream:
            async for _ in stream:
                events.append("chunk")
        whole_started = len(events)
        await client.chat(model=MODEL, messages=LONG, max_tokens=40, temperature=0)
        ticks_during_chat = events[whole_started:].count("tick")
        done.set()
    chunk_positions = [i for i, e in enumerate(events) if e == "chunk"]
    ticks_between = events[chunk_positions[0] : chunk_positions[-1]].count("tick")
    assert len(chunk_positions) > 20
    assert ticks_between >= 5, "the event loop was blocked while tokens were generated"
    assert ticks_during_chat >= 5, "the event loop was blocked during a whole (non-streamed) generation"


def test_early_close_sync_stops_generation_and_frees_the_model() -> None:
    with liter_llm.create_client() as client:
        stream = client.chat_stream(model=MODEL, messages=LONG, max_tokens=200, temperature=0)
        received = [next(stream) for _ in range(3)]
        stream.close()
        assert list(stream) == []
        assert len(received) == 3
        # the same thread may use the model at once: the generation was stopped and the model released
        started = time.monotonic()
        after = client.chat(model=MODEL, messages=PROMPT, max_tokens=3, temperature=0)
        assert after.usage is not None
        assert after.usage.completion_tokens == 3
        assert time.monotonic() - started < 30


@pytest.mark.anyio
async def test_early_close_async_stops_generation_and_frees_the_model() -> None:
    async with liter_llm.create_async_client() as client:
        stream = await client.chat_stream(model=MODEL, messages=LONG, max_tokens=200, temperature=0)
        count = 0
        async for _ in stream:
            count += 1
            if count == 3:
                break
        await stream.aclose()
        after = await client.chat(model=MODEL, messages=PROMPT, max_tokens=3, temperature=0)
        assert after.usage is not None
        assert after.usage.completion_tokens == 3
        again = await client.chat_stream(model=MODEL, messages=PROMPT, max_tokens=3, temperature=0)
        assert len([c async for c in again]) >= 2


def test_a_second_call_while_the_same_thread_holds_a_stream_is_refused_sync() -> None:
    """Waiting for the model would never end: the open stream belongs to the caller."""
    with liter_llm.create_client() as client:
        stream = client.chat_stream(model=MODEL, messages=LONG, max_tokens=100, temperature=0)
        next(stream)
        with pytest.raises(BadRequestError) as info:
            client.chat(model=MODEL, messages=PROMPT, max_tokens=3)
        assert info.value.code == "model_busy"
        assert "close it" in info.value.message
        stream.close()
        assert client.chat(model=MODEL, messages=PROMPT, max_tokens=2).choices


@pytest.mark.anyio
async def test_a_second_call_while_the_same_task_holds_a_stream_is_refused_async() -> None:
    async with liter_llm.create_async_client() as client:
        stream = await client.chat_stream(model=MODEL, messages=LONG, max_tokens=100, temperature=0)
        await stream.__anext__()
        with pytest.raises(BadRequestError) as info:
            await client.chat_stream(model=MODEL, messages=PROMPT, max_tokens=3)
        assert info.value.code == "model_busy"
        await stream.aclose()
        assert (await client.chat(model=MODEL, messages=PROMPT, max_tokens=2)).choices


@pytest.mark.anyio
async def test_concurrent_async_calls_are_served_one_after_the_other() -> None:
    async with liter_llm.create_async_client() as client:
        await client.chat(model=MODEL, messages=PROMPT, max_tokens=6, temperature=0)  # see 'Warming up'
        results: list[str | None] = [None, None, None]

        async def one(index: int) -> None:
            response = await client.chat(model=MODEL, messages=PROMPT, max_tokens=6, temperature=0)
            results[index] = response.choices[0].message.content

        async with anyio.create_task_group() as group:
            for index in range(3):
                group.start_soon(one, index)
    assert results[0]
    assert results[0] == results[1] == results[2]
