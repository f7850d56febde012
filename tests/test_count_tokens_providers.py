"""``client.count_tokens(..., exact=True)`` through the providers' own counting endpoints, both clients.

Fixtures are the documented examples: Anthropic's token-counting guide counts a
system prompt "You are a scientist" and "Hello, Claude" as ``{"input_tokens": 14}``
(``POST /v1/messages/count_tokens``, the Messages body without ``max_tokens``);
Gemini's ``models.countTokens`` reference counts "The quick brown fox jumps over
the lazy dog." as ``{"totalTokens": 10}`` (``POST /v1beta/models/{model}:countTokens``
with a ``generateContentRequest``).  A provider without an endpoint is counted offline.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

import liter_llm
from liter_llm.builtins.cost import set_model_price
from liter_llm.errors import BadRequestError, SerializationError

BASE = "http://127.0.0.1:9/v1"
SCIENTIST = [{"role": "system", "content": "You are a scientist"}, {"role": "user", "content": "Hello, Claude"}]
FOX = [{"role": "user", "content": "The quick brown fox jumps over the lazy dog."}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given location",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
    },
}


class Recorder:
    def __init__(self, answer: httpx.Response) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer


def count(mode: str, hint: str, handler: Recorder, **kwargs: Any) -> Any:
    options: dict[str, Any] = {
        "api_key": "sk-test-count-secret",
        "base_url": BASE,
        "model_hint": hint,
        "max_retries": 0,
        **kwargs.pop("client", {}),
    }
    if mode == "sync":
        with liter_llm.create_client(transport=httpx.MockTransport(handler), **options) as client:
            return client.count_tokens(**kwargs)

    async def main() -> Any:
        async def ahandler(request: httpx.Request) -> httpx.Response:
            return handler(request)

        async with liter_llm.create_async_client(transport=httpx.MockTransport(ahandler), **options) as client:
            return await client.count_tokens(**kwargs)

    return asyncio.run(main())


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_anthropic_counts_with_messages_count_tokens(mode: str) -> None:
    seen = Recorder(httpx.Response(200, json={"input_tokens": 14}))
    result = count(mode, "anthropic", seen, model="claude-sonnet-4-5", messages=SCIENTIST, exact=True)
    assert result == liter_llm.TokenCount(tokens=14, method="provider:anthropic", exact=True, model="claude-sonnet-4-5")
    (request,) = seen.requests
    assert request.method == "POST"
    assert request.url.path == "/v1/messages/count_tokens"
    assert request.headers["x-api-key"] == "sk-test-count-secret"
    assert request.headers["anthropic-version"] == "2023-06-01"
    body = json.loads(request.content)
    assert body == {
        "model": "claude-sonnet-4-5",
        "system": "You are a scientist",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello, Claude"}]}]
        if isinstance(body["messages"][0]["content"], list)
        else [{"role": "user", "content": "Hello, Claude"}],
    }
    assert "max_tokens" not in body


def test_anthropic_counts_tools_too(mode: str) -> None:
    seen = Recorder(httpx.Response(200, json={"input_tokens": 403}))
    result = count(mode, "anthropic", seen, model="claude-sonnet-4-5", messages=FOX, tools=[WEATHER_TOOL], exact=True)
    assert result.tokens == 403
    body = json.loads(seen.requests[0].content)
    assert body["tools"][0]["name"] == "get_weather"
    assert body["tools"][0]["input_schema"]["required"] == ["location"]


def test_gemini_counts_with_count_tokens(mode: str) -> None:
    seen = Recorder(
        httpx.Response(200, json={"totalTokens": 10, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 10}]})
    )
    result = count(mode, "gemini", seen, model="gemini-2.0-flash", messages=FOX, exact=True)
    assert result == liter_llm.TokenCount(tokens=10, method="provider:gemini", exact=True, model="gemini-2.0-flash")
    (request,) = seen.requests
    assert request.url.path == "/v1/models/gemini-2.0-flash:countTokens"
    assert request.headers["x-goog-api-key"] == "sk-test-count-secret"
    body = json.loads(request.content)
    inner = body["generateContentRequest"]
    assert inner["model"] == "models/gemini-2.0-flash"
    assert inner["contents"] == [{"role": "user", "parts": [{"text": FOX[0]["content"]}]}]


def test_gemini_counts_the_system_instruction_and_tools(mode: str) -> None:
    seen = Recorder(httpx.Response(200, json={"totalTokens": 57}))
    messages = [{"role": "system", "content": "Be brief"}, *FOX]
    result = count(mode, "gemini", seen, model="gemini-2.0-flash", messages=messages, tools=[WEATHER_TOOL], exact=True)
    assert result.tokens == 57
    inner = json.loads(seen.requests[0].content)["generateContentRequest"]
    assert inner["systemInstruction"]["parts"] == [{"text": "Be brief"}]
    assert inner["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"


def test_an_empty_gemini_count_leaves_out_the_zero(mode: str) -> None:
    assert (
        count(
            mode, "gemini", Recorder(httpx.Response(200, json={})), model="gemini-2.0-flash", messages=FOX, exact=True
        ).tokens
        == 0
    )


def test_without_exact_nothing_is_sent(mode: str) -> None:
    seen = Recorder(httpx.Response(500))
    result = count(mode, "anthropic", seen, model="claude-sonnet-4-5", messages=SCIENTIST)
    assert result.method == "estimate:characters/4"
    assert not result.exact
    assert seen.requests == []


def test_a_provider_without_a_counting_endpoint_is_counted_offline(mode: str) -> None:
    seen = Recorder(httpx.Response(500))
    result = count(mode, "openai", seen, model="my-local-model", messages=FOX, exact=True)
    assert result.method == "estimate:characters/4"
    assert seen.requests == []


def test_a_provider_error_is_the_providers_error(mode: str) -> None:
    answer = httpx.Response(
        400,
        json={
            "type": "error",
            "error": {"type": "invalid_request_error", "message": "model does not support counting"},
        },
    )
    with pytest.raises(BadRequestError, match="does not support counting") as info:
        count(mode, "anthropic", Recorder(answer), model="claude-2", messages=FOX, exact=True)
    assert "sk-test-count-secret" not in str(info.value)


@pytest.mark.parametrize(
    ("hint", "payload"),
    [
        ("anthropic", {"tokens": 3}),
        ("anthropic", {"input_tokens": "3"}),
        ("gemini", {"totalTokens": -1}),
        ("gemini", [1]),
    ],
)
def test_a_malformed_count_is_a_serialization_error(mode: str, hint: str, payload: Any) -> None:
    model = "claude-sonnet-4-5" if hint == "anthropic" else "gemini-2.0-flash"
    with pytest.raises(SerializationError):
        count(mode, hint, Recorder(httpx.Response(200, json=payload)), model=model, messages=FOX, exact=True)


def test_counting_reserves_nothing_of_a_budget(mode: str) -> None:
    set_model_price("anthropic/claude-count-model", input_cost_per_token=1.0, output_cost_per_token=1.0)
    seen = Recorder(httpx.Response(200, json={"input_tokens": 14}))
    result = count(
        mode,
        "anthropic",
        seen,
        model="claude-count-model",
        messages=SCIENTIST,
        exact=True,
        client={"budget": {"global_limit": 0.5}},  # a chat of this model would be refused
    )
    assert result.tokens == 14
