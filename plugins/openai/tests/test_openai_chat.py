"""OpenAI chat and chat_stream: request bodies exactly as sent, answers as parsed, streaming quirks.

Fixtures follow the examples of OpenAI's API reference (chat completion
object, chat completion chunk object, tool calls, stream_options).
"""

from __future__ import annotations

import json

import httpx
import pytest
from openai_testutil import KEY, MODES, Recorder, call, sse, stream

from liter_llm import types as t
from liter_llm.errors import BadRequestError, ContextWindowExceededError, RateLimitedError, StreamingError

# The documented chat completion object.
CHAT_COMPLETION = {
    "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    "object": "chat.completion",
    "created": 1741569952,
    "model": "gpt-4.1-2025-04-14",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello! How can I assist you today?",
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 19,
        "completion_tokens": 10,
        "total_tokens": 29,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
    "service_tier": "default",
}

PARALLEL_TOOL_CALLS = {
    "id": "chatcmpl-abc123",
    "object": "chat.completion",
    "created": 1699896916,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_abc123",
                        "type": "function",
                        "function": {"name": "get_current_weather", "arguments": '{\n"location": "Boston, MA"\n}'},
                    },
                    {
                        "id": "call_def456",
                        "type": "function",
                        "function": {"name": "get_current_weather", "arguments": '{"location": "Paris"}'},
                    },
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99},
}

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
        "strict": True,
    },
}

USER = [{"role": "user", "content": "Hello!"}]


def chunk(delta: dict[str, object], finish: str | None = None, index: int = 0, **extra: object) -> dict[str, object]:
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}],
        **extra,
    }


@pytest.mark.parametrize("mode", MODES)
def test_chat_minimal_request_and_documented_answer(mode: str) -> None:
    rec = Recorder(httpx.Response(200, json=CHAT_COMPLETION))
    answer = call(mode, rec, "chat", model="gpt-4.1", messages=USER)
    request = rec.last
    assert request.method == "POST"
    assert str(request.url) == "https://api.openai.com/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"model": "gpt-4.1", "messages": USER}
    assert isinstance(answer, t.ChatCompletionResponse)
    assert answer.id == CHAT_COMPLETION["id"]
    assert answer.model == "gpt-4.1-2025-04-14"
    assert answer.choices[0].message.content == "Hello! How can I assist you today?"
    assert answer.choices[0].finish_reason == t.FinishReason.STOP
    assert answer.usage is not None
    assert answer.usage.total_tokens == 29
    assert answer.usage.completion_tokens_details is not None
    assert answer.usage.completion_tokens_details.reasoning_tokens == 0
    assert answer.service_tier == "default"


