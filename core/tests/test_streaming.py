"""Streamed chat through both clients: iteration, early close, errors, dropped connections, the assembler, memory."""

from __future__ import annotations

import gc
import json
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

from liter_llm import assemble_stream, hookimpl
from liter_llm.errors import RateLimitedError, SerializationError, StreamingError
from liter_llm.streaming import AsyncChatStream, ChatStream
from liter_llm.testing import RecordingTransport, openai_chunk, sse_body
from liter_llm.types import FinishReason

USER = S.USER
chunk_event = S.chunk_event


def sse_response(body: bytes) -> httpx.Response:
    return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})


def text_of(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_chat_stream_is_an_iterable_context_manager(make: Any) -> None:
    body = sse_body(openai_chunk("Hel", role="assistant"), openai_chunk("lo"), openai_chunk(finish="stop"))
    transport = RecordingTransport(lambda r: sse_response(body))
    api = make(api_key="k", transport=transport)
    view = api.stream(model="fake/m", messages=USER)
    assert isinstance(view.stream, ChatStream if api.mode == "sync" else AsyncChatStream)
    if api.mode == "sync":
        assert iter(view.stream) is view.stream
    else:
        assert view.stream.__aiter__() is view.stream
    with view:
        chunks = list(view)
    assert text_of(chunks) == "Hello"
    assert view.chunks == chunks
    assert json.loads(transport.requests[0].content)["stream"] is True
    assert transport.requests[0].headers["accept"] == "text/event-stream"


def test_early_close_releases_the_connection(make: Any, server: Any) -> None:
    def script(req: Any, out: Any) -> None:
        if req.json().get("stream"):
            out.chunked_head()
            for index in range(200):
                if not out.chunk(chunk_event(f"{index} ")):
                    return
                time.sleep(0.005)
            out.chunk(b"data: [DONE]\n\n")
            out.end_chunks()
        else:
            out.reply(200, S.chat_json("after"))

    server.script = script
    api = make(base_url=server.url + "/v1", timeout_secs=5)
    for _ in range(3):
        stream = api.stream(model="m", messages=USER)
        first = next(stream)
        assert first.choices[0].delta.content == "0 "
        stream.close()
        stream.close()  # closing twice is harmless
        already = len(stream.chunks)
        list(stream)  # a closed stream ends without reading more (chunks already decoded may still come out)
        assert len(stream.chunks) == already
        answer = api.chat(model="m", messages=USER)
        assert answer.choices[0].message.content == "after"
    deadline = time.monotonic() + 2
    while server.open_connections > 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.open_connections <= 1  # the early-closed connections were closed, not left in the pool
    # and the pool is healthy: further calls share one kept-alive connection
    before = len(server.requests)
    for _ in range(3):
        api.chat(model="m", messages=USER)
    assert len({r.connection for r in server.requests[before:]}) == 1


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_breaking_out_of_a_with_block_closes_the_stream(make: Any, server: Any) -> None:
    """And leaves nothing for the event loop to close: Python 3.13 warned "coroutine method 'aclose' ...
    was never awaited" when the transport's body iterator was an async generator the caller stopped
    reading (closed by the loop's finalizer hook after the loop had closed); here that is an error."""

    def script(req: Any, out: Any) -> None:
        out.chunked_head()
        for index in range(100):
            if not out.chunk(chunk_event(f"{index}")):
                return
            time.sleep(0.005)
        out.end_chunks()

    server.script = script
    api = make(base_url=server.url + "/v1")
    with api.stream(model="m", messages=USER) as stream:
        for chunk in stream:
            if chunk.choices[0].delta.content == "2":
                break
    assert stream.stream._closed
    assert len(stream.chunks) >= 3


def test_an_error_inside_the_stream_raises_the_mapped_error(make: Any) -> None:
    body = (
        sse_body(openai_chunk("partial"), done=False)
        + b'data: {"error": {"message": "slow down", "type": "rate_limit_error"}}\n\n'
    )
    api = make(api_key="k", transport=RecordingTransport(lambda r: sse_response(body)), max_retries=3)
    received = []
    with pytest.raises(RateLimitedError, match="slow down") as info:
        received.extend(api.stream(model="fake/m", messages=USER))
    assert info.value.provider == "fake"
    # the error carries what arrived; chunks decoded in the same read as the error come only with it
    assert text_of(info.value.chunks) == "partial"  # type: ignore[attr-defined]
    assert "partial".startswith(text_of(received))


@pytest.mark.parametrize("how", ["chunked-drop", "eof-before-done"])
def test_a_connection_dropped_mid_stream_is_a_streaming_error_with_the_chunks(make: Any, server: Any, how: str) -> None:
    def script(req: Any, out: Any) -> None:
        if how == "chunked-drop":
            out.chunked_head()
            out.chunk(chunk_event("a") + chunk_event("b"))
            time.sleep(0.05)
            out.chunk(b'data: {"id": "chunk-1", "choi')  # half an event
        else:
            out.head(200, {"content-type": "text/event-stream", "connection": "close"})
            out.send(chunk_event("a") + chunk_event("b"))
        time.sleep(0.05)
        out.drop()

    server.script = script
    api = make(base_url=server.url + "/v1", max_retries=2)
    received = []
    with pytest.raises(StreamingError) as info:
        received.extend(api.stream(model="m", messages=USER))
    assert text_of(received) == "ab"
    assert text_of(info.value.chunks) == "ab"
    assert info.value.provider == "gateway"
    assert len(server.requests) == 1


def in_pieces(mode: str, *parts: bytes) -> httpx.Response:
    """A streamed answer that arrives in separate reads."""

    async def apieces() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    content: Any = iter(parts) if mode == "sync" else apieces()
    return httpx.Response(200, content=content, headers={"content-type": "text/event-stream"})


def test_invalid_utf8_in_a_stream_is_a_streaming_error(make: Any) -> None:
    good = sse_body(openai_chunk("ok"), done=False)
    api = make(api_key="k", transport=httpx.MockTransport(lambda r: in_pieces(make.mode, good, b"data: \xff\xfe\n\n")))
    with pytest.raises(StreamingError) as info:
        api.collect(model="fake/m", messages=USER)
    assert text_of(info.value.chunks) == "ok"


# ---------------------------------------------------------------------------
# The assembler
# ---------------------------------------------------------------------------


def tool_delta(
    index: int, *, call_id: str | None = None, name: str | None = None, args: str | None = None
) -> dict[str, Any]:
    function: dict[str, Any] = {}
    if name is not None:
        function["name"] = name
    if args is not None:
        function["arguments"] = args
    delta: dict[str, Any] = {"index": index, "function": function}
    if call_id is not None:
        delta["id"] = call_id
        delta["type"] = "function"
    return delta


ASSEMBLY = [
    openai_chunk(role="assistant", content=""),
    openai_chunk("The weather "),
    openai_chunk("in two cities:"),
    openai_chunk(tool_calls=[tool_delta(0, call_id="call_a", name="get_weather", args="")]),
    openai_chunk(tool_calls=[tool_delta(0, args='{"city": ')]),
    openai_chunk(tool_calls=[tool_delta(1, call_id="call_b", name="get_weather", args='{"ci')]),
    openai_chunk(tool_calls=[tool_delta(0, args='"Paris"}')]),
    openai_chunk(tool_calls=[tool_delta(1, args='ty": "Oslo"}')]),
    openai_chunk(finish="tool_calls"),
    {"id": "chunk-1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [],
     "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}},
]  # fmt: skip


def test_the_assembler_builds_content_tool_calls_finish_and_usage(make: Any) -> None:
    body = sse_body(*ASSEMBLY)
    api = make(api_key="k", transport=RecordingTransport(lambda r: sse_response(body)))
    stream = api.stream(model="fake/m", messages=USER, stream_options={"include_usage": True})
    response = stream.response()
    message = response.choices[0].message
    assert message.content == "The weather in two cities:"
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls] == [
        ("call_a", "get_weather", {"city": "Paris"}),
        ("call_b", "get_weather", {"city": "Oslo"}),
    ]
    assert response.choices[0].finish_reason == FinishReason.TOOL_CALLS
    assert response.usage is not None
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (11, 7)
    assert response.id == "chunk-1"
    assert response.model == "m"
    assert assemble_stream(stream.chunks) == response


def test_the_assembler_keeps_refusals_and_choices_apart() -> None:
    from liter_llm.types import ChatCompletionChunk

    second = openai_chunk("other")
    second["choices"][0]["index"] = 1
    payloads = [
        openai_chunk(refusal="I can't "),
        second,
        openai_chunk(refusal="help with that."),
        openai_chunk(finish="stop"),
    ]
    chunks = [ChatCompletionChunk.from_dict(p) for p in payloads]
    response = assemble_stream(chunks)
    assert [c.index for c in response.choices] == [0, 1]
    assert response.choices[0].message.refusal == "I can't help with that."
    assert response.choices[0].message.content is None
    assert response.choices[1].message.content == "other"
    assert response.choices[0].finish_reason == FinishReason.STOP
    assert response.usage is None


# ---------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------

N_CHUNKS = 8_000


def long_stream(mode: str) -> httpx.Response:
    event = chunk_event("x")
    done = b"data: [DONE]\n\n"

    def pieces() -> Iterator[bytes]:
        for _ in range(N_CHUNKS // 50):
            yield event * 50
        yield done

    async def apieces() -> AsyncIterator[bytes]:
        for piece in pieces():
            yield piece

    content: Any = pieces() if mode == "sync" else apieces()
    return httpx.Response(200, content=content, headers={"content-type": "text/event-stream"})


def test_a_long_stream_keeps_only_the_chunk_list(make: Any) -> None:
    api = make(api_key="k", transport=httpx.MockTransport(lambda r: long_stream(make.mode)))
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        stream = api.stream(model="fake/m", messages=USER)
        count = 0
        for _ in stream:
            count += 1
        assert count == N_CHUNKS
        assert len(stream.stream._core.pending) == 0
        gc.collect()
        with_chunks = tracemalloc.get_traced_memory()[0] - baseline
        chunks = stream.stream._core.chunks
        assert len(chunks) == N_CHUNKS
        del chunks
        stream.close()
        del stream
        gc.collect()
        after = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    # while the stream lives it holds the chunks (each a few small objects), nothing per chunk beyond them
    assert with_chunks / N_CHUNKS < 4000, with_chunks
    # once the stream is gone, nothing of it stays behind
    assert after < 300_000, after


# ---------------------------------------------------------------------------
# [DONE] ends the stream
# ---------------------------------------------------------------------------


def test_done_ends_the_stream_reads_nothing_more_and_releases_the_connection(make: Any, server: Any) -> None:
    closed = []

    def script(req: Any, out: Any) -> None:
        out.chunked_head()
        # [DONE], then more events in the same piece and in a later one, then the body stays open
        out.chunk(chunk_event("a", role="assistant") + b"data: [DONE]\n\n" + chunk_event("after-done"))
        time.sleep(0.1)
        out.chunk(chunk_event("later"))
        if S.hold_open(out, 20):
            closed.append(True)

    server.script = script
    recorder = Recorder()
    api = make(base_url=server.url + "/v1", timeout_secs=30, hooks=[recorder])
    began = time.monotonic()
    with api.stream(model="m", messages=USER) as stream:
        chunks = list(stream)
    assert time.monotonic() - began < 5  # not the 20 s the server holds the body open
    assert text_of(chunks) == "a"
    assert text_of(stream.chunks) == "a"  # nothing after [DONE] was parsed either
    assert S.wait_until(lambda: bool(closed))  # the connection was released (closed: its body never ended)
    assert len(recorder.responses) == 1
    assert recorder.errors == []


def test_done_followed_by_the_end_of_the_body_keeps_the_connection_for_the_next_call(make: Any, server: Any) -> None:
    def script(req: Any, out: Any) -> None:
        if req.json().get("stream"):
            out.chunked_head()
            out.chunk(chunk_event("a") + b"data: [DONE]\n\n")
            out.end_chunks()
        else:
            out.reply(200, S.chat_json("after"))

    server.script = script
    api = make(base_url=server.url + "/v1", timeout_secs=30)
    for _ in range(3):
        assert text_of(api.collect(model="m", messages=USER)) == "a"
    assert api.chat(model="m", messages=USER).choices[0].message.content == "after"
    assert len({r.connection for r in server.requests}) == 1


class Recorder:
    """A hook recording what on_response and on_error saw."""

    def __init__(self) -> None:
        self.responses: list[Any] = []
        self.errors: list[Any] = []

    @hookimpl
    def on_response(self, call: Any, response: Any) -> None:
        self.responses.append(response)

    @hookimpl
    def on_error(self, call: Any, error: Any) -> None:
        self.errors.append(error)


# ---------------------------------------------------------------------------
# A JSON answer (or another non-event-stream answer) to a stream request
# ---------------------------------------------------------------------------

JSON_ANSWER = {
    "id": "chatcmpl-json",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "m-1",
    "system_fingerprint": "fp_1",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Let me look.",
                "tool_calls": [
                    {"id": "call_a", "type": "function",
                     "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
                    {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
                ],
            },
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13},
}  # fmt: skip


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_a_json_answer_to_a_stream_request_is_served_as_chunks(make: Any, server: Any, content_type: str) -> None:
    server.script = lambda req, out: out.reply(200, json.dumps(JSON_ANSWER).encode(), {"content-type": content_type})
    recorder = Recorder()
    api = make(base_url=server.url + "/v1", hooks=[recorder])
    with api.stream(model="m", messages=USER) as stream:
        chunks = list(stream)
    assert chunks, "the answer came as chunks"
    assert all(c.object == "chat.completion.chunk" and c.id == "chatcmpl-json" for c in chunks)
    assert text_of(chunks) == "Let me look."
    response = stream.response()
    assert response.id == "chatcmpl-json"
    assert response.model == "m-1"
    assert response.system_fingerprint == "fp_1"
    message = response.choices[0].message
    assert message.content == "Let me look."
    assert [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls] == [
        ("call_a", "get_weather", '{"city": "Paris"}'),
        ("call_b", "get_time", "{}"),
    ]
    assert response.choices[0].finish_reason == FinishReason.TOOL_CALLS
    assert response.usage is not None
    assert (response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.total_tokens) == (9, 4, 13)
    assert recorder.errors == []
    assert recorder.responses == [response]
    assert server.requests[0].json()["stream"] is True


def test_a_json_error_answer_to_a_stream_request_is_that_error(make: Any, server: Any) -> None:
    body = b'{"error": {"message": "slow down", "type": "rate_limit_error"}}'
    server.script = lambda req, out: out.reply(200, body)
    api = make(base_url=server.url + "/v1")
    with pytest.raises(RateLimitedError, match="slow down"):
        api.collect(model="m", messages=USER)


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "text/plain", "application/octet-stream"])
def test_another_non_event_stream_answer_is_a_serialization_error_naming_its_type(
    make: Any, server: Any, content_type: str
) -> None:
    page = b"<html><body>Welcome to the captive portal</body></html>"
    server.script = lambda req, out: out.reply(200, page, {"content-type": content_type})
    recorder = Recorder()
    api = make(base_url=server.url + "/v1", hooks=[recorder])
    with pytest.raises(SerializationError) as info:
        api.collect(model="m", messages=USER)
    assert content_type.split(";", maxsplit=1)[0] in str(info.value)
    assert "text/event-stream" in str(info.value)
    assert recorder.errors == [info.value]
    # the connection is usable afterwards
    server.script = lambda req, out: out.reply(200, S.chat_json("after"))
    assert api.chat(model="m", messages=USER).choices[0].message.content == "after"


