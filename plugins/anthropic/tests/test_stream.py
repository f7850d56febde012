"""Anthropic's named SSE events -> ChatCompletionChunk, through both clients."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from liter_llm.errors import (
    ContextWindowExceededError,
    LiterLlmError,
    RateLimitedError,
    SerializationError,
    ServerError,
    ServiceUnavailableError,
    StreamingError,
)
from liter_llm.streaming import assemble_stream
from liter_llm.types import ChatCompletionChunk, FinishReason, PromptTokensDetails, Usage

from .conftest import Runner, fixture_text, sse_response

REQUEST = {"model": "claude-opus-4-20250514", "messages": [{"role": "user", "content": "Hello"}]}


def event(name: str, **data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"


def start(usage: dict[str, Any] | None = None) -> str:
    message = {
        "id": "msg_stream",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": "claude-opus-4-20250514",
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage or {"input_tokens": 10, "output_tokens": 1},
    }
    return event("message_start", message=message)


def end(stop_reason: str = "end_turn", output_tokens: int = 3) -> str:
    return event(
        "message_delta",
        delta={"stop_reason": stop_reason, "stop_sequence": None},
        usage={"output_tokens": output_tokens},
    ) + event("message_stop")


def stream(run: Runner, body: str, **request: Any) -> list[ChatCompletionChunk]:
    chunks: list[ChatCompletionChunk] = run("chat_stream", lambda _: sse_response(body), {**REQUEST, **request})
    return chunks


def text_of(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_text_stream(run: Runner) -> None:
    chunks = stream(run, fixture_text("stream_text.sse"))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.id == "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY" for c in chunks)
    assert all(c.model == "claude-opus-4-20250514" for c in chunks)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content] == ["Hello", "!"]
    assert all(c.choices[0].finish_reason is None and c.usage is None for c in chunks[:-1])
    last = chunks[-1]
    assert last.choices[0].finish_reason is FinishReason.STOP
    assert last.usage == Usage(prompt_tokens=25, completion_tokens=15, total_tokens=40)
    assembled = assemble_stream(chunks)
    assert assembled.choices[0].message.content == "Hello!"
    assert assembled.id == "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY"


def test_tool_use_stream(run: Runner) -> None:
    chunks = stream(run, fixture_text("stream_tool_use.sse"))
    assert text_of(chunks) == "Okay, let's check the weather for San Francisco, CA:"
    deltas = [call for c in chunks for call in c.choices[0].delta.tool_calls]
    assert {d.index for d in deltas} == {0}, "the first tool call is tool call 0, whatever its block index"
    first = deltas[0]
    assert first.id == "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
    assert first.function is not None
    assert first.function.name == "get_weather"
    assert all(d.id is None and d.function is not None and d.function.name is None for d in deltas[1:])
    arguments = "".join(d.function.arguments or "" for d in deltas if d.function)
    assert arguments == '{"location": "San Francisco, CA", "unit": "fahrenheit"}'
    assert chunks[-1].choices[0].finish_reason is FinishReason.TOOL_CALLS
    assert chunks[-1].usage == Usage(prompt_tokens=472, completion_tokens=89, total_tokens=561)
    assembled = assemble_stream(chunks).choices[0].message
    [call] = assembled.tool_calls
    assert call.id == "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
    assert json.loads(call.function.arguments) == {"location": "San Francisco, CA", "unit": "fahrenheit"}


def test_parallel_tool_calls_are_numbered_among_tool_calls(run: Runner) -> None:
    def tool(index: int, tool_id: str, name: str, parts: list[str]) -> str:
        out = event(
            "content_block_start",
            index=index,
            content_block={"type": "tool_use", "id": tool_id, "name": name, "input": {}},
        )
        out += "".join(
            event("content_block_delta", index=index, delta={"type": "input_json_delta", "partial_json": p})
            for p in parts
        )
        return out + event("content_block_stop", index=index)

    body = (
        start()
        + event("content_block_start", index=0, content_block={"type": "text", "text": ""})
        + event("content_block_delta", index=0, delta={"type": "text_delta", "text": "Checking both."})
        + event("content_block_stop", index=0)
        + tool(1, "toolu_a", "get_weather", ['{"location"', ': "Paris"}'])
        + tool(2, "toolu_b", "get_time", [""])
        + end("tool_use")
    )
    chunks = stream(run, body)
    message = assemble_stream(chunks).choices[0].message
    assert [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls] == [
        ("toolu_a", "get_weather", '{"location": "Paris"}'),
        ("toolu_b", "get_time", "{}"),
    ]
    indexes = [call.index for c in chunks for call in c.choices[0].delta.tool_calls]
    assert sorted(set(indexes)) == [0, 1]


def test_thinking_stream(run: Runner) -> None:
    chunks = stream(run, fixture_text("stream_thinking.sse"), reasoning_effort="low")
    assert text_of(chunks) == "27 * 453 = 12,231"
    reasoning = "".join(c.choices[0].delta.reasoning_content or "" for c in chunks)
    assert reasoning == "Let me solve this step by step:\n\n1. First break down 27 * 453\n2. 453 = 400 + 50 + 3"
    assert "EqQBCg" not in json.dumps([c.to_dict() for c in chunks]), "the signature must not leak"
    assert chunks[-1].choices[0].finish_reason is FinishReason.STOP
    assert chunks[-1].usage is None, "the documented example reports no usage"
    message = assemble_stream(chunks).choices[0].message
    assert message.content == "27 * 453 = 12,231"
    assert message.reasoning_content is not None
    assert message.reasoning_content.startswith("Let me solve")


def test_cache_usage_in_stream(run: Runner) -> None:
    body = (
        start(
            {
                "input_tokens": 21,
                "cache_creation_input_tokens": 100,
                "cache_read_input_tokens": 2048,
                "output_tokens": 1,
            }
        )
        + event("content_block_start", index=0, content_block={"type": "text", "text": ""})
        + event("content_block_delta", index=0, delta={"type": "text_delta", "text": "ok"})
        + event("content_block_stop", index=0)
        + end(output_tokens=393)
    )
    chunks = stream(run, body)
    assert chunks[-1].usage == Usage(
        prompt_tokens=21 + 100 + 2048,
        completion_tokens=393,
        total_tokens=21 + 100 + 2048 + 393,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=2048, cache_creation_tokens=100),
    )


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", FinishReason.STOP),
        ("stop_sequence", FinishReason.STOP),
        ("max_tokens", FinishReason.LENGTH),
        ("tool_use", FinishReason.TOOL_CALLS),
        ("refusal", FinishReason.CONTENT_FILTER),
    ],
)
def test_stream_stop_reasons(run: Runner, stop_reason: str, finish: FinishReason) -> None:
    chunks = stream(run, start() + end(stop_reason))
    assert chunks[-1].choices[0].finish_reason is finish


def test_json_mode_streams_the_forced_tool_input_as_content(run: Runner) -> None:
    body = (
        start()
        + event(
            "content_block_start",
            index=0,
            content_block={"type": "tool_use", "id": "toolu_json", "name": "person", "input": {}},
        )
        + event("content_block_delta", index=0, delta={"type": "input_json_delta", "partial_json": ""})
        + event("content_block_delta", index=0, delta={"type": "input_json_delta", "partial_json": '{"name": "Ada",'})
        + event("content_block_delta", index=0, delta={"type": "input_json_delta", "partial_json": ' "age": 36}'})
        + event("content_block_stop", index=0)
        + end("tool_use")
    )
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": {"type": "object"}}}
    chunks = stream(run, body, response_format=fmt)
    assert json.loads(text_of(chunks)) == {"name": "Ada", "age": 36}
    assert all(not c.choices[0].delta.tool_calls for c in chunks)
    assert chunks[-1].choices[0].finish_reason is FinishReason.STOP


def test_unknown_events_and_deltas_are_skipped(run: Runner) -> None:
    body = (
        start()
        + event("content_block_start", index=0, content_block={"type": "text", "text": ""})
        + event("content_block_delta", index=0, delta={"type": "citations_delta", "citation": {}})
        + event("content_block_delta", index=0, delta={"type": "text_delta", "text": "ok"})
        + event("a_future_event", detail=1)
        + event("ping")
        + event("content_block_stop", index=0)
        + end()
    )
    chunks = stream(run, body)
    assert text_of(chunks) == "ok"


@pytest.mark.parametrize(
    ("error_type", "message", "kind", "status"),
    [
        ("overloaded_error", "Overloaded", ServiceUnavailableError, 529),
        ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", RateLimitedError, 429),
        (
            "invalid_request_error",
            "prompt is too long: 203000 tokens > 200000 maximum",
            ContextWindowExceededError,
            400,
        ),
        ("api_error", "Internal server error", ServerError, 500),
        ("something_new", "???", ServerError, 500),
    ],
)
def test_error_event_raises_the_mapped_error(
    run: Runner, error_type: str, message: str, kind: type[LiterLlmError], status: int
) -> None:
    body = fixture_text("stream_error.sse").replace('"overloaded_error"', json.dumps(error_type))
    body = body.replace('"Overloaded"', json.dumps(message))
    with pytest.raises(kind) as info:
        stream(run, body)
    error = info.value
    assert error.status_code == status
    assert error.provider == "anthropic"
    assert error.code == error_type
    assert message in error.message
    chunks = getattr(error, "chunks", [])
    assert text_of(chunks) == "Hello", "what arrived before the error is kept"


def test_stream_without_its_end_raises_streaming_error(run: Runner) -> None:
    body = (
        start()
        + event("content_block_start", index=0, content_block={"type": "text", "text": ""})
        + event("content_block_delta", index=0, delta={"type": "text_delta", "text": "Hel"})
        + event("content_block_stop", index=0)
    )
    with pytest.raises(StreamingError) as info:
        stream(run, body)
    assert text_of(info.value.chunks) == "Hel"


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("event: content_block_delta\ndata: {not json\n\n", "not valid JSON"),
        ("event: content_block_delta\ndata: [1]\n\n", "not a JSON object"),
        (event("content_block_delta", index=7, delta={"type": "text_delta", "text": "x"}), "never started"),
        (event("content_block_delta", index="0", delta={"type": "text_delta", "text": "x"}), "index"),
        (event("content_block_delta", index=0, delta={"type": "text_delta", "text": 5}), "text"),
        (event("content_block_start", index=1, content_block="text"), "content_block"),
        (event("message_delta", delta={"stop_reason": "end_turn"}, usage={"output_tokens": -1}), "output_tokens"),
    ],
)
def test_malformed_events_raise_a_clear_error(run: Runner, bad: str, words: str) -> None:
    body = start() + event("content_block_start", index=0, content_block={"type": "text", "text": ""}) + bad + end()
    with pytest.raises(SerializationError) as info:
        stream(run, body)
    assert words in info.value.message
    assert info.value.provider == "anthropic"


def test_an_error_status_before_the_stream_is_mapped(run: Runner) -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(
            529, json={"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        )

    with pytest.raises(ServiceUnavailableError) as info:
        run("chat_stream", handler, REQUEST)
    assert info.value.status_code == 529
    assert info.value.message == "Overloaded"


class _DroppingStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Sends the first events, then the connection breaks."""

    def __init__(self, first: bytes) -> None:
        self.first = first

    def __iter__(self) -> Any:
        yield self.first
        raise httpx.ReadError("connection reset by peer")

    async def __aiter__(self) -> Any:
        yield self.first
        raise httpx.ReadError("connection reset by peer")


def test_a_dropped_connection_keeps_what_arrived(run: Runner) -> None:
    first = (
        start()
        + event("content_block_start", index=0, content_block={"type": "text", "text": ""})
        + event("content_block_delta", index=0, delta={"type": "text_delta", "text": "Hel"})
    ).encode()

    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_DroppingStream(first), headers={"content-type": "text/event-stream"})

    with pytest.raises(StreamingError) as info:
        run("chat_stream", handler, REQUEST)
    assert text_of(info.value.chunks) == "Hel"
    assert info.value.provider == "anthropic"