@pytest.mark.parametrize("mode", MODES)
def test_chat_every_request_field_goes_on_the_wire(mode: str) -> None:
    rec = Recorder(httpx.Response(200, json=CHAT_COMPLETION))
    messages = [
        {"role": "developer", "content": "Be brief."},
        {"role": "system", "content": "You are helpful.", "name": "sys"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this image?"},
                {"type": "image_url", "image_url": {"url": "https://example.invalid/a.png", "detail": "low"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "tool", "content": "42", "tool_call_id": "call_1"},
    ]
    call(
        mode,
        rec,
        "chat",
        model="gpt-4o",
        messages=messages,
        temperature=0.2,
        top_p=0.9,
        n=3,
        stop=["END", "STOP"],
        max_tokens=100,
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        logit_bias={"50256": -100, "1234": 5.5},
        logprobs=True,
        top_logprobs=2,
        user="user-1",
        tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_current_weather"}},
        parallel_tool_calls=True,
        response_format={"type": "json_object"},
        seed=1234,
        metadata={"purpose": "test"},
        service_tier="flex",
        extra_body={"store": True},
    )
    body = rec.json()
    wire_messages = [dict(m) for m in messages]
    del wire_messages[3]["content"]  # None fields are omitted; OpenAI takes tool_calls without content
    assert body == {
        "model": "gpt-4o",
        "messages": wire_messages,
        "temperature": 0.2,
        "top_p": 0.9,
        "n": 3,
        "stop": ["END", "STOP"],
        "max_tokens": 100,
        "presence_penalty": 0.5,
        "frequency_penalty": -0.5,
        "logit_bias": {"50256": -100, "1234": 5.5},
        "logprobs": True,
        "top_logprobs": 2,
        "user": "user-1",
        "tools": [WEATHER_TOOL],
        "tool_choice": {"type": "function", "function": {"name": "get_current_weather"}},
        "parallel_tool_calls": True,
        "response_format": {"type": "json_object"},
        "seed": 1234,
        "metadata": {"purpose": "test"},
        "service_tier": "flex",
        "store": True,
    }


@pytest.mark.parametrize("mode", MODES)
def test_chat_json_schema_response_format_and_reasoning_effort(mode: str) -> None:
    rec = Recorder(httpx.Response(200, json=CHAT_COMPLETION))
    schema = {
        "type": "json_schema",
        "json_schema": {
            "name": "math_response",
            "schema": {"type": "object", "properties": {"answer": {"type": "number"}}, "required": ["answer"]},
            "strict": True,
        },
    }
    call(
        mode,
        rec,
        "chat",
        model="o3-mini",
        messages=USER,
        response_format=schema,
        reasoning_effort="high",
        tool_choice="auto",
        tools=[WEATHER_TOOL],
    )
    body = rec.json()
    assert body["response_format"] == schema
    assert body["reasoning_effort"] == "high"
    assert body["tool_choice"] == "auto"


@pytest.mark.parametrize("mode", MODES)
def test_chat_parallel_tool_calls_and_n_choices_are_parsed(mode: str) -> None:
    answer = call(
        mode,
        Recorder(httpx.Response(200, json=PARALLEL_TOOL_CALLS)),
        "chat",
        model="gpt-4o-mini",
        messages=USER,
        tools=[WEATHER_TOOL],
        parallel_tool_calls=True,
    )
    message = answer.choices[0].message
    assert answer.choices[0].finish_reason == t.FinishReason.TOOL_CALLS
    assert [c.id for c in message.tool_calls] == ["call_abc123", "call_def456"]
    assert json.loads(message.tool_calls[0].function.arguments) == {"location": "Boston, MA"}
    assert message.tool_calls[1].function.name == "get_current_weather"

    many = dict(CHAT_COMPLETION)
    many["choices"] = [
        {"index": i, "message": {"role": "assistant", "content": f"answer {i}"}, "finish_reason": "stop"}
        for i in range(3)
    ]
    rec = Recorder(httpx.Response(200, json=many))
    answer = call(mode, rec, "chat", model="gpt-4o", messages=USER, n=3)
    assert rec.json()["n"] == 3
    assert [c.message.content for c in answer.choices] == ["answer 0", "answer 1", "answer 2"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "model", ["o1", "o1-mini", "o3", "o3-mini", "o4-mini-2025-04-16", "gpt-5", "gpt-5-mini", "gpt-5.1", "openai/o3-pro"]
)
def test_reasoning_models_get_max_completion_tokens(mode: str, model: str) -> None:
    rec = Recorder(httpx.Response(200, json=CHAT_COMPLETION))
    call(mode, rec, "chat", model=model, messages=USER, max_tokens=50, temperature=1)
    body = rec.json()
    assert "max_tokens" not in body
    assert body["max_completion_tokens"] == 50
    assert body["model"] == model.removeprefix("openai/")
    assert body["temperature"] == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4.1-mini", "chatgpt-4o-latest", "o1x-custom"])
def test_other_models_keep_max_tokens(mode: str, model: str) -> None:
    rec = Recorder(httpx.Response(200, json=CHAT_COMPLETION))
    call(mode, rec, "chat", model=model, messages=USER, max_tokens=50)
    assert rec.json()["max_tokens"] == 50
    assert "max_completion_tokens" not in rec.json()


@pytest.mark.parametrize("mode", MODES)
def test_reasoning_model_explicit_max_completion_tokens_wins(mode: str) -> None:
    rec = Recorder(httpx.Response(200, json=CHAT_COMPLETION))
    call(mode, rec, "chat", model="o3", messages=USER, max_tokens=10, max_completion_tokens=99)
    body = rec.json()
    assert body["max_completion_tokens"] == 99
    assert "max_tokens" not in body


@pytest.mark.parametrize("mode", MODES)
def test_reasoning_model_stream_also_renamed(mode: str) -> None:
    rec = Recorder(sse(chunk({"role": "assistant", "content": "ok"}, "stop")))
    stream(mode, rec, model="gpt-5-nano", messages=USER, max_tokens=7)
    body = rec.json()
    assert body["stream"] is True
    assert body["max_completion_tokens"] == 7
    assert "max_tokens" not in body
    assert rec.last.headers["accept"] == "text/event-stream"


@pytest.mark.parametrize("mode", MODES)
def test_stream_with_include_usage_documented_shape(mode: str) -> None:
    usage = {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}
    rec = Recorder(
        sse(
            chunk({"role": "assistant", "content": ""}, usage=None),
            chunk({"content": "Hello"}, usage=None),
            chunk({"content": " there"}, usage=None),
            chunk({}, "stop", usage=None),
            {
                "id": "chatcmpl-123",
                "object": "chat.completion.chunk",
                "created": 1694268190,
                "model": "gpt-4o-mini",
                "choices": [],
                "usage": usage,
            },
        )
    )
    chunks, full = stream(mode, rec, model="gpt-4o-mini", messages=USER, stream_options={"include_usage": True})
    body = rec.json()
    assert body == {"model": "gpt-4o-mini", "messages": USER, "stream": True, "stream_options": {"include_usage": True}}
    assert len(chunks) == 5
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert full.choices[0].message.content == "Hello there"
    assert full.choices[0].finish_reason == t.FinishReason.STOP
    assert full.usage is not None
    assert full.usage.total_tokens == 12
    assert full.system_fingerprint == "fp_44709d6fcb"


@pytest.mark.parametrize("mode", MODES)
def test_stream_options_dropped_when_not_streaming(mode: str) -> None:
    rec = Recorder(httpx.Response(200, json=CHAT_COMPLETION))
    call(mode, rec, "chat", model="gpt-4o", messages=USER, stream=True, stream_options={"include_usage": True})
    body = rec.json()
    assert "stream" not in body
    assert "stream_options" not in body


@pytest.mark.parametrize("mode", MODES)
def test_stream_parallel_tool_call_deltas_are_assembled(mode: str) -> None:
    def tc(index: int, **fields: object) -> dict[str, object]:
        return {"tool_calls": [{"index": index, **fields}]}

    rec = Recorder(
        sse(
            chunk(
                {
                    "role": "assistant",
                    "content": None,
                    **tc(0, id="call_a", type="function", function={"name": "get_weather", "arguments": ""}),
                }
            ),
            chunk(tc(0, function={"arguments": '{"loc'})),
            chunk(tc(1, id="call_b", type="function", function={"name": "get_time", "arguments": ""})),
            chunk(tc(0, function={"arguments": 'ation": "Paris"}'})),
            chunk(tc(1, function={"arguments": '{"tz": "CET"}'})),
            chunk({}, "tool_calls"),
        )
    )
    _, full = stream(mode, rec, model="gpt-4o", messages=USER, tools=[WEATHER_TOOL], parallel_tool_calls=True)
    calls = full.choices[0].message.tool_calls
    assert [(c.id, c.function.name) for c in calls] == [("call_a", "get_weather"), ("call_b", "get_time")]
    assert json.loads(calls[0].function.arguments) == {"location": "Paris"}
    assert json.loads(calls[1].function.arguments) == {"tz": "CET"}
    assert full.choices[0].finish_reason == t.FinishReason.TOOL_CALLS


@pytest.mark.parametrize("mode", MODES)
def test_stream_n_choices_stay_apart(mode: str) -> None:
    rec = Recorder(
        sse(
            chunk({"role": "assistant", "content": "a"}, index=0),
            chunk({"role": "assistant", "content": "b"}, index=1),
            chunk({"content": "A"}, index=0),
            chunk({"content": "B"}, "stop", index=1),
            chunk({}, "stop", index=0),
        )
    )
    _, full = stream(mode, rec, model="gpt-4o", messages=USER, n=2)
    assert [c.message.content for c in full.choices] == ["aA", "bB"]


@pytest.mark.parametrize("mode", MODES)
def test_stream_reasoning_content_delta_is_kept(mode: str) -> None:
    # DeepSeek's reasoner streams its chain of thought as delta.reasoning_content.
    rec = Recorder(
        sse(
            chunk({"role": "assistant", "content": None, "reasoning_content": "Let me"}),
            chunk({"content": None, "reasoning_content": " think."}),
            chunk({"content": "Four.", "reasoning_content": None}),
            chunk({}, "stop"),
        )
    )
    chunks, full = stream(
        mode, rec, model="deepseek/deepseek-reasoner", messages=USER, client={"model_hint": "deepseek"}
    )
    assert str(rec.last.url) == "https://api.deepseek.com/beta/chat/completions"
    assert chunks[0].choices[0].delta.reasoning_content == "Let me"
    assert full.choices[0].message.reasoning_content == "Let me think."
    assert full.choices[0].message.content == "Four."


@pytest.mark.parametrize("mode", MODES)
def test_reasoning_field_is_kept_as_reasoning_content(mode: str) -> None:
    # OpenRouter and others name it "reasoning".
    rec = Recorder(sse(chunk({"role": "assistant", "reasoning": "hmm"}), chunk({"content": "ok"}, "stop")))
    hint = {"model_hint": "openrouter"}  # the client's key is for the provider it was given for
    _, full = stream(mode, rec, model="openrouter/deepseek/deepseek-r1", messages=USER, client=hint)
    assert full.choices[0].message.reasoning_content == "hmm"
    body = dict(CHAT_COMPLETION)
    body["choices"] = [
        {"index": 0, "message": {"role": "assistant", "content": "ok", "reasoning": "why"}, "finish_reason": "stop"}
    ]
    answer = call(
        mode, Recorder(httpx.Response(200, json=body)), "chat", model="openrouter/x/y", messages=USER, client=hint
    )
    assert answer.choices[0].message.reasoning_content == "why"


@pytest.mark.parametrize("mode", MODES)
def test_empty_deltas_and_choiceless_chunks_do_not_end_the_stream(mode: str) -> None:
    rec = Recorder(
        sse(
            chunk({}),
            {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": []},
            {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": None},
            chunk({"content": "still"}),
            chunk({"content": " here"}),
            chunk({}, "stop"),
            {
                "id": "c",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": "m",
                "choices": [],
                "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
            },
        )
    )
    chunks, full = stream(mode, rec, model="gpt-4o", messages=USER)
    assert len(chunks) == 7
    assert full.choices[0].message.content == "still here"
    assert full.usage is not None
    assert full.usage.completion_tokens == 2


@pytest.mark.parametrize("mode", MODES)
def test_keepalive_comments_and_empty_events_are_skipped(mode: str) -> None:
    body = (
        b": OPENROUTER PROCESSING\n\n"
        b"data: \n\n" + b"data: " + json.dumps(chunk({"content": "x"}, "stop")).encode() + b"\n\n"
        b"data: [DONE]\n\n"
    )
    rec = Recorder(httpx.Response(200, content=body, headers={"content-type": "text/event-stream"}))
    chunks, full = stream(mode, rec, model="gpt-4o", messages=USER)
    assert len(chunks) == 1
    assert full.choices[0].message.content == "x"


@pytest.mark.parametrize("mode", MODES)
def test_stream_cut_before_the_end_raises_with_the_chunks(mode: str) -> None:
    rec = Recorder(sse(chunk({"content": "par"}), chunk({"content": "tial"}), done=False))
    with pytest.raises(StreamingError) as info:
        stream(mode, rec, model="gpt-4o", messages=USER)
    assert "".join(c.choices[0].delta.content for c in info.value.chunks) == "partial"


@pytest.mark.parametrize("mode", MODES)
def test_error_object_inside_the_stream(mode: str) -> None:
    rec = Recorder(
        sse(
            chunk({"content": "a"}),
            {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
        )
    )
    with pytest.raises(RateLimitedError) as info:
        stream(mode, rec, model="gpt-4o", messages=USER)
    assert "Rate limit reached" in info.value.message


@pytest.mark.parametrize("mode", MODES)
def test_malformed_stream_event_is_a_serialization_error(mode: str) -> None:
    from liter_llm.errors import SerializationError

    with pytest.raises(SerializationError):
        stream(mode, Recorder(sse("{not json")), model="gpt-4o", messages=USER)


@pytest.mark.parametrize("mode", MODES)
def test_documented_error_body_maps_to_the_right_kind(mode: str) -> None:
    body = {
        "error": {
            "message": "This model's maximum context length is 128000 tokens. However, your messages resulted in "
            "130000 tokens. Please reduce the length of the messages.",
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        }
    }
    with pytest.raises(ContextWindowExceededError) as info:
        call(mode, Recorder(httpx.Response(400, json=body)), "chat", model="gpt-4o", messages=USER)
    assert info.value.code == "context_length_exceeded"
    assert info.value.provider == "openai"
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)


@pytest.mark.parametrize("mode", MODES)
def test_malformed_answers_are_liter_llm_errors(mode: str) -> None:
    from liter_llm.errors import LiterLlmError, SerializationError

    for reply in (
        httpx.Response(200, content=b"<html>gateway</html>"),
        httpx.Response(200, content=b"\xff\xfe"),
        httpx.Response(200, json={"choices": "nope"}),
        httpx.Response(200, json=[1, 2]),
    ):
        with pytest.raises(LiterLlmError) as info:
            call(mode, Recorder(reply), "chat", model="gpt-4o", messages=USER)
        assert isinstance(info.value, SerializationError), info.value


@pytest.mark.parametrize("mode", MODES)
def test_unknown_request_field_is_rejected_before_io(mode: str) -> None:
    rec = Recorder(httpx.Response(200, json=CHAT_COMPLETION))
    with pytest.raises(BadRequestError, match="max_tokenz"):
        call(mode, rec, "chat", model="gpt-4o", messages=USER, max_tokenz=3)
    assert rec.requests == []
