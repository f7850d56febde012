"""Gemini API streaming (``streamGenerateContent?alt=sse``) through both public clients."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from liter_llm import errors
from liter_llm.streaming import assemble_stream
from liter_llm.types import FinishReason

MODEL = "gemini-2.0-flash"
ASK = [{"role": "user", "content": "Write a story"}]


def test_documented_stream_example(run: Any, g: Any) -> None:
    chunks = run(lambda r: g.sse_response(g.load("stream_text.sse")), "chat_stream", model=MODEL, messages=ASK)
    request = run.requests[0]
    assert request.url.path == f"/v1beta/models/{MODEL}:streamGenerateContent"
    assert request.url.params["alt"] == "sse"
    assert request.headers["x-goog-api-key"] == g.KEY
    assert g.KEY not in str(request.url)
    assert request.headers["accept"] == "text/event-stream"
    assert json.loads(request.content) == {"contents": [{"role": "user", "parts": [{"text": "Write a story"}]}]}

    assert [c.choices[0].delta.content for c in chunks] == ["The", " quick brown fox", " jumps."]
    assert [c.choices[0].delta.role for c in chunks] == ["assistant", None, None]
    assert [c.choices[0].finish_reason for c in chunks] == [None, None, FinishReason.STOP]
    assert [c.usage is not None for c in chunks] == [False, False, True]
    assert {c.id for c in chunks} == {"resp-stream-1"}
    assert {c.model for c in chunks} == {"gemini-2.0-flash"}
    assert len({c.created for c in chunks}) == 1
    last = chunks[-1].usage
    assert (last.prompt_tokens, last.completion_tokens, last.total_tokens) == (9, 6, 15)
    whole = assemble_stream(chunks)
    assert whole.choices[0].message.content == "The quick brown fox jumps."
    assert whole.choices[0].finish_reason == FinishReason.STOP


def test_stream_function_calls(run: Any, g: Any) -> None:
    body = g.sse(
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Let me check."}]}}]},
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [
                            {
                                "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                                "thoughtSignature": "AbC=",
                            },
                            {"functionCall": {"id": "x9", "name": "get_time", "args": {}}},
                        ],
                    }
                }
            ]
        },
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}],
                    },
                    "finishReason": "STOP",
                }
            ],
            "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 15, "totalTokenCount": 35},
        },
    )
    chunks = run(lambda r: g.sse_response(body), "chat_stream", model=MODEL, messages=ASK)
    calls = [tc for c in chunks for tc in c.choices[0].delta.tool_calls]
    assert [(tc.index, tc.id, tc.function.name, tc.function.arguments) for tc in calls] == [
        (0, "call_0_get_weather~ts~AbC=", "get_weather", '{"city":"Paris"}'),
        (1, "x9", "get_time", "{}"),
        (2, "call_2_get_weather", "get_weather", '{"city":"Oslo"}'),
    ]
    assert all(tc.call_type.value == "function" for tc in calls)
    assert chunks[-1].choices[0].finish_reason == FinishReason.TOOL_CALLS
    whole = assemble_stream(chunks)
    message = whole.choices[0].message
    assert message.content == "Let me check."
    assert [c.id for c in message.tool_calls] == ["call_0_get_weather~ts~AbC=", "x9", "call_2_get_weather"]
    assert whole.choices[0].finish_reason == FinishReason.TOOL_CALLS
    assert whole.usage.total_tokens == 35


def test_stream_thoughts_and_usage_details(run: Any, g: Any) -> None:
    body = g.sse(
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Thinking...", "thought": True}]}}]},
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Answer."}]}}]},
        {
            "candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": "STOP"}],
            "usageMetadata": {
                "promptTokenCount": 10,
                "candidatesTokenCount": 3,
                "thoughtsTokenCount": 40,
                "cachedContentTokenCount": 6,
                "totalTokenCount": 53,
            },
        },
    )
    chunks = run(lambda r: g.sse_response(body), "chat_stream", model=MODEL, messages=ASK, reasoning_effort="low")
    assert chunks[0].choices[0].delta.reasoning_content == "Thinking..."
    assert chunks[0].choices[0].delta.content is None
    assert chunks[1].choices[0].delta.content == "Answer."
    usage = chunks[-1].usage
    assert usage.completion_tokens == 43
    assert usage.completion_tokens_details.reasoning_tokens == 40
    assert usage.prompt_tokens_details.cached_tokens == 6
    whole = assemble_stream(chunks)
    assert whole.choices[0].message.reasoning_content == "Thinking..."
    assert whole.choices[0].message.content == "Answer."


def test_usage_after_the_finish_event(run: Any, g: Any) -> None:
    body = g.sse(
        {"candidates": [{"content": {"parts": [{"text": "Hi"}]}, "finishReason": "MAX_TOKENS"}]},
        {"usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 1, "totalTokenCount": 3}},
    )
    chunks = run(lambda r: g.sse_response(body), "chat_stream", model=MODEL, messages=ASK)
    assert chunks[0].choices[0].finish_reason == FinishReason.LENGTH
    assert chunks[-1].choices == []
    assert chunks[-1].usage.total_tokens == 3


def test_two_candidates_stream(run: Any, g: Any) -> None:
    body = g.sse(
        {
            "candidates": [
                {"content": {"parts": [{"text": "A"}]}, "index": 0},
                {"content": {"parts": [{"text": "B"}]}, "index": 1},
            ]
        },
        {
            "candidates": [
                {"content": {"parts": [{"text": "a"}]}, "index": 0, "finishReason": "STOP"},
                {"content": {"parts": [{"text": "b"}]}, "index": 1, "finishReason": "STOP"},
            ]
        },
    )
    chunks = run(lambda r: g.sse_response(body), "chat_stream", model=MODEL, messages=ASK, n=2)
    assert [ch.delta.role for ch in chunks[0].choices] == ["assistant", "assistant"]
    whole = assemble_stream(chunks)
    assert [c.message.content for c in whole.choices] == ["Aa", "Bb"]


def test_truncated_stream_raises_with_chunks(run: Any, g: Any) -> None:
    body = g.sse(
        {"candidates": [{"content": {"parts": [{"text": "Once"}]}}]},
        {"candidates": [{"content": {"parts": [{"text": " upon"}]}}]},
    )
    with pytest.raises(errors.StreamingError) as info:
        run(lambda r: g.sse_response(body), "chat_stream", model=MODEL, messages=ASK)
    assert [c.choices[0].delta.content for c in info.value.chunks] == ["Once", " upon"]
    assert info.value.provider == "gemini"


def test_error_object_inside_the_stream(run: Any, g: Any) -> None:
    body = g.sse(
        {"candidates": [{"content": {"parts": [{"text": "Hel"}]}}]},
        {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}},
    )
    with pytest.raises(errors.ServiceUnavailableError, match="overloaded") as info:
        run(lambda r: g.sse_response(body), "chat_stream", model=MODEL, messages=ASK)
    assert info.value.status_code == 503
    assert info.value.code == "UNAVAILABLE"
    assert [c.choices[0].delta.content for c in info.value.chunks] == ["Hel"]


def test_rate_limit_error_inside_the_stream(run: Any, g: Any) -> None:
    body = g.sse(g.load("error_rate_limit.json"))
    with pytest.raises(errors.RateLimitedError) as info:
        run(lambda r: g.sse_response(body), "chat_stream", model=MODEL, messages=ASK)
    assert info.value.retry_after == 17


def test_blocked_prompt_in_stream(run: Any, g: Any) -> None:
    body = g.sse(g.load("prompt_blocked.json"))
    with pytest.raises(errors.ContentPolicyError):
        run(lambda r: g.sse_response(body), "chat_stream", model=MODEL, messages=ASK)


def test_safety_finish_in_stream(run: Any, g: Any) -> None:
    body = g.sse({"candidates": [{"content": {"parts": []}, "finishReason": "SAFETY"}]})
    chunks = run(lambda r: g.sse_response(body), "chat_stream", model=MODEL, messages=ASK)
    assert chunks[-1].choices[0].finish_reason == FinishReason.CONTENT_FILTER


@pytest.mark.parametrize(
    "body",
    [
        b"data: {not json\n\n",
        b'data: {"candidates": [{"content": {"parts": [{"text": 1}]}}]}\n\n',
        b'data: {"candidates": "x"}\n\n',
        b"data: 5\n\n",
    ],
)
def test_malformed_stream_events(run: Any, g: Any, body: bytes) -> None:
    with pytest.raises(errors.SerializationError):
        run(lambda r: g.sse_response(body), "chat_stream", model=MODEL, messages=ASK)


def test_http_error_before_the_stream(run: Any, g: Any) -> None:
    with pytest.raises(errors.RateLimitedError) as info:
        run(
            lambda r: httpx.Response(429, json=g.load("error_rate_limit.json")),
            "chat_stream",
            model=MODEL,
            messages=ASK,
        )
    assert info.value.retry_after == 17
    assert g.KEY not in str(info.value)
    assert g.KEY not in repr(info.value)


def test_stream_request_mapping_matches_chat(run: Any, g: Any) -> None:
    kwargs: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "tools": [
            {
                "type": "function",
                "function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}},
            }
        ],
        "tool_choice": "required",
        "temperature": 0.1,
        "response_format": {"type": "json_object"},
    }
    ok = {"candidates": [{"content": {"parts": [{"text": "{}"}]}, "finishReason": "STOP"}]}
    run(lambda r: httpx.Response(200, json=ok), "chat", **kwargs)
    chat_body = run.body
    run(lambda r: g.sse_response(g.sse(ok)), "chat_stream", **kwargs)
    assert run.body == chat_body
    assert chat_body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    assert chat_body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
