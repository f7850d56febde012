"""ChatCompletionRequest -> Anthropic Messages API body, for chat and chat_stream, through both clients."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from liter_llm.errors import BadRequestError

from .conftest import API_KEY, Runner, fixture_json, fixture_text, sse_response

WEATHER_TOOL_OPENAI = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                "unit": {
                    "type": "string",
                    "enum": ["celsius", "fahrenheit"],
                    "description": 'The unit of temperature, either "celsius" or "fahrenheit"',
                },
            },
            "required": ["location"],
        },
    },
}
# the documented Anthropic form of the same tool
WEATHER_TOOL_ANTHROPIC = {
    "name": "get_weather",
    "description": "Get the current weather in a given location",
    "input_schema": WEATHER_TOOL_OPENAI["function"]["parameters"],  # type: ignore[index]
}

USER = {"role": "user", "content": "What's the weather like in San Francisco?"}


def _answer(request: httpx.Request) -> httpx.Response:
    if b'"stream":true' in request.content:
        return sse_response(fixture_text("stream_text.sse"))
    return httpx.Response(200, json=fixture_json("message_text.json"))


@pytest.fixture(params=["chat", "chat_stream"])
def op(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def send(run: Runner, op: str, **request: Any) -> dict[str, Any]:
    """Send a chat request; return the Anthropic body the server saw (checked for the stream flag)."""
    request.setdefault("model", "claude-sonnet-4-20250514")
    run(op, _answer, request)
    body: dict[str, Any] = run.body
    if op == "chat_stream":
        assert body.pop("stream") is True
    else:
        assert "stream" not in body
    return body


def refused(run: Runner, op: str, **request: Any) -> BadRequestError:
    request.setdefault("model", "claude-sonnet-4-20250514")
    with pytest.raises(BadRequestError) as info:
        run(op, _answer, request)
    assert run.requests == [], "nothing may be sent for a request Anthropic cannot express"
    return info.value


def test_endpoint_headers_and_minimal_body(run: Runner, op: str) -> None:
    body = send(run, op, messages=[{"role": "user", "content": "Hello, Claude"}])
    request = run.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "http://127.0.0.1:9/v1/messages"
    assert request.headers["x-api-key"] == API_KEY
    assert "authorization" not in request.headers
    assert API_KEY not in str(request.url)
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == ("text/event-stream" if op == "chat_stream" else "application/json")
    assert body == {
        "model": "claude-sonnet-4-20250514",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "Hello, Claude"}],
    }


def test_system_and_developer_become_top_level_system(run: Runner, op: str) -> None:
    body = send(
        run,
        op,
        messages=[
            {"role": "system", "content": "You are a seasoned data scientist."},
            {"role": "user", "content": "Hi"},
            {"role": "developer", "content": [{"type": "text", "text": "Answer briefly."}]},
        ],
    )
    assert body["system"] == [
        {"type": "text", "text": "You are a seasoned data scientist."},
        {"type": "text", "text": "Answer briefly."},
    ]
    assert body["messages"] == [{"role": "user", "content": "Hi"}]
    body = send(run, op, messages=[{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}])
    assert body["system"] == "Be terse."


def test_system_message_with_an_image_is_refused(run: Runner, op: str) -> None:
    error = refused(
        run,
        op,
        messages=[
            {"role": "system", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]},
            {"role": "user", "content": "Hi"},
        ],
    )
    assert "system" in error.message


def test_consecutive_same_role_turns_are_merged(run: Runner, op: str) -> None:
    body = send(
        run,
        op,
        messages=[
            {"role": "user", "content": "First question."},
            {"role": "user", "content": [{"type": "text", "text": "Second question."}]},
            {"role": "assistant", "content": "One."},
            {"role": "assistant", "content": "Two."},
            {"role": "user", "content": "Thanks"},
        ],
    )
    assert body["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "First question."}, {"type": "text", "text": "Second question."}],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "One."}, {"type": "text", "text": "Two."}]},
        {"role": "user", "content": "Thanks"},
    ]


def test_tool_calls_and_tool_results(run: Runner, op: str) -> None:
    body = send(
        run,
        op,
        messages=[
            USER,
            {
                "role": "assistant",
                "content": "I need to use get_weather.",
                "tool_calls": [
                    {
                        "id": "toolu_01A09q90qw90lq917835lq9",
                        "type": "function",
                        "function": {
                            "name": "get_weather",
                            "arguments": '{"location": "San Francisco, CA", "unit": "celsius"}',
                        },
                    },
                    {
                        "id": "toolu_02",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": ""},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "toolu_01A09q90qw90lq917835lq9", "content": "15 degrees"},
            {
                "role": "tool",
                "tool_call_id": "toolu_02",
                "content": [{"type": "text", "text": "10:00"}],
            },
            {"role": "user", "content": "And tomorrow?"},
        ],
        tools=[WEATHER_TOOL_OPENAI],
    )
    assert body["messages"] == [
        USER,
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "I need to use get_weather."},
                {
                    "type": "tool_use",
                    "id": "toolu_01A09q90qw90lq917835lq9",
                    "name": "get_weather",
                    "input": {"location": "San Francisco, CA", "unit": "celsius"},
                },
                {"type": "tool_use", "id": "toolu_02", "name": "get_time", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9", "content": "15 degrees"},
                {"type": "tool_result", "tool_use_id": "toolu_02", "content": [{"type": "text", "text": "10:00"}]},
                {"type": "text", "text": "And tomorrow?"},
            ],
        },
    ]
    assert body["tools"] == [WEATHER_TOOL_ANTHROPIC]
    assert "tool_choice" not in body


def test_assistant_with_only_tool_calls_sends_no_empty_text(run: Runner, op: str) -> None:
    body = send(
        run,
        op,
        messages=[
            USER,
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": "t1", "content": "ok"},
        ],
    )
    assert body["messages"][1] == {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}],
    }


@pytest.mark.parametrize("arguments", ["{not json", "[1, 2]"])
def test_invalid_tool_arguments_are_refused(run: Runner, op: str, arguments: str) -> None:
    error = refused(
        run,
        op,
        messages=[
            USER,
            {
                "role": "assistant",
                "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": arguments}}],
            },
        ],
    )
    assert "messages[1].tool_calls[0].function.arguments" in error.message


def test_sampling_parameters(run: Runner, op: str) -> None:
    body = send(
        run, op, messages=[USER], max_tokens=1024, stop="\n\nHuman:", temperature=0.7, top_p=0.9, user="user-42"
    )
    assert body["max_tokens"] == 1024
    assert body["stop_sequences"] == ["\n\nHuman:"]
    assert body["temperature"] == 0.7
    assert body["top_p"] == 0.9
    assert body["metadata"] == {"user_id": "user-42"}
    body = send(run, op, messages=[USER], stop=["END", "STOP"], max_tokens=10, max_completion_tokens=256)
    assert body["stop_sequences"] == ["END", "STOP"]
    assert body["max_tokens"] == 256, "max_completion_tokens maps to max_tokens and wins"
    body = send(run, op, messages=[USER], metadata={"user_id": "from-metadata"})
    assert body["metadata"] == {"user_id": "from-metadata"}


def test_extra_body_is_merged_last(run: Runner, op: str) -> None:
    body = send(run, op, messages=[USER], extra_body={"top_k": 5, "max_tokens": 77})
    assert body["top_k"] == 5
    assert body["max_tokens"] == 77


PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
PDF = base64.b64encode(b"%PDF-1.4 fake").decode()


def test_content_parts(run: Runner, op: str) -> None:
    body = send(
        run,
        op,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "high"}},
                    {
                        "type": "image_url",
                        "image_url": {
                            "url": "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"
                        },
                    },
                    {"type": "document", "document": {"data": PDF, "media_type": "application/pdf"}},
                    {
                        "type": "document",
                        "document": {"data": f"data:application/pdf;base64,{PDF}", "media_type": "application/pdf"},
                    },
                    {
                        "type": "document",
                        "document": {"data": "https://example.com/paper.pdf", "media_type": "application/pdf"},
                    },
                    {
                        "type": "document",
                        "document": {"data": base64.b64encode(b"plain words").decode(), "media_type": "text/plain"},
                    },
                    {"type": "text", "text": "Describe these."},
                ],
            }
        ],
    )
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                {
                    "type": "image",
                    "source": {
                        "type": "url",
                        "url": "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg",
                    },
                },
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}},
                {"type": "document", "source": {"type": "url", "url": "https://example.com/paper.pdf"}},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain words"}},
                {"type": "text", "text": "Describe these."},
            ],
        }
    ]


@pytest.mark.parametrize(
    ("part", "where"),
    [
        ({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}, "input_audio"),
        ({"type": "image_url", "image_url": {"url": "ftp://example.com/a.png"}}, "image_url.url"),
        ({"type": "document", "document": {"data": "AAAA", "media_type": "application/msword"}}, "media_type"),
        ({"type": "document", "document": {"data": "!!!", "media_type": "text/plain"}}, "base64"),
    ],
)
def test_content_anthropic_cannot_take_is_refused(run: Runner, op: str, part: dict[str, Any], where: str) -> None:
    error = refused(run, op, messages=[{"role": "user", "content": [part]}])
    assert where in error.message
    assert "messages[0].content[0]" in error.message


def test_tools_and_tool_choice(run: Runner, op: str) -> None:
    no_params = {"type": "function", "function": {"name": "get_time"}}
    cases = [
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        ({"type": "function", "function": {"name": "get_weather"}}, {"type": "tool", "name": "get_weather"}),
    ]
    for choice, expected in cases:
        body = send(run, op, messages=[USER], tools=[WEATHER_TOOL_OPENAI, no_params], tool_choice=choice)
        assert body["tools"] == [
            WEATHER_TOOL_ANTHROPIC,
            {"name": "get_time", "input_schema": {"type": "object", "properties": {}}},
        ]
        assert body["tool_choice"] == expected


def test_parallel_tool_calls_false(run: Runner, op: str) -> None:
    body = send(run, op, messages=[USER], tools=[WEATHER_TOOL_OPENAI], parallel_tool_calls=False)
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    body = send(
        run, op, messages=[USER], tools=[WEATHER_TOOL_OPENAI], tool_choice="required", parallel_tool_calls=False
    )
    assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    body = send(run, op, messages=[USER], tools=[WEATHER_TOOL_OPENAI], parallel_tool_calls=True)
    assert "tool_choice" not in body


@pytest.mark.parametrize(
    ("effort", "max_tokens", "budget", "expected_max"),
    [
        ("low", None, 1024, 4096),
        ("medium", None, 4096, 8192),
        ("high", None, 16384, 20480),
        ("high", 32000, 16384, 32000),
        ("medium", 1000, 4096, 5096),
    ],
)
def test_reasoning_effort_becomes_extended_thinking(
    run: Runner, op: str, effort: str, max_tokens: int | None, budget: int, expected_max: int
) -> None:
    extra = {"max_tokens": max_tokens} if max_tokens is not None else {}
    body = send(run, op, messages=[USER], reasoning_effort=effort, **extra)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert body["max_tokens"] == expected_max
    assert body["max_tokens"] > budget


def test_minimal_reasoning_effort_sends_no_thinking(run: Runner, op: str) -> None:
    body = send(run, op, messages=[USER], reasoning_effort="minimal")
    assert "thinking" not in body
    assert body["max_tokens"] == 4096


SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}


def test_response_format_json_schema_is_a_forced_tool(run: Runner, op: str) -> None:
    body = send(
        run,
        op,
        messages=[USER],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "description": "A person.", "schema": SCHEMA, "strict": True},
        },
    )
    assert body["tools"] == [{"name": "person", "description": "A person.", "input_schema": SCHEMA}]
    assert body["tool_choice"] == {"type": "tool", "name": "person"}


def test_response_format_json_object_is_a_forced_tool(run: Runner, op: str) -> None:
    body = send(run, op, messages=[USER], response_format={"type": "json_object"})
    assert len(body["tools"]) == 1
    assert body["tools"][0]["name"] == "json_response"
    assert body["tools"][0]["input_schema"] == {"type": "object"}
    assert body["tool_choice"] == {"type": "tool", "name": "json_response"}
    body = send(run, op, messages=[USER], response_format={"type": "text"})
    assert "tools" not in body


def test_response_format_with_tools_lets_the_model_choose(run: Runner, op: str) -> None:
    body = send(
        run,
        op,
        messages=[USER],
        tools=[WEATHER_TOOL_OPENAI],
        response_format={"type": "json_schema", "json_schema": {"name": "weird name!", "schema": SCHEMA}},
    )
    assert [tool["name"] for tool in body["tools"]] == ["get_weather", "json_response"]
    assert body["tool_choice"] == {"type": "any"}


def test_response_format_conflicts_are_refused(run: Runner, op: str) -> None:
    fmt = {"type": "json_object"}
    assert "reasoning_effort" in refused(run, op, messages=[USER], response_format=fmt, reasoning_effort="low").message
    assert (
        "none"
        in refused(
            run, op, messages=[USER], response_format=fmt, tools=[WEATHER_TOOL_OPENAI], tool_choice="none"
        ).message
    )
    clash = {"type": "function", "function": {"name": "json_response"}}
    assert "already" in refused(run, op, messages=[USER], response_format=fmt, tools=[clash]).message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("n", 2),
        ("logprobs", True),
        ("top_logprobs", 3),
        ("logit_bias", {"50256": -100}),
        ("presence_penalty", 0.5),
        ("frequency_penalty", 0.5),
        ("seed", 7),
        ("metadata", {"session": "x"}),
    ],
)
def test_parameters_anthropic_lacks_are_refused(run: Runner, op: str, field: str, value: Any) -> None:
    error = refused(run, op, messages=[USER], **{field: value})
    assert field in error.message
    assert "Anthropic" in error.message


def test_legacy_function_messages_are_refused(run: Runner, op: str) -> None:
    refused(run, op, messages=[USER, {"role": "function", "name": "f", "content": "x"}])
    refused(run, op, messages=[USER, {"role": "assistant", "function_call": {"name": "f", "arguments": "{}"}}])