# ---------------------------------------------------------------------------
# Tool-call deltas without index
# ---------------------------------------------------------------------------


def no_index_delta(call_id: str | None = None, *, name: str | None = None, args: str | None = None) -> dict[str, Any]:
    delta = tool_delta(0, call_id=call_id, name=name, args=args)
    del delta["index"]
    return delta


def test_parallel_tool_calls_without_index_stay_apart(make: Any) -> None:
    body = sse_body(
        openai_chunk(role="assistant"),
        openai_chunk(tool_calls=[no_index_delta("call_f", name="f", args="")]),
        openai_chunk(tool_calls=[no_index_delta(args='{"x":')]),  # neither id nor index: the last call
        openai_chunk(tool_calls=[no_index_delta(args="1}")]),
        openai_chunk(tool_calls=[no_index_delta("call_g", name="g", args='{"y":2}')]),
        openai_chunk(finish="tool_calls"),
    )
    api = make(api_key="k", transport=RecordingTransport(lambda r: sse_response(body)))
    stream = api.stream(model="fake/m", messages=USER)
    response = stream.response()
    calls = response.choices[0].message.tool_calls
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        ("call_f", "f", '{"x":1}'),
        ("call_g", "g", '{"y":2}'),
    ]
    # the chunks themselves carry each call's own index
    indexes = [tc.index for chunk in stream.chunks for choice in chunk.choices for tc in choice.delta.tool_calls]
    assert indexes == [0, 0, 0, 1]
    assert assemble_stream(stream.chunks) == response


