"""Chat and streams: Mistral's differences from the OpenAI format, through both clients."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx
import pytest

from liter_llm.errors import BadRequestError, LiterLlmError, SerializationError, StreamingError
from liter_llm.streaming import assemble_stream
from liter_llm.types import FinishReason
from liter_llm_mistral import mistral_tool_call_id

from .conftest import API_KEY, Runner, fixture_json, fixture_text, sse_response

USER = [{"role": "user", "content": "What is the status of my payment?"}]
MODEL = "mistral/mistral-large-latest"


def _answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=fixture_json("chat_tool_call.json"))


def _text_answer(content: object = "ok", finish: str = "stop") -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "cmpl-1",
            "object": "chat.completion",
            "model": "mistral-small-latest",
            "created": 1702256327,
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
        },
    )


def test_request_goes_to_chat_completions_with_bearer_key(run: Runner) -> None:
    run("chat", lambda r: _text_answer(), model=MODEL, messages=USER)
    request = run.requests[0]
    assert str(request.url) == "http://127.0.0.1:9/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert run.body["model"] == "mistral-large-latest"
    assert "stream" not in run.body


def test_parameters_are_renamed_and_dropped(run: Runner) -> None:
    run(
        "chat",
        lambda r: _text_answer(),
        model=MODEL,
        messages=[{"role": "developer", "content": "Be brief."}, *USER],
        seed=42,
        max_completion_tokens=64,
        tool_choice="required",
        tools=[{"type": "function", "function": {"name": "ping"}}],
        user="end-user-7",
        service_tier="flex",
        temperature=0.3,
        presence_penalty=0.1,
        frequency_penalty=0.2,
        n=2,
        parallel_tool_calls=False,
        response_format={"type": "json_object"},
    )
    body = run.body
    assert body["random_seed"] == 42
    assert "seed" not in body
    assert body["max_tokens"] == 64
    assert "max_completion_tokens" not in body
    assert body["tool_choice"] == "any"
    assert body["tools"] == [
        {"type": "function", "function": {"name": "ping", "parameters": {"type": "object", "properties": {}}}}
    ]
    assert "user" not in body
    assert "service_tier" not in body
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["temperature"] == 0.3
    assert body["presence_penalty"] == 0.1
    assert body["frequency_penalty"] == 0.2
    assert body["n"] == 2
    assert body["parallel_tool_calls"] is False
    assert body["response_format"] == {"type": "json_object"}


def test_specific_tool_choice_and_auto_pass_unchanged(run: Runner) -> None:
    choice = {"type": "function", "function": {"name": "ping"}}
    tools = [{"type": "function", "function": {"name": "ping", "parameters": {"type": "object"}}}]
    run("chat", lambda r: _text_answer(), model=MODEL, messages=USER, tools=tools, tool_choice=choice)
    assert run.body["tool_choice"] == choice
    run("chat", lambda r: _text_answer(), model=MODEL, messages=USER, tools=tools, tool_choice="none")
    assert run.body["tool_choice"] == "none"


def test_safe_prompt_and_native_fields_through_extra_body(run: Runner) -> None:
    run(
        "chat",
        lambda r: _text_answer(),
        model=MODEL,
        messages=USER,
        seed=1,
        extra_body={"safe_prompt": True, "random_seed": 7, "prompt_mode": "reasoning"},
    )
    body = run.body
    assert body["safe_prompt"] is True
    assert body["random_seed"] == 7  # extra_body wins over the typed seed
    assert body["prompt_mode"] == "reasoning"
    assert "seed" not in body


def test_stream_sends_no_stream_options(run: Runner) -> None:
    run(
        "chat_stream",
        lambda r: sse_response(fixture_text("stream_tool_calls.sse")),
        model=MODEL,
        messages=USER,
        stream_options={"include_usage": True},
    )
    assert run.body["stream"] is True
    assert "stream_options" not in run.body
    assert run.requests[0].headers["accept"] == "text/event-stream"


@pytest.mark.parametrize(
    ("field", "value"),
    [("logprobs", True), ("top_logprobs", 3), ("logit_bias", {"50256": -100})],
)
def test_parameters_mistral_rejects_fail_before_io(run: Runner, field: str, value: object) -> None:
    with pytest.raises(BadRequestError, match=field):
        run("chat", lambda r: _text_answer(), model=MODEL, messages=USER, **{field: value})
    assert run.requests == []


def test_function_role_message_is_refused(run: Runner) -> None:
    messages = [*USER, {"role": "function", "name": "f", "content": "{}"}]
    with pytest.raises(BadRequestError, match="function"):
        run("chat", lambda r: _text_answer(), model=MODEL, messages=messages)
    assert run.requests == []


def test_tool_call_ids_are_reshaped_consistently(run: Runner) -> None:
    messages = [
        *USER,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_abc123XYZ_long", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                {"id": "D681PevKs", "type": "function", "function": {"name": "g", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_abc123XYZ_long", "content": "paid"},
        {"role": "tool", "tool_call_id": "D681PevKs", "content": "2024-01-01"},
    ]
    run("chat", lambda r: _text_answer(), model=MODEL, messages=messages)
    sent = run.body["messages"]
    first, second = (c["id"] for c in sent[1]["tool_calls"])
    assert re.fullmatch(r"[A-Za-z0-9]{9}", first)
    assert first == mistral_tool_call_id("call_abc123XYZ_long")
    assert second == "D681PevKs"  # already Mistral's shape: unchanged
    assert sent[2]["tool_call_id"] == first
    assert sent[3]["tool_call_id"] == "D681PevKs"
    assert mistral_tool_call_id("toolu_01A") != mistral_tool_call_id("toolu_01B")


def test_content_parts_become_mistral_chunks(run: Runner) -> None:
    content = [
        {"type": "text", "text": "Describe these."},
        {"type": "image_url", "image_url": {"url": "https://example.invalid/cat.png", "detail": "low"}},
        {"type": "document", "document": {"data": "JVBERi0xLjQ=", "media_type": "application/pdf"}},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
    ]
    run("chat", lambda r: _text_answer(), model=MODEL, messages=[{"role": "user", "content": content}])
    assert run.body["messages"][0]["content"] == [
        {"type": "text", "text": "Describe these."},
        {"type": "image_url", "image_url": {"url": "https://example.invalid/cat.png", "detail": "low"}},
        {"type": "document_url", "document_url": "data:application/pdf;base64,JVBERi0xLjQ="},
        {"type": "input_audio", "input_audio": "UklGRg=="},
    ]


def test_tool_calls_in_the_answer_with_object_arguments(run: Runner) -> None:
    response = run("chat", _answer, model=MODEL, messages=USER)
    choice = response.choices[0]
    assert choice.finish_reason == FinishReason.TOOL_CALLS
    calls = choice.message.tool_calls
    assert [c.id for c in calls] == ["D681PevKs", "A9wQ2zX7p"]
    assert json.loads(calls[0].function.arguments) == {"transaction_id": "T1001"}
    assert json.loads(calls[1].function.arguments) == {"transaction_id": "T1001"}
    assert response.usage is not None
    assert response.usage.total_tokens == 50
    assert response.model == "mistral-large-latest"


def test_reasoning_chunks_become_reasoning_content(run: Runner) -> None:
    response = run(
        "chat", lambda r: httpx.Response(200, json=fixture_json("chat_reasoning.json")), model=MODEL, messages=USER
    )
    message = response.choices[0].message
    assert message.content == "2 + 2 = 4."
    assert message.reasoning_content == "The user asks for 2+2. That is 4."


@pytest.mark.parametrize(
    ("native", "expected"),
    [("model_length", FinishReason.LENGTH), ("error", FinishReason.OTHER), ("something_new", FinishReason.OTHER)],
)
def test_mistral_only_finish_reasons(run: Runner, native: str, expected: FinishReason) -> None:
    response = run("chat", lambda r: _text_answer(finish=native), model=MODEL, messages=USER)
    assert response.choices[0].finish_reason == expected


@pytest.mark.parametrize(
    "answer",
    [
        lambda: httpx.Response(200, content=b"<html>gateway</html>"),
        lambda: httpx.Response(200, json=["not", "an", "object"]),
        lambda: _text_answer(content=12),
        lambda: _text_answer(content=[{"type": "text", "text": "a"}, "loose string"]),
    ],
    ids=["html", "list", "number-content", "loose-chunk"],
)
def test_malformed_answers_are_serialization_errors(run: Runner, answer: Callable[[], httpx.Response]) -> None:
    with pytest.raises(SerializationError) as info:
        run("chat", lambda r: answer(), model=MODEL, messages=USER)
    assert API_KEY not in str(info.value)


def test_stream_parallel_tool_calls_keep_apart(run: Runner) -> None:
    chunks = run(
        "chat_stream", lambda r: sse_response(fixture_text("stream_tool_calls.sse")), model=MODEL, messages=USER
    )
    assembled = assemble_stream(chunks)
    calls = assembled.choices[0].message.tool_calls
    assert [c.id for c in calls] == ["D681PevKs", "A9wQ2zX7p"]
    assert [c.function.name for c in calls] == ["retrieve_payment_status", "retrieve_payment_date"]
    assert all(json.loads(c.function.arguments) == {"transaction_id": "T1001"} for c in calls)
    assert assembled.choices[0].finish_reason == FinishReason.TOOL_CALLS
    assert assembled.usage is not None
    assert assembled.usage.total_tokens == 90


def test_stream_reasoning_and_model_length(run: Runner) -> None:
    chunks = run(
        "chat_stream", lambda r: sse_response(fixture_text("stream_reasoning.sse")), model=MODEL, messages=USER
    )
    assembled = assemble_stream(chunks)
    message = assembled.choices[0].message
    assert message.content == "The answer is 4."
    assert message.reasoning_content == "Let me think. Four."
    assert assembled.choices[0].finish_reason == FinishReason.LENGTH
    assert assembled.usage is not None
    assert assembled.usage.completion_tokens == 20


def test_stream_error_event_raises_the_mapped_error(run: Runner) -> None:
    with pytest.raises(LiterLlmError) as info:
        run("chat_stream", lambda r: sse_response(fixture_text("stream_error.sse")), model=MODEL, messages=USER)
    error = info.value
    assert "capacity exceeded" in error.message
    assert error.provider == "mistral"
    if isinstance(error, StreamingError):
        assert error.chunks


def test_stream_bad_json_event_is_a_serialization_error(run: Runner) -> None:
    body = 'data: {"id": "x", "choices": [\n\n'
    with pytest.raises(LiterLlmError) as info:
        run("chat_stream", lambda r: sse_response(body), model=MODEL, messages=USER)
    assert isinstance(info.value, (SerializationError, StreamingError))


def test_stream_without_done_is_a_streaming_error(run: Runner) -> None:
    text = fixture_text("stream_tool_calls.sse").replace("data: [DONE]\n\n", "")
    # cut before the last chunk as well: no end-of-stream marker arrives
    cut = text[: text.rindex("data: ")]
    with pytest.raises(StreamingError):
        run("chat_stream", lambda r: sse_response(cut), model=MODEL, messages=USER)


def test_system_message_with_an_image_is_refused(run: Runner) -> None:
    content = [{"type": "image_url", "image_url": {"url": "https://example.invalid/cat.png"}}]
    with pytest.raises(BadRequestError, match="text only"):
        run("chat", lambda r: _text_answer(), model=MODEL, messages=[{"role": "system", "content": content}, *USER])
    assert run.requests == []


def test_message_names_and_earlier_reasoning_are_not_sent(run: Runner) -> None:
    messages = [
        {"role": "user", "content": "hi", "name": "alice"},
        {"role": "assistant", "content": "hello", "name": "bot", "reasoning_content": "greet back"},
        {"role": "user", "content": "again"},
    ]
    run("chat", lambda r: _text_answer(), model=MODEL, messages=messages)
    assert run.body["messages"] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "again"},
    ]


def test_messages_in_extra_body_are_sent_as_given(run: Runner) -> None:
    native = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Sure:", "prefix": True}]
    run("chat", lambda r: _text_answer(), model=MODEL, messages=USER, extra_body={"messages": native})
    assert run.body["messages"] == native


def test_stream_chunks_without_created_or_object(run: Runner) -> None:
    # Mistral's CompletionChunk makes ``object`` and ``created`` optional
    first = {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": "Bon"}, "finish_reason": None}]}
    last = {
        "id": "c",
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "jour"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4},
    }
    body = f"data: {json.dumps(first)}\n\ndata: {json.dumps(last)}\n\ndata: [DONE]\n\n"
    chunks = run("chat_stream", lambda r: sse_response(body), model=MODEL, messages=USER)
    assembled = assemble_stream(chunks)
    assert assembled.choices[0].message.content == "Bonjour"
    assert assembled.usage is not None
    assert assembled.usage.total_tokens == 4
