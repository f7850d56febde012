"""The Responses API: the classic style needs a preview api-version (2025-03-01-preview or later); v1 needs none."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from liter_llm.errors import BadRequestError


def _answer(az: Any) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=az.load("response.json"))

    return handler


def _client(az: Any, **settings: Any) -> dict[str, Any]:
    return {"api_key": az.KEY, "model_hint": "azure", "base_url": az.ENDPOINT, "plugins": {"azure": settings}}


@pytest.mark.parametrize("version", ["2025-03-01-preview", "2025-04-01-preview", "preview"])
def test_classic_responses_with_a_version_that_serves_them(run: Any, az: Any, version: str) -> None:
    response = run(
        _answer(az),
        "create_response",
        model="azure/gpt-4o",
        input="This is a test.",
        client=_client(az, api_version=version),
    )
    request = run.request
    assert request.url.path == "/res/openai/responses"
    assert request.url.params["api-version"] == version
    assert run.body["model"] == "gpt-4o"
    assert response.id == "resp_67cb32528d6881909eb2859a55e18a85"
    assert response.output[0]["content"][0]["text"] == "Great! How can I help you today?"


def test_retrieve_and_cancel_on_the_classic_style(run: Any, az: Any) -> None:
    client = _client(az, api_version="2025-04-01-preview")
    run(_answer(az), "retrieve_response", "resp_67cb32528d6881909eb2859a55e18a85", provider="azure", client=client)
    assert str(run.request.url) == (
        f"{az.ENDPOINT}/openai/responses/resp_67cb32528d6881909eb2859a55e18a85?api-version=2025-04-01-preview"
    )
    run(_answer(az), "cancel_response", "resp_67cb32528d6881909eb2859a55e18a85", provider="azure", client=client)
    assert run.request.url.path == "/res/openai/responses/resp_67cb32528d6881909eb2859a55e18a85/cancel"


def test_the_body_names_the_deployment_of_its_table(run: Any, az: Any) -> None:
    client = _client(az, api_version="2025-04-01-preview", deployments={"resp": {"name": "gpt-4o-prod"}})
    run(_answer(az), "create_response", model="azure/resp", input="This is a test.", client=client)
    assert run.request.url.path == "/res/openai/responses"
    assert run.body["model"] == "gpt-4o-prod"


@pytest.mark.parametrize(
    ("settings", "env", "where"),
    [
        ({}, {}, "plugins.azure.api_version"),  # the GA default, 2024-10-21
        ({"api_version": "2024-10-21"}, {}, "plugins.azure.api_version"),
        ({"api_version": "2025-01-01-preview"}, {}, "plugins.azure.api_version"),
        ({}, {"AZURE_OPENAI_API_VERSION": "2024-06-01"}, "AZURE_OPENAI_API_VERSION"),
        (
            {"deployments": {"gpt-4o": {"api_version": "2024-10-21"}}},
            {},
            "plugins.azure.deployments.gpt-4o.api_version",
        ),
    ],
)
def test_a_version_without_the_responses_api_is_a_clear_error_before_any_io(
    run: Any, az: Any, monkeypatch: pytest.MonkeyPatch, settings: dict[str, Any], env: dict[str, str], where: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(BadRequestError) as info:
        run(_answer(az), "create_response", model="azure/gpt-4o", input="hi", client=_client(az, **settings))
    message = info.value.message
    assert "2025-03-01-preview or later" in message
    assert where in message
    assert 'api_style = "v1"' in message
    assert run.requests == []


def test_retrieving_with_an_old_version_is_refused_too(run: Any, az: Any) -> None:
    with pytest.raises(BadRequestError, match="Responses API"):
        run(_answer(az), "retrieve_response", "resp_1", provider="azure", client=_client(az))
    assert run.requests == []


def test_the_v1_style_needs_no_version(run: Any, az: Any) -> None:
    client = _client(az, api_style="v1", api_version="2024-10-21")
    run(_answer(az), "create_response", model="azure/gpt-4o", input="hi", client=client)
    assert str(run.request.url) == f"{az.ENDPOINT}/openai/v1/responses"
    assert json.loads(run.request.content)["model"] == "gpt-4o"


def test_chat_keeps_working_with_the_ga_default(run: Any, az: Any) -> None:
    def chat(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=az.load("chat_completion.json"))

    run(chat, "chat", model="azure/gpt-4o", messages=[{"role": "user", "content": "hi"}], client=_client(az))
    assert run.request.url.params["api-version"] == "2024-10-21"


def _stream_events() -> bytes:
    """Response stream events as OpenAI's Responses streaming reference shows them (Azure serves the same)."""
    done = {
        "id": "resp_1",
        "object": "response",
        "created_at": 1700000000,
        "model": "gpt-4o",
        "status": "completed",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "Hi there", "annotations": []}],
            }
        ],
        "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5},
    }
    where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    items: list[dict[str, Any]] = [
        {"type": "response.created", "response": {**done, "status": "in_progress", "output": []}},
        {"type": "response.output_text.delta", **where, "delta": "Hi"},
        {"type": "response.output_text.delta", **where, "delta": " there"},
        {"type": "response.completed", "response": done},
    ]
    return b"".join(f"event: {i['type']}\ndata: {json.dumps(i)}\n\n".encode() for i in items)


@pytest.mark.parametrize("style", ["classic", "v1"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_create_response_stream_in_both_styles(az: Any, mode: str, style: str) -> None:
    import asyncio

    import liter_llm

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return httpx.Response(200, content=_stream_events(), headers={"content-type": "text/event-stream"})

    settings: dict[str, Any] = {"api_style": style}
    if style == "classic":
        settings["api_version"] = "2025-04-01-preview"
    options = {**_client(az, **settings), "transport": httpx.MockTransport(handler)}
    if mode == "sync":
        with liter_llm.create_client(**options) as client:
            with client.create_response_stream(model="azure/resp", input="hi") as stream:
                kinds = [event.type for event in stream]
                final = stream.response()
    else:

        async def main() -> tuple[list[str], Any]:
            async with liter_llm.create_async_client(**options) as client:
                stream = await client.create_response_stream(model="azure/resp", input="hi")
                async with stream:
                    kinds = [event.type async for event in stream]
                    return kinds, await stream.response()

        kinds, final = asyncio.run(main())
    assert kinds == [
        "response.created",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.completed",
    ]
    assert final.id == "resp_1"
    (request,) = seen
    assert request.url.path == ("/res/openai/responses" if style == "classic" else "/res/openai/v1/responses")
    assert ("api-version" in request.url.params) == (style == "classic")
    assert request.headers["api-key"] == az.KEY
    assert json.loads(request.content) == {"model": "resp", "input": "hi", "stream": True}
