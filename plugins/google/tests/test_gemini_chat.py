"""Gemini API chat: every request and response mapping, through both public clients."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from liter_llm import errors
from liter_llm.types import FinishReason

MODEL = "gemini-2.0-flash"


def reply(data: Any) -> Any:
    return lambda request: httpx.Response(200, json=data)


def ok(text: str = "ok") -> Any:
    return reply({"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}]})


# ---------------------------------------------------------------------------
# The documented example, and where the request goes
# ---------------------------------------------------------------------------


def test_documented_text_example(run: Any, g: Any) -> None:
    data = g.load("generate_content_text.json")
    response = run(reply(data), "chat", model=MODEL, messages=[{"role": "user", "content": "Explain how AI works"}])
    request = run.requests[0]
    assert str(request.url) == f"https://generativelanguage.googleapis.com/v1beta/models/{MODEL}:generateContent"
    assert request.method == "POST"
    assert request.headers["x-goog-api-key"] == g.KEY
    assert g.KEY not in str(request.url)
    assert "authorization" not in request.headers
    assert run.body == {"contents": [{"role": "user", "parts": [{"text": "Explain how AI works"}]}]}
    assert response.id == "z1Y0aLqWIL2rgLUP6vmN0QI"
    assert response.model == "gemini-2.0-flash"
    assert response.object == "chat.completion"
    [choice] = response.choices
    assert choice.index == 0
    assert choice.message.content == "AI learns patterns from data to make predictions or decisions."
    assert choice.message.tool_calls == []
    assert choice.message.reasoning_content is None
    assert choice.finish_reason == FinishReason.STOP
    assert response.usage.prompt_tokens == 8
    assert response.usage.completion_tokens == 12
    assert response.usage.total_tokens == 20
    assert response.usage.prompt_tokens_details is None
    assert response.usage.completion_tokens_details is None


def test_routing_by_prefix_and_by_name(run: Any) -> None:
    run(ok(), "chat", model="gemini/gemini-2.5-pro", messages=[{"role": "user", "content": "hi"}])
    assert run.requests[0].url.path == "/v1beta/models/gemini-2.5-pro:generateContent"
    run(ok(), "chat", model="gemini-1.5-flash-8b", messages=[{"role": "user", "content": "hi"}])
    assert run.requests[1].url.path == "/v1beta/models/gemini-1.5-flash-8b:generateContent"
    run(ok(), "chat", model="gemini/tunedModels/my-model-1", messages=[{"role": "user", "content": "hi"}])
    assert run.requests[2].url.path == "/v1beta/tunedModels/my-model-1:generateContent"


def test_model_hint_and_base_url(run: Any, g: Any) -> None:
    run(
        ok(),
        "chat",
        model="my-model",
        messages=[{"role": "user", "content": "hi"}],
        client={"api_key": g.KEY, "model_hint": "gemini", "base_url": "http://127.0.0.1:9/v1beta"},
    )
    assert str(run.requests[0].url) == "http://127.0.0.1:9/v1beta/models/my-model:generateContent"
    assert run.requests[0].headers["x-goog-api-key"] == g.KEY


def test_base_url_variable(run: Any, g: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_BASE_URL", "http://127.0.0.1:9/gem/")
    run(ok(), "chat", model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert str(run.requests[0].url) == f"http://127.0.0.1:9/gem/models/{MODEL}:generateContent"


def test_model_name_cannot_escape_the_path(run: Any) -> None:
    run(ok(), "chat", model="gemini-x?key=1#y", messages=[{"role": "user", "content": "hi"}])
    url = run.requests[0].url
    assert url.query == b""
    assert url.path.endswith(":generateContent")


# ---------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------


def test_key_from_gemini_api_key(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-env-key")
    monkeypatch.setenv("GOOGLE_API_KEY", "google-env-key")
    run(ok(), "chat", model=MODEL, messages=[{"role": "user", "content": "hi"}], client={})
    assert run.requests[0].headers["x-goog-api-key"] == "gemini-env-key"


def test_key_falls_back_to_google_api_key(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "google-env-key")
    run(ok(), "chat", model=MODEL, messages=[{"role": "user", "content": "hi"}], client={})
    assert run.requests[0].headers["x-goog-api-key"] == "google-env-key"
    assert "google-env-key" not in str(run.requests[0].url)


def test_no_key_fails_before_any_request(run: Any) -> None:
    with pytest.raises(errors.AuthenticationError, match="GEMINI_API_KEY"):
        run(ok(), "chat", model=MODEL, messages=[{"role": "user", "content": "hi"}], client={})
    with pytest.raises(errors.AuthenticationError):
        run(ok(), "chat_stream", model=MODEL, messages=[{"role": "user", "content": "hi"}], client={})
    assert run.requests == []


# ---------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------


def test_system_and_developer_go_to_system_instruction(run: Any) -> None:
    run(
        ok(),
        "chat",
        model=MODEL,
        messages=[
            {"role": "system", "content": "You are a cat."},
            {
                "role": "developer",
                "content": [{"type": "text", "text": "Your name is "}, {"type": "text", "text": "Neko."}],
            },
            {"role": "user", "content": "Hello there"},
            {"role": "assistant", "content": "Meow."},
            {"role": "user", "content": "Again?"},
        ],
    )
    assert run.body == {
        "contents": [
            {"role": "user", "parts": [{"text": "Hello there"}]},
            {"role": "model", "parts": [{"text": "Meow."}]},
            {"role": "user", "parts": [{"text": "Again?"}]},
        ],
        "systemInstruction": {"parts": [{"text": "You are a cat."}, {"text": "Your name is Neko."}]},
    }


def test_images_documents_and_audio(run: Any) -> None:
    run(
        ok(),
        "chat",
        model=MODEL,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Caption these."},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg?size=2", "detail": "low"}},
                    {"type": "image_url", "image_url": {"url": "gs://bucket/scan"}},
                    {"type": "document", "document": {"data": "JVBERi0xLjQK", "media_type": "application/pdf"}},
                    {
                        "type": "document",
                        "document": {"data": "gs://bucket/paper.pdf", "media_type": "application/pdf"},
                    },
                    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                ],
            }
        ],
    )
    assert run.body["contents"][0]["parts"] == [
        {"text": "Caption these."},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.jpg?size=2"}},
        {"fileData": {"fileUri": "gs://bucket/scan"}},
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0xLjQK"}},
        {"fileData": {"mimeType": "application/pdf", "fileUri": "gs://bucket/paper.pdf"}},
        {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
    ]


@pytest.mark.parametrize("url", ["data:image/png,notbase64", "ftp://example.com/a.png", "file:///etc/passwd"])
def test_bad_image_urls_are_bad_requests(run: Any, url: str) -> None:
    with pytest.raises(errors.BadRequestError, match="image_url"):
        run(
            ok(),
            "chat",
            model=MODEL,
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}],
        )
    assert run.requests == []


# ---------------------------------------------------------------------------
# Tools: declarations, choice, calls and results both ways
# ---------------------------------------------------------------------------

WEATHER_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "WeatherArgs",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "location": {"type": "string", "description": "City name", "examples": ["Paris"]},
        "unit": {"type": ["string", "null"], "enum": ["celsius", "fahrenheit"], "default": "celsius"},
        "when": {"$ref": "#/$defs/When"},
        "days": {"type": "array", "items": {"type": "integer", "minimum": 1}, "maxItems": 7},
        "mode": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
        "kind": {"const": "forecast"},
    },
    "required": ["location", "ghost"],
    "$defs": {
        "When": {"type": "object", "title": "When", "properties": {"day": {"type": "string"}}, "required": ["day"]}
    },
}

GEMINI_WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "nullable": True, "enum": ["celsius", "fahrenheit"]},
        "when": {"type": "object", "properties": {"day": {"type": "string"}}, "required": ["day"]},
        "days": {"type": "array", "items": {"type": "integer", "minimum": 1}, "maxItems": 7},
        "mode": {"nullable": True, "type": "string", "format": "date-time"},
        "kind": {"enum": ["forecast"]},
    },
    "required": ["location"],
}


def test_tools_become_function_declarations(run: Any) -> None:
    run(
        ok(),
        "chat",
        model=MODEL,
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[
            {
                "type": "function",
                "function": {"name": "get_weather", "description": "Get the weather", "parameters": WEATHER_SCHEMA},
            },
            {"type": "function", "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}},
        ],
    )
    assert run.body["tools"] == [
        {
            "functionDeclarations": [
                {"name": "get_weather", "description": "Get the weather", "parameters": GEMINI_WEATHER_SCHEMA},
                {"name": "now"},
            ]
        }
    ]


def test_recursive_schema_is_a_bad_request(run: Any) -> None:
    schema = {
        "type": "object",
        "properties": {"node": {"$ref": "#/$defs/Node"}},
        "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
    }
    with pytest.raises(errors.BadRequestError, match="recursive"):
        run(
            ok(),
            "chat",
            model=MODEL,
            messages=[{"role": "user", "content": "x"}],
            tools=[{"type": "function", "function": {"name": "f", "parameters": schema}}],
        )
    assert run.requests == []


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("required", {"mode": "ANY"}),
        ("none", {"mode": "NONE"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"mode": "ANY", "allowedFunctionNames": ["get_weather"]},
        ),
    ],
)
def test_tool_choice(run: Any, choice: Any, config: dict[str, Any]) -> None:
    run(
        ok(),
        "chat",
        model=MODEL,
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[{"type": "function", "function": {"name": "get_weather"}}],
        tool_choice=choice,
    )
    assert run.body["toolConfig"] == {"functionCallingConfig": config}


def test_documented_function_call_answer(run: Any, g: Any) -> None:
    response = run(
        reply(g.load("generate_content_function_call.json")),
        "chat",
        model=MODEL,
        messages=[{"role": "user", "content": "Dim the lights so the room feels cozy and warm."}],
    )
    [choice] = response.choices
    assert choice.finish_reason == FinishReason.TOOL_CALLS
    assert choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.id == "call_0_set_light_values"
    assert call.call_type.value == "function"
    assert call.function.name == "set_light_values"
    assert json.loads(call.function.arguments) == {"brightness": 25, "color_temp": "warm"}
    assert response.usage.total_tokens == 94


def test_parallel_calls_ids_and_signatures(run: Any) -> None:
    data = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "Checking both."},
                        {
                            "functionCall": {"name": "get_weather", "args": {"location": "Paris"}},
                            "thoughtSignature": "c2lnMQ==",
                        },
                        {"functionCall": {"id": "fc-7", "name": "get_weather", "args": {"location": "Rome"}}},
                        {"functionCall": {"name": "get_time"}},
                    ],
                },
                "finishReason": "STOP",
            }
        ]
    }
    response = run(reply(data), "chat", model=MODEL, messages=[{"role": "user", "content": "x"}])
    message = response.choices[0].message
    assert message.content == "Checking both."
    assert [c.id for c in message.tool_calls] == ["call_0_get_weather~ts~c2lnMQ==", "fc-7", "call_2_get_time"]
    assert [c.function.arguments for c in message.tool_calls] == ['{"location":"Paris"}', '{"location":"Rome"}', "{}"]
    # the same answer twice gives the same ids (stable, deterministic)
    again = run(reply(data), "chat", model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert [c.id for c in again.choices[0].message.tool_calls] == [c.id for c in message.tool_calls]

    # and they go back to Gemini: names found from the ids, Gemini's own ids and signatures returned
    history = [
        {"role": "user", "content": "Weather in Paris and Rome, and the time?"},
        message.to_dict(),
        {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": '{"temp": 21}'},
        {"role": "tool", "tool_call_id": "fc-7", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_2_get_time", "content": [{"type": "text", "text": "12:00"}]},
        {"role": "user", "content": "Thanks"},
    ]
    run(ok(), "chat", model=MODEL, messages=history)
    assert run.body["contents"] == [
        {"role": "user", "parts": [{"text": "Weather in Paris and Rome, and the time?"}]},
        {
            "role": "model",
            "parts": [
                {"text": "Checking both."},
                {
                    "functionCall": {"name": "get_weather", "args": {"location": "Paris"}},
                    "thoughtSignature": "c2lnMQ==",
                },
                {"functionCall": {"name": "get_weather", "args": {"location": "Rome"}, "id": "fc-7"}},
                {"functionCall": {"name": "get_time", "args": {}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}},
                {"functionResponse": {"name": "get_weather", "response": {"content": "sunny"}, "id": "fc-7"}},
                {"functionResponse": {"name": "get_time", "response": {"content": "12:00"}}},
            ],
        },
        {"role": "user", "parts": [{"text": "Thanks"}]},
    ]


def test_openai_style_history_maps_ids_to_names(run: Any) -> None:
    run(
        ok(),
        "chat",
        model=MODEL,
        messages=[
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "call_abc", "type": "function", "function": {"name": "get_weather", "arguments": '{"q": 1}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_abc", "content": "[1, 2]"},
        ],
    )
    assert run.body["contents"][1:] == [
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"q": 1}, "id": "call_abc"}}]},
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"content": "[1, 2]"}, "id": "call_abc"}}
            ],
        },
    ]


def test_unknown_tool_call_id_is_a_bad_request(run: Any) -> None:
    with pytest.raises(errors.BadRequestError, match="tool_call_id"):
        run(
            ok(),
            "chat",
            model=MODEL,
            messages=[{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "nope", "content": "1"}],
        )
    assert run.requests == []


def test_tool_message_with_name_but_no_earlier_call(run: Any) -> None:
    run(
        ok(),
        "chat",
        model=MODEL,
        messages=[{"role": "tool", "tool_call_id": "x", "name": "lookup", "content": "{}"}],
    )
    assert run.body["contents"] == [
        {"role": "user", "parts": [{"functionResponse": {"name": "lookup", "response": {}, "id": "x"}}]}
    ]


def test_bad_tool_arguments_are_a_bad_request(run: Any) -> None:
    with pytest.raises(errors.BadRequestError, match="arguments"):
        run(
            ok(),
            "chat",
            model=MODEL,
            messages=[
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}],
                }
            ],
        )


# ---------------------------------------------------------------------------
# Generation settings
# ---------------------------------------------------------------------------


def test_generation_config(run: Any) -> None:
    run(
        ok(),
        "chat",
        model=MODEL,
        messages=[{"role": "user", "content": "x"}],
        temperature=0.2,
        top_p=0.9,
        max_tokens=100,
        max_completion_tokens=50,
        stop="END",
        n=2,
        seed=7,
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        logprobs=True,
        top_logprobs=3,
        user="u-1",
        parallel_tool_calls=False,
    )
    assert run.body["generationConfig"] == {
        "temperature": 0.2,
        "topP": 0.9,
        "maxOutputTokens": 50,
        "stopSequences": ["END"],
        "candidateCount": 2,
        "seed": 7,
        "presencePenalty": 0.5,
        "frequencyPenalty": -0.5,
        "responseLogprobs": True,
        "logprobs": 3,
    }
    run(ok(), "chat", model=MODEL, messages=[{"role": "user", "content": "x"}], max_tokens=10, stop=["a", "b"])
    assert run.body["generationConfig"] == {"maxOutputTokens": 10, "stopSequences": ["a", "b"]}


@pytest.mark.parametrize(("effort", "budget"), [("minimal", 1024), ("low", 1024), ("medium", 8192), ("high", 24576)])
def test_reasoning_effort_thinking_budget(run: Any, effort: str, budget: int) -> None:
    run(ok(), "chat", model=MODEL, messages=[{"role": "user", "content": "x"}], reasoning_effort=effort)
    assert run.body["generationConfig"] == {"thinkingConfig": {"thinkingBudget": budget, "includeThoughts": True}}


def test_response_format(run: Any) -> None:
    run(ok(), "chat", model=MODEL, messages=[{"role": "user", "content": "x"}], response_format={"type": "json_object"})
    assert run.body["generationConfig"] == {"responseMimeType": "application/json"}
    run(
        ok(),
        "chat",
        model=MODEL,
        messages=[{"role": "user", "content": "x"}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "recipe", "strict": True, "schema": {**WEATHER_SCHEMA}},
        },
    )
    assert run.body["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseSchema": GEMINI_WEATHER_SCHEMA,
    }
    run(ok(), "chat", model=MODEL, messages=[{"role": "user", "content": "x"}], response_format={"type": "text"})
    assert "generationConfig" not in run.body


def test_extra_body_merges(run: Any) -> None:
    safety = [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}]
    run(
        ok(),
        "chat",
        model=MODEL,
        messages=[{"role": "user", "content": "x"}],
        temperature=1.0,
        extra_body={"safetySettings": safety, "generationConfig": {"topK": 40}},
    )
    assert run.body["safetySettings"] == safety
    assert run.body["generationConfig"] == {"temperature": 1.0, "topK": 40}


def test_logit_bias_is_refused(run: Any) -> None:
    with pytest.raises(errors.BadRequestError, match="logit_bias"):
        run(ok(), "chat", model=MODEL, messages=[{"role": "user", "content": "x"}], logit_bias={"50256": -100})
    assert run.requests == []


# ---------------------------------------------------------------------------
# Answers: thoughts, usage, finish reasons, candidates, blocks
# ---------------------------------------------------------------------------


def test_documented_thinking_answer(run: Any, g: Any) -> None:
    response = run(
        reply(g.load("generate_content_thinking.json")),
        "chat",
        model=MODEL,
        messages=[{"role": "user", "content": "x"}],
    )
    message = response.choices[0].message
    assert message.content == "Occam's Razor says: prefer the simplest explanation."
    assert message.reasoning_content == "**Considering the razor**\nThe simplest explanation is usually right."
    usage = response.usage
    assert usage.prompt_tokens == 16
    assert usage.completion_tokens == 11 + 1204
    assert usage.total_tokens == 1231
    assert usage.prompt_tokens_details.cached_tokens == 4
    assert usage.completion_tokens_details.reasoning_tokens == 1204
    assert response.model == "gemini-2.5-flash"


@pytest.mark.parametrize(
    ("gemini", "ours"),
    [
        ("STOP", FinishReason.STOP),
        ("MAX_TOKENS", FinishReason.LENGTH),
        ("SAFETY", FinishReason.CONTENT_FILTER),
        ("RECITATION", FinishReason.CONTENT_FILTER),
        ("BLOCKLIST", FinishReason.CONTENT_FILTER),
        ("PROHIBITED_CONTENT", FinishReason.CONTENT_FILTER),
        ("SPII", FinishReason.CONTENT_FILTER),
        ("IMAGE_SAFETY", FinishReason.CONTENT_FILTER),
        ("MALFORMED_FUNCTION_CALL", FinishReason.OTHER),
        ("LANGUAGE", FinishReason.OTHER),
        ("OTHER", FinishReason.OTHER),
        ("SOMETHING_NEW", FinishReason.OTHER),
    ],
)
def test_finish_reasons(run: Any, gemini: str, ours: FinishReason) -> None:
    data = {"candidates": [{"content": {"role": "model", "parts": [{"text": "t"}]}, "finishReason": gemini}]}
    response = run(reply(data), "chat", model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert response.choices[0].finish_reason == ours


def test_max_tokens_with_a_call_stays_length(run: Any) -> None:
    data = {
        "candidates": [
            {"content": {"parts": [{"functionCall": {"name": "f", "args": {}}}]}, "finishReason": "MAX_TOKENS"}
        ]
    }
    response = run(reply(data), "chat", model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert response.choices[0].finish_reason == FinishReason.LENGTH


def test_several_candidates(run: Any) -> None:
    data = {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": "one"}]}, "finishReason": "STOP", "index": 0},
            {
                "content": {"role": "model", "parts": [{"text": "t"}, {"text": "wo"}]},
                "finishReason": "MAX_TOKENS",
                "index": 1,
            },
        ],
        "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 4},
    }
    response = run(reply(data), "chat", model=MODEL, messages=[{"role": "user", "content": "x"}], n=2)
    assert [(c.index, c.message.content, c.finish_reason) for c in response.choices] == [
        (0, "one", FinishReason.STOP),
        (1, "two", FinishReason.LENGTH),
    ]
    assert response.usage.total_tokens == 7  # no totalTokenCount: the sum
    assert response.model == MODEL
    assert response.id.startswith("chatcmpl-")


def test_documented_blocked_prompt_is_a_content_policy_error(run: Any, g: Any) -> None:
    with pytest.raises(errors.ContentPolicyError, match="SAFETY") as info:
        run(reply(g.load("prompt_blocked.json")), "chat", model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert info.value.provider == "gemini"
    assert info.value.code == "SAFETY"


def test_no_candidates_without_block_is_an_empty_answer(run: Any) -> None:
    response = run(
        reply({"usageMetadata": {"promptTokenCount": 1}}),
        "chat",
        model=MODEL,
        messages=[{"role": "user", "content": "x"}],
    )
    assert response.choices == []
    assert response.usage.prompt_tokens == 1


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        json.dumps({"candidates": {"a": 1}}).encode(),
        json.dumps({"candidates": [{"content": {"parts": [{"text": 5}]}}]}).encode(),
        json.dumps({"candidates": [{"content": {"parts": [{"functionCall": {"args": {}}}]}}]}).encode(),
        json.dumps({"candidates": [{"content": {"parts": "text"}}]}).encode(),
        json.dumps({"candidates": [], "usageMetadata": {"promptTokenCount": "many"}}).encode(),
        b"\xff\xfe",
    ],
)
def test_malformed_answers_are_serialization_errors(run: Any, body: bytes) -> None:
    with pytest.raises(errors.SerializationError):
        run(
            lambda r: httpx.Response(200, content=body),
            "chat",
            model=MODEL,
            messages=[{"role": "user", "content": "x"}],
        )


def test_unknown_fields_are_tolerated(run: Any) -> None:
    data = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"text": "hi", "newField": 1}, {"executableCode": {"code": "1"}}],
                },
                "finishReason": "STOP",
                "safetyRatings": [],
                "citationMetadata": {"citationSources": []},
            }
        ],
        "usageMetadata": {"promptTokenCount": "3", "candidatesTokenCount": 1, "toolUsePromptTokenCount": 2},
        "somethingElse": {"x": 1},
    }
    response = run(reply(data), "chat", model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert response.choices[0].message.content == "hi"
    assert response.usage.prompt_tokens == 3  # int64 counts may arrive as strings


@pytest.mark.parametrize("body", [{}, {"responseId": "r", "modelVersion": "m"}])
def test_an_answer_that_is_not_a_generate_content_response_is_a_serialization_error(run: Any, body: Any) -> None:
    with pytest.raises(errors.SerializationError, match="candidates"):
        run(reply(body), "chat", model=MODEL, messages=[{"role": "user", "content": "x"}])
