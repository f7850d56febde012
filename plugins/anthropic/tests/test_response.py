"""Anthropic message -> ChatCompletionResponse (non-streamed chat), through both clients."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from liter_llm.errors import SerializationError
from liter_llm.types import ChatCompletionResponse, FinishReason, PromptTokensDetails, Usage

from .conftest import Runner, fixture_json

REQUEST = {"model": "claude-3-7-sonnet-20250219", "messages": [{"role": "user", "content": "Hello"}]}


def chat(run: Runner, answer: Any, **request: Any) -> ChatCompletionResponse:
    def handler(_: httpx.Request) -> httpx.Response:
        if isinstance(answer, bytes):
            return httpx.Response(200, content=answer, headers={"content-type": "application/json"})
        return httpx.Response(200, json=answer)

    result: ChatCompletionResponse = run("chat", handler, {**REQUEST, **request})
    return result


def test_text_message(run: Runner) -> None:
    response = chat(run, fixture_json("message_text.json"))
    assert response.id == "msg_013Zva2CMHLNnXjNJJKqJ2EF"
    assert response.object == "chat.completion"
    assert response.model == "claude-3-7-sonnet-20250219"
    assert isinstance(response.created, int)
    assert response.created > 0
    [choice] = response.choices
    assert choice.index == 0
    assert choice.message.content == "Hi! My name is Claude."
    assert choice.message.tool_calls == []
    assert choice.message.reasoning_content is None
    assert choice.finish_reason is FinishReason.STOP
    assert response.usage == Usage(prompt_tokens=2095, completion_tokens=503, total_tokens=2598)
    assert ChatCompletionResponse.from_dict(response.to_dict()) == response


def test_tool_use_message(run: Runner) -> None:
    response = chat(run, fixture_json("message_tool_use.json"))
    [choice] = response.choices
    assert choice.finish_reason is FinishReason.TOOL_CALLS
    assert choice.message.content == (
        "<thinking>I need to use get_weather, and the user wants SF, which is likely San Francisco, CA.</thinking>"
    )
    [call] = choice.message.tool_calls
    assert call.id == "toolu_01A09q90qw90lq917835lq9"
    assert call.function.name == "get_weather"
    assert isinstance(call.function.arguments, str)
    assert json.loads(call.function.arguments) == {"location": "San Francisco, CA", "unit": "celsius"}
    assert response.to_dict()["choices"][0]["message"]["tool_calls"][0]["type"] == "function"


def test_parallel_tool_uses_keep_their_order(run: Runner) -> None:
    data = fixture_json("message_tool_use.json")
    data["content"].append({"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}})
    response = chat(run, data)
    calls = response.choices[0].message.tool_calls
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        ("toolu_01A09q90qw90lq917835lq9", "get_weather", '{"location":"San Francisco, CA","unit":"celsius"}'),
        ("toolu_2", "get_time", "{}"),
    ]


def test_thinking_goes_to_reasoning_content_not_content(run: Runner) -> None:
    response = chat(run, fixture_json("message_thinking.json"), reasoning_effort="medium")
    message = response.choices[0].message
    assert message.content == "Based on my analysis..."
    assert message.reasoning_content == "Let me analyze this step by step..."
    assert "analyze this step" not in (message.content or "")
    assert response.choices[0].finish_reason is FinishReason.STOP


def test_cache_usage(run: Runner) -> None:
    response = chat(run, fixture_json("message_cache_usage.json"))
    assert response.usage == Usage(
        prompt_tokens=21 + 2048 + 188086,
        completion_tokens=393,
        total_tokens=21 + 2048 + 188086 + 393,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=2048, cache_creation_tokens=188086),
    )


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", FinishReason.STOP),
        ("stop_sequence", FinishReason.STOP),
        ("max_tokens", FinishReason.LENGTH),
        ("tool_use", FinishReason.TOOL_CALLS),
        ("refusal", FinishReason.CONTENT_FILTER),
        ("pause_turn", FinishReason.OTHER),
        ("a_reason_added_later", FinishReason.OTHER),
        (None, None),
    ],
)
def test_stop_reasons(run: Runner, stop_reason: str | None, finish: FinishReason | None) -> None:
    data = fixture_json("message_text.json")
    data["stop_reason"] = stop_reason
    assert chat(run, data).choices[0].finish_reason is finish


def _forced_tool_answer(name: str, payload: dict[str, Any]) -> dict[str, Any]:
    data = fixture_json("message_tool_use.json")
    data["content"] = [{"type": "tool_use", "id": "toolu_json", "name": name, "input": payload}]
    return data


def test_json_schema_answer_is_content(run: Runner) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": {"type": "object"}}}
    response = chat(run, _forced_tool_answer("person", {"name": "Ada", "age": 36}), response_format=fmt)
    [choice] = response.choices
    assert json.loads(choice.message.content or "") == {"name": "Ada", "age": 36}
    assert choice.message.tool_calls == []
    assert choice.finish_reason is FinishReason.STOP


def test_json_object_answer_is_content(run: Runner) -> None:
    response = chat(run, _forced_tool_answer("json_response", {"ok": True}), response_format={"type": "json_object"})
    assert response.choices[0].message.content == '{"ok":true}'
    assert response.choices[0].finish_reason is FinishReason.STOP


def test_json_mode_with_a_real_tool_call_keeps_the_call(run: Runner) -> None:
    response = chat(run, fixture_json("message_tool_use.json"), response_format={"type": "json_object"})
    [choice] = response.choices
    assert choice.message.content is None
    assert [c.function.name for c in choice.message.tool_calls] == ["get_weather"]
    assert choice.finish_reason is FinishReason.TOOL_CALLS


def test_unknown_fields_and_block_types_are_tolerated(run: Runner) -> None:
    data = fixture_json("message_text.json")
    data["container"] = {"id": "c1"}
    data["content"].insert(0, {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}})
    data["content"].append({"type": "text", "text": " Nice to meet you.", "citations": None})
    data["usage"]["service_tier"] = "standard"
    response = chat(run, data)
    assert response.choices[0].message.content == "Hi! My name is Claude. Nice to meet you."
    assert response.choices[0].message.tool_calls == []


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (b"<html>Bad gateway</html>", "not valid JSON"),
        (b"[1, 2]", "not an object"),
        ({"id": "m", "model": "c", "content": {"type": "text"}}, "content"),
        ({"id": "m", "model": "c", "content": [{"type": "text", "text": 5}]}, "content[0].text"),
        ({"id": "m", "model": "c", "content": ["text"]}, "content[0]"),
        ({"id": "m", "model": "c", "content": [], "usage": {"input_tokens": "many"}}, "usage.input_tokens"),
        ({"id": "m", "model": "c", "content": [], "usage": [1]}, "usage"),
        ({"id": "m", "model": "c", "content": [{"type": "tool_use", "id": "t", "input": {}}]}, "content[0].name"),
        ({"id": 7, "model": "c", "content": []}, "id"),
    ],
)
def test_malformed_messages_raise_serialization_error(run: Runner, answer: Any, words: str) -> None:
    with pytest.raises(SerializationError) as info:
        chat(run, answer)
    assert words in info.value.message
    assert info.value.provider == "anthropic"


@pytest.mark.parametrize("body", [{}, {"id": "msg_1", "type": "message"}])
def test_an_answer_that_is_not_a_message_is_a_serialization_error(run: Runner, body: Any) -> None:
    with pytest.raises(SerializationError, match="content"):
        chat(run, body)
