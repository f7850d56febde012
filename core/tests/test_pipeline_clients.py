"""The two clients: the same methods with the same parameters, three ways to pass a request, lifecycle."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

import liter_llm
from liter_llm import types as t
from liter_llm.client import AsyncDefaultClient, DefaultClient
from liter_llm.errors import BadRequestError, LiterLlmError
from liter_llm.testing import RecordingTransport, openai_chat_body

USER = S.USER

#: every method of the API reference's DefaultClient
REFERENCE_METHODS = {
    "chat", "chat_stream", "embed", "list_models", "image_generate", "speech", "transcribe", "moderate", "rerank",
    "search", "ocr", "create_file", "retrieve_file", "delete_file", "list_files", "file_content", "create_batch",
    "retrieve_batch", "list_batches", "cancel_batch", "create_response", "retrieve_response", "cancel_response",
}  # fmt: skip


def public_methods(cls: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and inspect.isfunction(member)
    }


def test_both_clients_have_the_same_methods_with_the_same_parameters() -> None:
    sync = public_methods(DefaultClient)
    async_ = public_methods(AsyncDefaultClient)
    assert set(sync) >= REFERENCE_METHODS
    assert set(async_) == set(sync) | {"aclose"}
    for name, method in sync.items():
        twin = async_[name]
        assert not inspect.iscoroutinefunction(method), name
        assert inspect.iscoroutinefunction(twin), name
        params = list(inspect.signature(method).parameters.values())
        twin_params = list(inspect.signature(twin).parameters.values())
        assert [(p.name, p.kind, p.default) for p in params] == [(p.name, p.kind, p.default) for p in twin_params], name
        assert method.__doc__, f"{name} has no docstring"
    assert async_["close"] is async_["aclose"]


def test_create_functions_take_the_same_arguments() -> None:
    pairs = [
        (liter_llm.create_client, liter_llm.create_async_client),
        (liter_llm.create_client_from_json, liter_llm.create_async_client_from_json),
    ]
    for sync, async_ in pairs:
        assert inspect.signature(sync).parameters.keys() == inspect.signature(async_).parameters.keys()


def test_chat_takes_a_typed_request_a_dict_or_keyword_arguments(make: Any) -> None:
    transport = RecordingTransport(lambda r: httpx.Response(200, json=openai_chat_body("ok")))
    api = make(api_key="k", transport=transport)
    typed = t.ChatCompletionRequest.from_dict({"model": "fake/m", "messages": USER, "temperature": 0.5})
    answers = [
        api.chat(typed),
        api.chat({"model": "fake/m", "messages": USER, "temperature": 0.5}),
        api.chat(model="fake/m", messages=USER, temperature=0.5),
        api.chat({"model": "fake/m", "messages": USER}, temperature=0.5),  # keyword arguments add to a dict
        api.chat(t.ChatCompletionRequest.from_dict({"model": "fake/m", "messages": USER}), temperature=0.5),
    ]
    bodies = [json.loads(r.content) for r in transport.requests]
    assert bodies == [{"model": "m", "messages": USER, "temperature": 0.5}] * 5
    assert all(isinstance(a, t.ChatCompletionResponse) for a in answers)
    assert len({a.to_json() for a in answers}) == 1


def test_other_methods_take_the_three_forms_too(make: Any) -> None:
    body = {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [1.0]}], "model": "m"}
    transport = RecordingTransport(lambda r: httpx.Response(200, json=body))
    api = make(api_key="k", transport=transport)
    api.embed(t.EmbeddingRequest.from_dict({"model": "fake/e", "input": "x"}))
    api.embed({"model": "fake/e", "input": "x"})
    api.embed(model="fake/e", input="x")
    assert [json.loads(r.content) for r in transport.requests] == [{"model": "e", "input": "x"}] * 3


def test_bad_requests_are_refused_before_any_io(make: Any) -> None:
    transport = RecordingTransport(lambda r: httpx.Response(200, json=openai_chat_body()))
    api = make(api_key="k", transport=transport)
    with pytest.raises(BadRequestError, match="temprature"):
        api.chat(model="fake/m", messages=USER, temprature=1)
    with pytest.raises(BadRequestError, match="model"):
        api.chat(messages=USER)
    with pytest.raises(BadRequestError):
        api.chat(["not", "a", "request"])
    with pytest.raises(BadRequestError):
        api.stream(model="fake/m", messages="hi")
    assert transport.requests == []


def test_sync_client_context_manager_and_close() -> None:
    transport = RecordingTransport(lambda r: httpx.Response(200, json=openai_chat_body()))
    with liter_llm.create_client(api_key="k", model_hint="fake", transport=transport) as client:
        assert isinstance(client, DefaultClient)
        client.chat(model="fake/m", messages=USER)
    client.close()  # closing twice is harmless
    with pytest.raises(LiterLlmError):
        client.chat(model="fake/m", messages=USER)
    assert len(transport.requests) == 1


def test_async_client_context_manager_and_close() -> None:
    transport = RecordingTransport(lambda r: httpx.Response(200, json=openai_chat_body()))

    async def main() -> AsyncDefaultClient:
        async with liter_llm.create_async_client(api_key="k", model_hint="fake", transport=transport) as client:
            assert isinstance(client, AsyncDefaultClient)
            await client.chat(model="fake/m", messages=USER)
        await client.close()  # closing twice is harmless
        with pytest.raises(LiterLlmError):
            await client.chat(model="fake/m", messages=USER)
        other = liter_llm.create_async_client(api_key="k", transport=transport)
        await other.aclose()
        return client

    asyncio.run(main())
    assert len(transport.requests) == 1


def test_client_repr_names_the_class_and_hides_the_key(make: Any) -> None:
    api = make(api_key="sk-visible-nowhere", base_url="http://127.0.0.1:9/v1")
    text = repr(api.client)
    assert type(api.client).__name__ in text
    assert "sk-visible-nowhere" not in text
    assert "http://127.0.0.1:9/v1" in text