def test_a_repeated_function_name_is_not_doubled(make: Any) -> None:
    body = sse_body(
        openai_chunk(tool_calls=[tool_delta(0, call_id="call_1", name="get_weather", args='{"city":')]),
        openai_chunk(tool_calls=[tool_delta(0, call_id="call_1", name="get_weather", args=' "Oslo"}')]),
        openai_chunk(tool_calls=[no_index_delta("call_2", name="get_time", args="{")]),
        openai_chunk(tool_calls=[no_index_delta("call_2", name="get_time", args="}")]),
        openai_chunk(finish="tool_calls"),
    )
    api = make(api_key="k", transport=RecordingTransport(lambda r: sse_response(body)))
    response = api.stream(model="fake/m", messages=USER).response()
    assert [(c.id, c.function.name, c.function.arguments) for c in response.choices[0].message.tool_calls] == [
        ("call_1", "get_weather", '{"city": "Oslo"}'),
        ("call_2", "get_time", "{}"),
    ]


def test_the_assembler_splits_calls_by_id_even_when_chunks_share_an_index() -> None:
    from liter_llm.types import ChatCompletionChunk

    payloads = [
        openai_chunk(tool_calls=[tool_delta(0, call_id="call_f", name="f", args='{"x":1}')]),
        openai_chunk(tool_calls=[tool_delta(0, call_id="call_g", name="g", args='{"y":2}')]),
        openai_chunk(tool_calls=[tool_delta(0, call_id="call_f", args="")]),
        openai_chunk(finish="tool_calls"),
    ]
    response = assemble_stream([ChatCompletionChunk.from_dict(p) for p in payloads])
    assert [(c.id, c.function.name, c.function.arguments) for c in response.choices[0].message.tool_calls] == [
        ("call_f", "f", '{"x":1}'),
        ("call_g", "g", '{"y":2}'),
    ]


def test_the_assembler_orders_tool_calls_by_index() -> None:
    from liter_llm.types import ChatCompletionChunk

    payloads = [
        openai_chunk(tool_calls=[tool_delta(1, call_id="call_b", name="b", args="{}")]),
        openai_chunk(tool_calls=[tool_delta(0, call_id="call_a", name="a", args="{}")]),
    ]
    response = assemble_stream([ChatCompletionChunk.from_dict(p) for p in payloads])
    assert [c.id for c in response.choices[0].message.tool_calls] == ["call_a", "call_b"]
