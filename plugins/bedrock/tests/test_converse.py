"""Converse: the request body from our types, the answer back, through both clients."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from liter_llm.errors import BadRequestError, SerializationError
from liter_llm.types import FinishReason

from .conftest import Runner, fixture_json

MODEL = "anthropic.claude-3-5-sonnet-20241022-v2:0"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
PDF = base64.b64encode(b"%PDF-1.4 fake").decode()


def ok(name: str = "converse_text.json") -> httpx.Response:
    return httpx.Response(200, json=fixture_json(name), headers={"x-amzn-requestid": "req-123"})


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "top_song",
            "description": "Get the most popular song played on a radio station.",
            "parameters": {
                "type": "object",
                "properties": {"sign": {"type": "string", "description": "The call sign, e.g. WZPZ."}},
                "required": ["sign"],
            },
        },
    }
]


def test_url_and_text_answer(run: Runner) -> None:
    response = run("chat", lambda r: ok(), model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    request = run.requests[0]
    assert request.method == "POST"
    assert request.url.raw_path == b"/model/anthropic.claude-3-5-sonnet-20241022-v2:0/converse"
    assert request.headers["content-type"] == "application/json"
    assert response.choices[0].message.content.startswith("The most popular song on WZPZ")
    assert response.choices[0].finish_reason == FinishReason.STOP
    assert response.id == "req-123"
    assert response.model == MODEL
    assert (response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.total_tokens) == (
        125,
        60,
        185,
    )


def test_full_request_translation(run: Runner) -> None:
    messages = [
        {"role": "system", "content": "You are a radio DJ."},
        {"role": "developer", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is on this?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                {"type": "document", "document": {"data": PDF, "media_type": "application/pdf"}},
            ],
        },
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "tooluse_1",
                    "type": "function",
                    "function": {"name": "top_song", "arguments": '{"sign":"WZPZ"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "tooluse_1", "content": '{"song": "Elemental Hotel"}'},
    ]
    run(
        "chat",
        lambda r: ok(),
        model=MODEL,
        messages=messages,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "top_song"}},
        temperature=0.5,
        top_p=0.9,
        max_tokens=512,
        stop=["END"],
        extra_body={"top_k": 200, "guardrailConfig": {"guardrailIdentifier": "gr-1", "guardrailVersion": "1"}},
    )
    body = run.body
    assert body["system"] == [{"text": "You are a radio DJ."}, {"text": "Be brief."}]
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"text": "What is on this?"},
                {"image": {"format": "png", "source": {"bytes": PNG}}},
                {"document": {"format": "pdf", "name": "document-1", "source": {"bytes": PDF}}},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"text": "Checking."},
                {"toolUse": {"toolUseId": "tooluse_1", "name": "top_song", "input": {"sign": "WZPZ"}}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": '{"song": "Elemental Hotel"}'}]}}
            ],
        },
    ]
    assert body["inferenceConfig"] == {"maxTokens": 512, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]}
    assert body["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "top_song",
                    "description": "Get the most popular song played on a radio station.",
                    "inputSchema": {"json": TOOLS[0]["function"]["parameters"]},
                }
            }
        ],
        "toolChoice": {"tool": {"name": "top_song"}},
    }
    assert body["additionalModelRequestFields"] == {"top_k": 200}
    assert body["guardrailConfig"] == {"guardrailIdentifier": "gr-1", "guardrailVersion": "1"}


@pytest.mark.parametrize(("choice", "wire"), [("auto", {"auto": {}}), ("required", {"any": {}})])
def test_tool_choice_modes(run: Runner, choice: str, wire: dict) -> None:
    run(
        "chat",
        lambda r: ok(),
        model=MODEL,
        messages=[{"role": "user", "content": "x"}],
        tools=TOOLS,
        tool_choice=choice,
    )
    assert run.body["toolConfig"]["toolChoice"] == wire


def test_tool_use_answer(run: Runner) -> None:
    response = run(
        "chat",
        lambda r: ok("converse_tool_use.json"),
        model=MODEL,
        messages=[{"role": "user", "content": "x"}],
        tools=TOOLS,
    )
    choice = response.choices[0]
    assert choice.finish_reason == FinishReason.TOOL_CALLS
    assert choice.message.content == "I'll look up the most popular song on WZPZ."
    (call,) = choice.message.tool_calls
    assert call.id == "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"
    assert call.function.name == "top_song"
    assert json.loads(call.function.arguments) == {"sign": "WZPZ"}


def test_cache_usage_and_reasoning(run: Runner) -> None:
    response = run(
        "chat", lambda r: ok("converse_cache_reasoning.json"), model=MODEL, messages=[{"role": "user", "content": "x"}]
    )
    usage = response.usage
    assert usage.prompt_tokens == 20 + 1000 + 24
    assert usage.prompt_tokens_details.cached_tokens == 1000
    assert usage.prompt_tokens_details.cache_creation_tokens == 24
    assert usage.completion_tokens == 40
    assert usage.total_tokens == 1084
    assert response.choices[0].message.reasoning_content == "The user wants a haiku."
    assert response.choices[0].message.content == "Autumn moonlight"
    assert response.choices[0].finish_reason == FinishReason.LENGTH


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("end_turn", FinishReason.STOP),
        ("stop_sequence", FinishReason.STOP),
        ("max_tokens", FinishReason.LENGTH),
        ("model_context_window_exceeded", FinishReason.LENGTH),
        ("tool_use", FinishReason.TOOL_CALLS),
        ("guardrail_intervened", FinishReason.CONTENT_FILTER),
        ("content_filtered", FinishReason.CONTENT_FILTER),
        ("something_new", FinishReason.OTHER),
    ],
)
def test_stop_reasons(run: Runner, reason: str, expected: FinishReason) -> None:
    data = fixture_json("converse_text.json") | {"stopReason": reason}
    response = run(
        "chat", lambda r: httpx.Response(200, json=data), model=MODEL, messages=[{"role": "user", "content": "x"}]
    )
    assert response.choices[0].finish_reason == expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}
            ]
        },
        {
            "messages": [
                {"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "amr"}}]}
            ]
        },
        {"messages": [{"role": "user", "content": "x"}], "presence_penalty": 0.5},
        {"messages": [{"role": "user", "content": "x"}], "n": 2},
        {"messages": [{"role": "system", "content": "only a system prompt"}]},
    ],
)
def test_what_converse_cannot_express_is_refused_before_sending(run: Runner, kwargs: dict) -> None:
    with pytest.raises(BadRequestError):
        run("chat", lambda r: ok(), model=MODEL, **kwargs)
    assert run.requests == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"output": {}}',
        b'{"output": {"message": {"content": "text"}}}',
        b'{"output": {"message": {"content": [{"toolUse": {"name": "x"}}]}}}',
        b'{"output": {"message": {"content": [{"text": "x"}]}}, "usage": {"inputTokens": "many"}}',
    ],
)
def test_malformed_answers_are_serialization_errors(run: Runner, body: bytes) -> None:
    with pytest.raises(SerializationError):
        run(
            "chat",
            lambda r: httpx.Response(200, content=body),
            model=MODEL,
            messages=[{"role": "user", "content": "x"}],
        )


def test_cross_region_profile_and_arn_routes(run: Runner) -> None:
    arn = "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0"
    for model in ("us.anthropic.claude-3-5-sonnet-20241022-v2:0", arn):
        run("chat", lambda r: ok(), model=f"bedrock/{model}", messages=[{"role": "user", "content": "x"}])
    assert run.requests[0].url.raw_path == b"/model/us.anthropic.claude-3-5-sonnet-20241022-v2:0/converse"
    assert run.requests[1].url.raw_path.startswith(
        b"/model/arn:aws:bedrock:us-west-2:123456789012:inference-profile%2F"
    )
    # the ARN names its region: the signature is scoped to it
    assert "/us-west-2/bedrock/aws4_request" in run.requests[1].headers["authorization"]


def test_reasoning_effort_on_claude_and_request_metadata(run: Runner) -> None:
    run(
        "chat",
        lambda r: ok(),
        model=MODEL,
        messages=[{"role": "user", "content": "x"}],
        reasoning_effort="low",
        max_tokens=500,
        user="user-7",
        metadata={"team": "radio"},
        extra_body={"additionalModelRequestFields": {"anthropic_beta": ["x"]}, "top_k": 5},
    )
    body = run.body
    assert body["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "anthropic_beta": ["x"],
        "top_k": 5,
    }
    assert body["inferenceConfig"]["maxTokens"] == 1024 + 500
    assert body["requestMetadata"] == {"user": "user-7", "team": "radio"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"reasoning_effort": "high"},  # not an Anthropic model
        {"parallel_tool_calls": False, "tools": TOOLS},
        {"service_tier": "priority"},
        {"metadata": {"n": 1}},
    ],
)
def test_more_refusals(run: Runner, kwargs: dict) -> None:
    with pytest.raises(BadRequestError):
        run("chat", lambda r: ok(), model="amazon.nova-pro-v1:0", messages=[{"role": "user", "content": "x"}], **kwargs)
    assert run.requests == []
