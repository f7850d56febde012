"""``client.parse`` per provider, through both clients: each provider's request form and its documented answer shape.

OpenAI-format providers (OpenAI, Mistral) get ``response_format`` json_schema
with ``strict: true``; Anthropic a forced tool whose input is the answer;
Gemini ``responseSchema``; Cohere its JSON mode with the schema; Bedrock
(no JSON mode on Converse) a forced tool read back from the tool call.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import attrs
import httpx
import pytest

import liter_llm
from liter_llm.errors import StructuredOutputError

USER = [{"role": "user", "content": "Describe Oslo"}]
OSLO = {"name": "Oslo", "population": 709000, "kind": "capital"}
BASE_URL = "http://127.0.0.1:9"


@attrs.define
class City:
    """A city."""

    name: str
    population: int
    kind: Literal["capital", "town"]


Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK", "BEDROCK_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return str(request.param)


def parse(mode: str, provider: str, answers: list[httpx.Response], model: str, **kwargs: Any) -> tuple[Any, list[Any]]:
    """``client.parse`` against ``provider`` (its plugin), the answers given in order; returns (result, bodies)."""
    sent: list[Any] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.read()))
        return queue.pop(0)

    options: dict[str, Any] = {
        "model_hint": provider,
        "base_url": BASE_URL,
        "max_retries": 0,
        "transport": httpx.MockTransport(handler),
    }
    if provider != "bedrock":
        options["api_key"] = "test-key-0123456789"
    args = {"model": model, "messages": USER, "output_type": City, **kwargs}
    if mode == "sync":
        with liter_llm.create_client(**options) as client:
            return client.parse(**args), sent

    async def main() -> Any:
        async with liter_llm.create_async_client(**options) as client:
            return await client.parse(**args)

    return asyncio.run(main()), sent


def openai_answer(text: str) -> httpx.Response:
    message = {"role": "assistant", "content": text}
    return httpx.Response(
        200,
        json={
            "id": "x",
            "object": "chat.completion",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        },
    )


def anthropic_answer(data: Any) -> httpx.Response:
    """The Messages API answer to a forced tool: one ``tool_use`` block named after the schema."""
    return httpx.Response(
        200,
        json={
            "id": "msg_01",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [{"type": "tool_use", "id": "toolu_01", "name": "City", "input": data}],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 10, "output_tokens": 20},
        },
    )


def gemini_answer(text: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 12, "totalTokenCount": 20},
            "modelVersion": "gemini-2.0-flash",
        },
    )


def cohere_answer(text: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "c1",
            "finish_reason": "COMPLETE",
            "message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
            "usage": {"tokens": {"input_tokens": 5, "output_tokens": 7}},
        },
    )


def bedrock_answer(data: Any) -> httpx.Response:
    """The Converse answer to a forced tool: a ``toolUse`` content block."""
    return httpx.Response(
        200,
        json={
            "output": {
                "message": {
                    "role": "assistant",
                    "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": "City", "input": data}}],
                }
            },
            "stopReason": "tool_use",
            "usage": {"inputTokens": 10, "outputTokens": 20, "totalTokens": 30},
        },
    )


def test_openai_strict_json_schema(mode: str) -> None:
    result, sent = parse(mode, "openai", [openai_answer(json.dumps(OSLO))], "gpt-4o-mini")
    assert result.parsed == City("Oslo", 709000, "capital")
    fmt = sent[0]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["additionalProperties"] is False


def test_mistral_json_schema(mode: str) -> None:
    result, sent = parse(mode, "mistral", [openai_answer(json.dumps(OSLO))], "mistral-small-latest")
    assert result.parsed.name == "Oslo"
    fmt = sent[0]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "City"
    assert fmt["json_schema"]["schema"]["required"] == ["name", "population", "kind"]


def test_anthropic_forced_tool_and_a_repair(mode: str) -> None:
    bad = {**OSLO, "population": "709k"}
    result, sent = parse(mode, "anthropic", [anthropic_answer(bad), anthropic_answer(OSLO)], "claude-sonnet-4-5")
    assert result.parsed == City("Oslo", 709000, "capital")
    first = sent[0]
    assert first["tool_choice"] == {"type": "tool", "name": "City"}
    assert first["tools"][0]["name"] == "City"
    assert first["tools"][0]["input_schema"]["properties"]["kind"]["enum"] == ["capital", "town"]
    assert len(result.attempts) == 2
    assert result.attempts[0].errors == ("$.population: expected an integer, got a string",)
    repair = sent[1]["messages"]
    assert repair[1]["role"] == "assistant"
    assert "$.population" in json.dumps(repair[2])


def test_gemini_response_schema(mode: str) -> None:
    result, sent = parse(mode, "gemini", [gemini_answer(json.dumps(OSLO))], "gemini-2.0-flash")
    assert result.parsed.population == 709000
    config = sent[0]["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    schema = config["responseSchema"]
    assert schema["properties"]["kind"]["enum"] == ["capital", "town"]
    assert "additionalProperties" not in schema  # Gemini's subset


def test_cohere_json_mode_with_schema(mode: str) -> None:
    result, sent = parse(mode, "cohere", [cohere_answer(json.dumps(OSLO))], "command-r-plus")
    assert result.parsed.kind == "capital"
    fmt = sent[0]["response_format"]
    assert fmt["type"] == "json_object"
    assert fmt["json_schema"]["required"] == ["name", "population", "kind"]


def test_bedrock_forced_tool(mode: str) -> None:
    result, sent = parse(
        mode, "bedrock", [bedrock_answer(OSLO)], "anthropic.claude-3-5-sonnet-20241022-v2:0", max_tokens=100
    )
    assert result.parsed == City("Oslo", 709000, "capital")
    body = sent[0]
    assert "responseFormat" not in body
    assert "response_format" not in body
    tool = body["toolConfig"]["tools"][0]["toolSpec"]
    assert tool["name"] == "City"
    assert tool["inputSchema"]["json"]["properties"]["population"] == {"type": "integer"}
    assert body["toolConfig"]["toolChoice"] == {"any": {}}  # the one tool, so that one


def test_bedrock_repair_past_the_bound_is_a_structured_output_error(mode: str) -> None:
    bad = {"name": "Oslo"}
    with pytest.raises(StructuredOutputError) as info:
        parse(mode, "bedrock", [bedrock_answer(bad), bedrock_answer(bad)], "amazon.nova-pro-v1:0", max_repairs=1)
    assert len(info.value.attempts) == 2
    assert all(json.loads(a.raw) == bad for a in info.value.attempts)


def parse_stream(mode: str, provider: str, answer: httpx.Response, model: str) -> list[Any]:
    """``client.parse_stream`` against ``provider``: every item, read to the end."""
    options: dict[str, Any] = {
        "model_hint": provider,
        "base_url": BASE_URL,
        "max_retries": 0,
        "transport": httpx.MockTransport(lambda request: answer),
    }
    if provider != "bedrock":
        options["api_key"] = "test-key-0123456789"
    args = {"model": model, "messages": USER, "output_type": City, "max_tokens": 100}
    if mode == "sync":
        with liter_llm.create_client(**options) as client:
            return list(client.parse_stream(**args))

    async def main() -> Any:
        async with liter_llm.create_async_client(**options) as client:
            return [item async for item in await client.parse_stream(**args)]

    return list(asyncio.run(main()))


def pieces(text: str, size: int = 9) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def test_anthropic_parse_stream_reads_the_forced_tools_input_deltas(mode: str) -> None:
    def event(name: str, data: dict[str, Any]) -> str:
        return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"

    start = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": []}
    start["usage"] = {"input_tokens": 10, "output_tokens": 1}
    body = event("message_start", {"message": start})
    block = {"type": "tool_use", "id": "toolu_1", "name": "City", "input": {}}
    body += event("content_block_start", {"index": 0, "content_block": block})
    for piece in pieces(json.dumps(OSLO)):
        body += event("content_block_delta", {"index": 0, "delta": {"type": "input_json_delta", "partial_json": piece}})
    body += event("content_block_stop", {"index": 0})
    body += event("message_delta", {"delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 20}})
    body += event("message_stop", {})
    answer = httpx.Response(200, content=body.encode(), headers={"content-type": "text/event-stream"})
    items = parse_stream(mode, "anthropic", answer, "claude-sonnet-4-5")
    partials = [item.partial for item in items if not item.done]
    assert len(partials) >= 3
    assert partials[-1] == OSLO
    assert {"name": "Oslo"} in partials or any(p.get("name", "").startswith("Os") for p in partials)
    assert items[-1].done
    assert items[-1].parsed == City("Oslo", 709000, "capital")


def test_bedrock_parse_stream_reads_the_tool_use_deltas(mode: str) -> None:
    from liter_llm_bedrock import encode_message

    def frame(kind: str, payload: dict[str, Any]) -> bytes:
        headers = {":event-type": kind, ":content-type": "application/json", ":message-type": "event"}
        return encode_message(headers, json.dumps(payload).encode())

    frames = [frame("messageStart", {"role": "assistant"})]
    start = {"toolUse": {"toolUseId": "tooluse_1", "name": "City"}}
    frames.append(frame("contentBlockStart", {"contentBlockIndex": 0, "start": start}))
    for piece in pieces(json.dumps(OSLO)):
        frames.append(frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": piece}}}))
    frames.append(frame("contentBlockStop", {"contentBlockIndex": 0}))
    frames.append(frame("messageStop", {"stopReason": "tool_use"}))
    frames.append(frame("metadata", {"usage": {"inputTokens": 5, "outputTokens": 9, "totalTokens": 14}}))
    answer = httpx.Response(
        200, content=b"".join(frames), headers={"content-type": "application/vnd.amazon.eventstream"}
    )
    items = parse_stream(mode, "bedrock", answer, "amazon.nova-pro-v1:0")
    partials = [item.partial for item in items if not item.done]
    assert len(partials) >= 3
    assert partials[-1] == OSLO
    assert items[-1].done
    assert items[-1].parsed == City("Oslo", 709000, "capital")


# ---------------------------------------------------------------------------
# Declared mechanisms: OpenAI-compatible providers without their own plugin code
# ---------------------------------------------------------------------------


def test_deepseek_json_mode_with_the_schema_in_the_system_prompt(mode: str) -> None:
    # DeepSeek's JSON Output takes only {"type": "json_object"} and wants the word "json" and the
    # format in the prompt (https://api-docs.deepseek.com/guides/json_mode)
    result, sent = parse(mode, "deepseek", [openai_answer(json.dumps(OSLO))], "deepseek-chat")
    assert result.parsed == City("Oslo", 709000, "capital")
    body = sent[0]
    assert body["response_format"] == {"type": "json_object"}
    system = body["messages"][0]
    assert system["role"] == "system"
    assert "JSON" in system["content"]
    assert '"required":["name","population","kind"]' in system["content"]
    assert body["messages"][1:] == USER


def test_deepseek_json_mode_keeps_the_callers_system_prompt_first(mode: str) -> None:
    messages = [{"role": "system", "content": "You are terse."}, *USER]
    result, sent = parse(mode, "deepseek", [openai_answer(json.dumps(OSLO))], "deepseek-chat", messages=messages)
    assert result.parsed.name == "Oslo"
    system = sent[0]["messages"][0]
    assert system["content"].startswith("You are terse.\n\n")
    assert "JSON Schema" in system["content"]
    assert [m["role"] for m in sent[0]["messages"]] == ["system", "user"]


def test_a_plain_chat_with_a_json_schema_response_format_is_mapped_too(mode: str) -> None:
    sent: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.read()))
        return openai_answer(json.dumps(OSLO))

    fmt = {"type": "json_schema", "json_schema": {"name": "City", "schema": {"type": "object"}}}
    options: dict[str, Any] = {"api_key": "test-key-0123456789", "base_url": BASE_URL, "model_hint": "deepseek"}
    options["transport"] = httpx.MockTransport(handler)
    args: dict[str, Any] = {"model": "deepseek-chat", "messages": USER, "response_format": fmt}
    if mode == "sync":
        with liter_llm.create_client(**options) as client:
            client.chat(**args)
    else:

        async def main() -> None:
            async with liter_llm.create_async_client(**options) as client:
                await client.chat(**args)

        asyncio.run(main())
    assert sent[0]["response_format"] == {"type": "json_object"}
    assert sent[0]["messages"][0]["role"] == "system"


def test_extra_body_response_format_is_sent_as_given(mode: str) -> None:
    own = {"type": "json_object"}
    result, sent = parse(
        mode, "deepseek", [openai_answer(json.dumps(OSLO))], "deepseek-chat", extra_body={"response_format": own}
    )
    assert result.parsed.name == "Oslo"
    assert sent[0]["response_format"] == own
    assert sent[0]["messages"] == USER  # the caller chose the format: no schema added


@pytest.fixture
def custom_provider() -> Any:
    names: list[str] = []

    def register(mechanism: str | None) -> str:
        name = f"acme-{mechanism or 'default'}"
        config: dict[str, Any] = {"name": name, "base_url": BASE_URL, "model_prefixes": [f"{name}-"]}
        if mechanism is not None:
            config["structured_output"] = mechanism
        liter_llm.register_custom_provider(config)
        names.append(name)
        return name

    yield register
    for name in names:
        liter_llm.unregister_custom_provider(name)


def custom_parse(mode: str, model: str) -> tuple[Any, list[Any]]:
    sent: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.read()))
        return openai_answer(json.dumps(OSLO))

    options: dict[str, Any] = {"max_retries": 0, "transport": httpx.MockTransport(handler)}
    args: dict[str, Any] = {"model": model, "messages": USER, "output_type": City}
    if mode == "sync":
        with liter_llm.create_client(**options) as client:
            return client.parse(**args), sent

    async def main() -> Any:
        async with liter_llm.create_async_client(**options) as client:
            return await client.parse(**args)

    return asyncio.run(main()), sent


def test_custom_provider_declared_prompt_only(mode: str, custom_provider: Any) -> None:
    name = custom_provider("prompt")
    result, sent = custom_parse(mode, f"{name}-small")
    assert result.parsed == City("Oslo", 709000, "capital")
    assert "response_format" not in sent[0]
    assert sent[0]["messages"][0]["role"] == "system"
    assert '"kind":{"enum":["capital","town"]' in sent[0]["messages"][0]["content"]


def test_custom_provider_declared_json_object(mode: str, custom_provider: Any) -> None:
    name = custom_provider("json_object")
    _, sent = custom_parse(mode, f"{name}-small")
    assert sent[0]["response_format"] == {"type": "json_object"}
    assert "JSON Schema" in sent[0]["messages"][0]["content"]


def test_custom_provider_default_is_json_schema(mode: str, custom_provider: Any) -> None:
    name = custom_provider(None)
    _, sent = custom_parse(mode, f"{name}-small")
    assert sent[0]["response_format"]["type"] == "json_schema"
    assert sent[0]["messages"] == USER


def test_custom_provider_with_an_unknown_mechanism_is_refused() -> None:
    with pytest.raises(liter_llm.BadRequestError, match="structured_output"):
        liter_llm.register_custom_provider(
            {"name": "acme-bad", "base_url": BASE_URL, "model_prefixes": ["acme-bad-"], "structured_output": "xml"}
        )


# ---------------------------------------------------------------------------
# parse_stream for Gemini, Cohere and Mistral, from their documented stream shapes
# ---------------------------------------------------------------------------


def sse(events: list[str]) -> httpx.Response:
    return httpx.Response(200, content="".join(events).encode(), headers={"content-type": "text/event-stream"})


def check_stream(items: list[Any]) -> None:
    partials = [item.partial for item in items if not item.done]
    assert len(partials) >= 3
    assert partials[-1] == OSLO
    assert any(isinstance(p, dict) and p.get("name", "").startswith("Os") and "kind" not in p for p in partials)
    assert items[-1].done
    assert items[-1].parsed == City("Oslo", 709000, "capital")


def test_gemini_parse_stream(mode: str) -> None:
    # streamGenerateContent?alt=sse: each event a GenerateContentResponse, the last with finishReason
    # (https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent)
    chunks = pieces(json.dumps(OSLO))
    events = []
    for index, piece in enumerate(chunks):
        candidate: dict[str, Any] = {"content": {"parts": [{"text": piece}], "role": "model"}, "index": 0}
        if index == len(chunks) - 1:
            candidate["finishReason"] = "STOP"
        payload = {
            "candidates": [candidate],
            "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": index + 1, "totalTokenCount": 10 + index},
            "modelVersion": "gemini-2.0-flash",
        }
        events.append(f"data: {json.dumps(payload)}\n\n")
    check_stream(parse_stream(mode, "gemini", sse(events), "gemini-2.0-flash"))


def test_cohere_parse_stream(mode: str) -> None:
    # Chat v2 streaming: message-start, content-start, content-delta..., content-end, message-end
    # (https://docs.cohere.com/v2/docs/streaming)
    def event(data: dict[str, Any]) -> str:
        return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n"

    events = [event({"id": "c1", "type": "message-start", "delta": {"message": {"role": "assistant"}}})]
    events.append(event({"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text"}}}}))
    for piece in pieces(json.dumps(OSLO)):
        events.append(event({"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": piece}}}}))
    events.append(event({"type": "content-end", "index": 0}))
    usage = {
        "billed_units": {"input_tokens": 5, "output_tokens": 9},
        "tokens": {"input_tokens": 50, "output_tokens": 9},
    }
    events.append(event({"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": usage}}))
    check_stream(parse_stream(mode, "cohere", sse(events), "command-r-plus"))


def test_mistral_parse_stream(mode: str) -> None:
    # CompletionChunk events (https://docs.mistral.ai/api/#tag/chat), content as a string or as chunks
    def chunk(delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> str:
        payload: dict[str, Any] = {"id": "cmpl-1", "object": "chat.completion.chunk", "created": 1702256327}
        payload["model"] = "mistral-small-latest"
        payload["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
        if usage:
            payload["usage"] = usage
        return f"data: {json.dumps(payload)}\n\n"

    parts = pieces(json.dumps(OSLO))
    events = [chunk({"role": "assistant", "content": ""})]
    for index, piece in enumerate(parts):
        content: Any = piece if index % 2 else [{"type": "text", "text": piece}]
        events.append(chunk({"content": content}))
    events.append(chunk({"content": ""}, "stop", {"prompt_tokens": 9, "completion_tokens": 20, "total_tokens": 29}))
    events.append("data: [DONE]\n\n")
    check_stream(parse_stream(mode, "mistral", sse(events), "mistral-small-latest"))


# ---------------------------------------------------------------------------
# Fallbacks across mechanisms: each target gets its own provider's request shape
# ---------------------------------------------------------------------------

FALLBACK_TARGETS = {
    # provider: (model, its documented answer)
    "openai": ("gpt-4o-mini", lambda: openai_answer(json.dumps(OSLO))),
    "deepseek": ("deepseek-chat", lambda: openai_answer(json.dumps(OSLO))),
    "anthropic": ("claude-sonnet-4-5", lambda: anthropic_answer(OSLO)),
    "gemini": ("gemini-2.0-flash", lambda: gemini_answer(json.dumps(OSLO))),
    "cohere": ("command-r-plus", lambda: cohere_answer(json.dumps(OSLO))),
    "bedrock": ("amazon.nova-pro-v1:0", lambda: bedrock_answer(OSLO)),
}


def check_shape(provider: str, body: dict[str, Any]) -> None:
    """The request form of each mechanism, as the tests above show it one by one."""
    if provider == "openai":
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["strict"] is True
        assert "tools" not in body
    elif provider == "deepseek":
        assert body["response_format"] == {"type": "json_object"}
        assert "JSON Schema" in body["messages"][0]["content"]
    elif provider == "anthropic":
        assert body["tool_choice"] == {"type": "tool", "name": "City"}
        assert body["tools"][0]["input_schema"]["required"] == ["name", "population", "kind"]
    elif provider == "gemini":
        assert body["generationConfig"]["responseSchema"]["properties"]["kind"]["enum"] == ["capital", "town"]
    elif provider == "cohere":
        assert body["response_format"]["type"] == "json_object"
        assert body["response_format"]["json_schema"]["required"] == ["name", "population", "kind"]
    else:
        assert "response_format" not in body
        tool = body["toolConfig"]["tools"][0]["toolSpec"]
        assert tool["name"] == "City"
        assert tool["inputSchema"]["json"]["required"] == ["name", "population", "kind"]
        assert body["toolConfig"]["toolChoice"] == {"any": {}}


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("openai", "anthropic"),
        ("anthropic", "bedrock"),
        ("bedrock", "openai"),
        ("gemini", "deepseek"),
        ("deepseek", "cohere"),
        ("cohere", "gemini"),
    ],
)
def test_a_fallback_gets_its_own_providers_mechanism(mode: str, first: str, then: str) -> None:
    sent: list[tuple[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        provider = request.url.path.split("/")[1]
        sent.append((provider, json.loads(request.read())))
        if provider == first:
            return httpx.Response(503, json={"error": {"message": "overloaded", "type": "server_error"}})
        return FALLBACK_TARGETS[provider][1]()

    # one base URL per provider (its name as the first path segment), so the handler knows who is asked
    options: dict[str, Any] = {
        "max_retries": 0,
        "transport": httpx.MockTransport(handler),
        "fallbacks": [f"{then}/{FALLBACK_TARGETS[then][0]}"],
    }
    env = {name: f"http://127.0.0.1:9/{name}" for name in FALLBACK_TARGETS}
    args = {"model": f"{first}/{FALLBACK_TARGETS[first][0]}", "messages": USER, "output_type": City}
    args["max_tokens"] = 100
    with pytest.MonkeyPatch.context() as patch:
        for name, url in env.items():
            patch.setenv(f"{name.upper()}_BASE_URL", url)
            if name != "bedrock":
                patch.setenv(f"{name.upper()}_API_KEY", "test-key-0123456789")
        patch.setenv("GEMINI_API_KEY", "test-key-0123456789")
        if mode == "sync":
            with liter_llm.create_client(**options) as client:
                result = client.parse(**args)
        else:

            async def main() -> Any:
                async with liter_llm.create_async_client(**options) as client:
                    return await client.parse(**args)

            result = asyncio.run(main())
    assert result.parsed == City("Oslo", 709000, "capital")
    assert [provider for provider, _ in sent] == [first, then]
    for provider, body in sent:
        check_shape(provider, body)
