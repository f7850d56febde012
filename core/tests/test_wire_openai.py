"""The core's OpenAI wire defaults (``liter_llm._wire``), through a gateway client (no provider plugin needed)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

import liter_llm
from liter_llm import types as t
from liter_llm.errors import (
    AuthenticationError,
    BadRequestError,
    LiterLlmError,
    NotFoundError,
    RateLimitedError,
    SerializationError,
    ServerError,
    ServiceUnavailableError,
)

GATEWAY = "http://127.0.0.1:9/gw/v1"
MODES = ("sync", "async")
USER = [{"role": "user", "content": "hi"}]


def run(mode: str, reply: Any, method: str, **kwargs: Any) -> tuple[Any, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return reply(request) if callable(reply) else reply

    options = {"base_url": GATEWAY, "max_retries": 0, "transport": httpx.MockTransport(handler)}
    if mode == "sync":
        with liter_llm.create_client(**options) as client:
            if method == "chat_stream":
                with client.chat_stream(**kwargs) as stream:
                    return list(stream), seen
            return getattr(client, method)(**kwargs), seen

    async def main() -> Any:
        async with liter_llm.create_async_client(**options) as client:
            if method == "chat_stream":
                stream = await client.chat_stream(**kwargs)
                async with stream:
                    return [c async for c in stream]
            return await getattr(client, method)(**kwargs)

    return asyncio.run(main()), seen


def sse(*lines: str) -> httpx.Response:
    return httpx.Response(200, content="".join(lines).encode(), headers={"content-type": "text/event-stream"})


def chunk(content: str | None = None, finish: str | None = None, **delta: Any) -> str:
    if content is not None:
        delta["content"] = content
    payload = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return "data: " + json.dumps(payload) + "\n\n"


@pytest.mark.parametrize("mode", MODES)
def test_gateway_sends_the_model_unchanged_and_no_auth_without_key(mode: str) -> None:
    body = {
        "id": "x",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    }
    answer, seen = run(mode, httpx.Response(200, json=body), "chat", model="anthropic/claude-x", messages=USER)
    assert str(seen[0].url) == f"{GATEWAY}/chat/completions"
    assert json.loads(seen[0].content)["model"] == "anthropic/claude-x"
    assert "authorization" not in seen[0].headers
    assert answer.choices[0].message.content == "ok"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("error", "kind", "status"),
    [
        ({"message": "slow down", "code": "rate_limit_exceeded"}, RateLimitedError, 429),
        ({"message": "quota", "type": "insufficient_quota"}, RateLimitedError, 429),
        ({"message": "bad", "type": "invalid_request_error"}, BadRequestError, 400),
        ({"message": "key", "code": "invalid_api_key"}, AuthenticationError, 401),
        ({"message": "gone", "code": "model_not_found"}, NotFoundError, 404),
        ({"message": "busy", "type": "overloaded_error"}, ServiceUnavailableError, 503),
        ({"message": "boom", "type": "server_error"}, ServerError, 500),
        ({"message": "odd", "code": 429}, RateLimitedError, 429),
        ({"message": "no hint"}, ServerError, 500),
    ],
)
def test_error_inside_a_stream_maps_by_code_and_type(
    mode: str, error: dict[str, Any], kind: type[LiterLlmError], status: int
) -> None:
    reply = sse(chunk("a"), "data: " + json.dumps({"error": error}) + "\n\n")
    with pytest.raises(kind) as info:
        run(mode, reply, "chat_stream", model="m", messages=USER)
    assert info.value.status_code == status
    assert error["message"] in info.value.message


@pytest.mark.parametrize("mode", MODES)
def test_error_event_type(mode: str) -> None:
    reply = sse(
        chunk("a"),
        "event: error\ndata: " + json.dumps({"error": {"message": "overloaded", "type": "overloaded_error"}}) + "\n\n",
    )
    with pytest.raises(ServiceUnavailableError, match="overloaded"):
        run(mode, reply, "chat_stream", model="m", messages=USER)


@pytest.mark.parametrize("mode", MODES)
def test_null_choices_empty_data_and_usage_chunk(mode: str) -> None:
    usage_only = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": None,
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    reply = sse(
        "data:\n\n", chunk("a"), chunk(finish="stop"), "data: " + json.dumps(usage_only) + "\n\n", "data: [DONE]\n\n"
    )
    chunks, _ = run(mode, reply, "chat_stream", model="m", messages=USER)
    assert len(chunks) == 3
    assert chunks[-1].choices == []
    full = liter_llm.assemble_stream(chunks)
    assert full.usage is not None
    assert full.usage.total_tokens == 2
    assert full.choices[0].message.content == "a"


@pytest.mark.parametrize("mode", MODES)
def test_reasoning_alias(mode: str) -> None:
    chunks, _ = run(
        mode,
        sse(
            chunk(reasoning="r1"),
            chunk(reasoning_content="r2", reasoning="ignored"),
            chunk("x", "stop"),
            "data: [DONE]\n\n",
        ),
        "chat_stream",
        model="m",
        messages=USER,
    )
    assert liter_llm.assemble_stream(chunks).choices[0].message.reasoning_content == "r1r2"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fmt", ["text", "srt", "vtt"])
def test_plain_text_transcriptions(mode: str, fmt: str) -> None:
    # some servers label plain text as JSON or send no type at all: the requested format decides
    reply = httpx.Response(200, content=b"1\nhello\n", headers={"content-type": "application/json"})
    answer, _ = run(mode, reply, "transcribe", model="whisper-1", file=b"x", response_format=fmt)
    assert answer == t.TranscriptionResponse(text="1\nhello\n")


@pytest.mark.parametrize("mode", MODES)
def test_text_content_type_transcription_and_bad_utf8(mode: str) -> None:
    answer, _ = run(
        mode, httpx.Response(200, text="hi", headers={"content-type": "text/plain"}), "transcribe", model="w", file=b"x"
    )
    assert answer.text == "hi"
    with pytest.raises(SerializationError, match="UTF-8"):
        run(
            mode,
            httpx.Response(200, content=b"\xff\xfe", headers={"content-type": "text/plain"}),
            "transcribe",
            model="w",
            file=b"x",
            response_format="text",
        )


@pytest.mark.parametrize("mode", MODES)
def test_json_string_transcription(mode: str) -> None:
    answer, _ = run(mode, httpx.Response(200, json="just text"), "transcribe", model="w", file=b"x")
    assert answer.text == "just text"


@pytest.mark.parametrize("mode", MODES)
def test_speech_and_file_content_accept_anything(mode: str) -> None:
    _, seen = run(mode, httpx.Response(200, content=b"\x00\x01"), "speech", model="tts-1", input="x", voice="v")
    assert seen[0].headers["accept"] == "*/*"
    assert seen[0].headers["content-type"] == "application/json"


@pytest.mark.parametrize("mode", MODES)
def test_non_stream_chat_drops_stream_fields(mode: str) -> None:
    body = {"id": "x", "object": "chat.completion", "created": 1, "model": "m", "choices": []}
    _, seen = run(
        mode,
        httpx.Response(200, json=body),
        "chat",
        model="m",
        messages=USER,
        stream=True,
        stream_options={"include_usage": True},
    )
    sent = json.loads(seen[0].content)
    assert "stream" not in sent
    assert "stream_options" not in sent
    assert seen[0].headers["accept"] == "application/json"


@pytest.mark.parametrize("mode", MODES)
def test_empty_ids_are_rejected_before_io(mode: str) -> None:
    with pytest.raises(BadRequestError, match="non-empty"):
        run(mode, httpx.Response(500), "retrieve_file", file_id="")
