"""Routing, addresses and keys; and the public translation functions other plugins reuse."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import liter_llm_anthropic
from liter_llm.errors import ServiceUnavailableError
from liter_llm.types import ChatCompletionRequest, FinishReason

from .conftest import API_KEY, Runner, fixture_json, fixture_text, sse_response

ENV_URL = "http://127.0.0.1:9/from-env/v1"


def _answer(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/chat/completions"):
        from liter_llm.testing import openai_chat_body

        return httpx.Response(200, json=openai_chat_body("gateway"))
    if b'"stream":true' in request.content:
        return sse_response(fixture_text("stream_text.sse"))
    return httpx.Response(200, json=fixture_json("message_text.json"))


@pytest.fixture(params=["chat", "chat_stream"])
def op(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", ENV_URL)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    return monkeypatch


NO_HINT = {"model_hint": None, "base_url": None}


@pytest.mark.parametrize(
    ("model", "wire"),
    [
        ("anthropic/claude-sonnet-4-20250514", "claude-sonnet-4-20250514"),
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku-20241022"),
    ],
)
def test_prefix_and_bare_claude_route_to_anthropic(run: Runner, op: str, env: Any, model: str, wire: str) -> None:
    # without a hint the client's key is OpenAI's: Anthropic gets ANTHROPIC_API_KEY, never the client's key
    env.setenv("ANTHROPIC_API_KEY", API_KEY)
    options = {**NO_HINT, "api_key": "sk-openai-not-for-anthropic"}
    run(op, _answer, {"model": model, "messages": [{"role": "user", "content": "Hi"}]}, client_options=options)
    request = run.requests[0]
    assert str(request.url) == ENV_URL + "/messages"
    assert run.body["model"] == wire
    assert request.headers["x-api-key"] == API_KEY
    assert "sk-openai-not-for-anthropic" not in str(request.headers)
    assert "authorization" not in request.headers
    assert API_KEY not in str(request.url)


def test_key_from_the_environment_travels_in_x_api_key(run: Runner, op: str, env: pytest.MonkeyPatch) -> None:
    env.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
    options = {**NO_HINT, "api_key": None}
    run(
        op,
        _answer,
        {"model": "claude-3-5-haiku-20241022", "messages": [{"role": "user", "content": "Hi"}]},
        client_options=options,
    )
    request = run.requests[0]
    assert request.headers["x-api-key"] == "sk-ant-from-env"
    assert "sk-ant-from-env" not in str(request.url)


def test_base_url_without_hint_is_the_openai_gateway(run: Runner, env: Any) -> None:
    result = run(
        "chat",
        _answer,
        {"model": "claude-3-5-haiku-20241022", "messages": [{"role": "user", "content": "Hi"}]},
        client_options={"model_hint": None, "base_url": "http://127.0.0.1:9/gateway"},
    )
    assert run.requests[0].url.path == "/gateway/chat/completions"
    assert result.choices[0].message.content == "gateway"


def test_client_extra_headers_reach_anthropic(run: Runner, op: str) -> None:
    run(
        op,
        _answer,
        {"model": "claude-3-5-haiku-20241022", "messages": [{"role": "user", "content": "Hi"}]},
        client_options={"extra_headers": {"anthropic-beta": "prompt-caching-2024-07-31"}},
    )
    assert run.requests[0].headers["anthropic-beta"] == "prompt-caching-2024-07-31"
    assert run.requests[0].headers["anthropic-version"] == "2023-06-01"


# ---------------------------------------------------------------------------
# The public translation functions (reused for Claude on Vertex AI)
# ---------------------------------------------------------------------------


def test_to_anthropic_body_without_a_model_for_vertex() -> None:
    request = ChatCompletionRequest.from_dict(
        {
            "model": "claude-3-5-haiku@20241022",
            "messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Hi"}],
        }
    )
    body = liter_llm_anthropic.to_anthropic_body(request)
    assert body == {"max_tokens": 4096, "messages": [{"role": "user", "content": "Hi"}], "system": "S"}
    assert liter_llm_anthropic.to_anthropic_body(request, model="m", stream=True)["stream"] is True


def test_from_anthropic_message_directly() -> None:
    response = liter_llm_anthropic.from_anthropic_message(fixture_json("message_tool_use.json"), created=123)
    assert response.created == 123
    assert response.choices[0].finish_reason is FinishReason.TOOL_CALLS
    as_json = liter_llm_anthropic.from_anthropic_message(fixture_json("message_tool_use.json"), json_tool="get_weather")
    assert json.loads(as_json.choices[0].message.content or "") == {"location": "San Francisco, CA", "unit": "celsius"}
    assert as_json.choices[0].finish_reason is FinishReason.STOP


def _events(text: str) -> list[tuple[str, str]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], lines["data"]))
    return out


def test_stream_translator_directly() -> None:
    translator = liter_llm_anthropic.AnthropicStreamTranslator(provider="vertex_ai")
    chunks = [
        c for name, data in _events(fixture_text("stream_tool_use.sse")) for c in translator.translate(name, data)
    ]
    assert translator.complete
    assert chunks[-1].choices[0].finish_reason is FinishReason.TOOL_CALLS
    translator = liter_llm_anthropic.AnthropicStreamTranslator(provider="vertex_ai")
    events = _events(fixture_text("stream_error.sse"))
    for name, data in events[:-1]:
        translator.translate(name, data)
    with pytest.raises(ServiceUnavailableError) as info:
        translator.translate(*events[-1])
    assert info.value.provider == "vertex_ai"
    assert not translator.complete


def test_provider_spec() -> None:
    spec = liter_llm_anthropic.SPEC
    assert spec.name == "anthropic"
    assert spec.base_url == "https://api.anthropic.com/v1"
    assert spec.api_key_env == "ANTHROPIC_API_KEY"
    assert spec.auth.kind == "api_key"
    assert spec.auth.header == "x-api-key"
    assert spec.endpoints == frozenset({"chat", "models", "batches", "count_tokens"})
    assert spec.model_prefixes == ("claude-",)
    assert spec.base_url_variable == "ANTHROPIC_BASE_URL"
