"""``extra_body`` on the requests other than chat: merged by the OpenAI wire default, and by plugins through
``liter_llm.wire.with_extra_body`` (sync and async clients, through a gateway and a real transport)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

import liter_llm
from liter_llm import hookimpl
from liter_llm import types as t
from liter_llm.errors import BadRequestError
from liter_llm.providers import ProviderSpec
from liter_llm.registry import get_registry
from liter_llm.wire import dump_json, extra_form_fields, url_for, with_extra_body

GATEWAY = "http://127.0.0.1:9/gw/v1"
MODES = ("sync", "async")


def run(mode: str, reply: Any, method: str, options: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return reply

    settings = {"base_url": GATEWAY, "max_retries": 0, **(options or {}), "transport": httpx.MockTransport(handler)}
    if mode == "sync":
        with liter_llm.create_client(**settings) as client:
            getattr(client, method)(**kwargs)
        return seen

    async def main() -> None:
        async with liter_llm.create_async_client(**settings) as client:
            await getattr(client, method)(**kwargs)

    asyncio.run(main())
    return seen


JSON_CASES = [
    ("embed", {"model": "m", "input": "hi"}, {"object": "list", "data": [], "model": "m"}, "/embeddings"),
    ("rerank", {"model": "m", "query": "q", "documents": ["a"]}, {"results": []}, "/rerank"),
    ("search", {"model": "m", "query": "q"}, {"results": []}, "/search"),
    ("moderate", {"model": "m", "input": "hi"}, {"id": "x", "model": "m", "results": []}, "/moderations"),
    ("image_generate", {"model": "m", "prompt": "a cat"}, {"created": 1, "data": []}, "/images/generations"),
    (
        "ocr",
        {"model": "m", "document": {"type": "document_url", "url": "https://example.com/a.pdf"}},
        {"pages": []},
        "/ocr",
    ),
    ("create_batch", {"input_file_id": "f", "endpoint": "/v1/chat/completions"}, {"id": "b"}, "/batches"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("method", "fields", "answer", "path"), JSON_CASES, ids=[c[0] for c in JSON_CASES])
def test_extra_body_is_merged_into_the_json_body(
    mode: str, method: str, fields: dict[str, Any], answer: dict[str, Any], path: str
) -> None:
    extra = {"truncate": "END", "nested": {"a": [1, 2]}}
    seen = run(mode, httpx.Response(200, json=answer), method, **fields, extra_body=extra)
    assert seen[0].url.path == "/gw/v1" + path
    body = json.loads(seen[0].content)
    assert body["truncate"] == "END"
    assert body["nested"] == {"a": [1, 2]}
    assert "extra_body" not in body


@pytest.mark.parametrize("mode", MODES)
def test_extra_body_wins_over_a_typed_field(mode: str) -> None:
    seen = run(
        mode,
        httpx.Response(200, json={"results": []}),
        "rerank",
        model="m",
        query="q",
        documents=["a"],
        top_n=3,
        extra_body={"top_n": 1},
    )
    assert json.loads(seen[0].content)["top_n"] == 1


@pytest.mark.parametrize("mode", MODES)
def test_extra_body_can_replace_the_ocr_document(mode: str) -> None:
    native = {"type": "file", "file_id": "file-123"}
    seen = run(
        mode,
        httpx.Response(200, json={"pages": []}),
        "ocr",
        model="m",
        document={"type": "document_url", "url": "https://example.com/a.pdf"},
        extra_body={"document": native},
    )
    assert json.loads(seen[0].content)["document"] == native


@pytest.mark.parametrize("mode", MODES)
def test_speech_extra_body(mode: str) -> None:
    seen = run(
        mode,
        httpx.Response(200, content=b"RIFF", headers={"content-type": "audio/wav"}),
        "speech",
        model="m",
        input="hello",
        voice="alloy",
        extra_body={"instructions": "whisper"},
    )
    assert json.loads(seen[0].content)["instructions"] == "whisper"


@pytest.mark.parametrize("mode", MODES)
def test_transcribe_extra_body_becomes_form_fields(mode: str) -> None:
    seen = run(
        mode,
        httpx.Response(200, json={"text": "hi"}),
        "transcribe",
        model="m",
        file=b"RIFF....",
        extra_body={"chunking_strategy": "auto", "include[]": ["logprobs"], "known_speakers": {"a": 1}, "x": None},
    )
    content = seen[0].content.decode("latin-1")
    assert 'name="chunking_strategy"\r\n\r\nauto\r\n' in content
    assert 'name="include[]"\r\n\r\nlogprobs\r\n' in content
    assert 'name="known_speakers"\r\n\r\n{"a": 1}\r\n' in content
    assert 'name="x"' not in content


@pytest.mark.parametrize("mode", MODES)
def test_extra_body_of_the_wrong_type_is_refused_before_io(mode: str) -> None:
    with pytest.raises(BadRequestError, match="extra_body"):
        run(mode, httpx.Response(200, json={"results": []}), "search", model="m", query="q", extra_body=["x"])


def test_extra_body_is_kept_in_to_dict_and_round_trips() -> None:
    req = t.EmbeddingRequest(model="m", input="hi", extra_body={"input_type": "query"})
    assert req.to_dict()["extra_body"] == {"input_type": "query"}
    assert t.EmbeddingRequest.from_dict(req.to_dict()) == req


class _OwnBody:
    """A plugin that builds its own JSON body for ``search`` and merges ``extra_body`` with the public helper."""

    @hookimpl
    def register_providers(self, register: Any) -> None:
        register(
            ProviderSpec(
                name="extrabodytest",
                base_url="http://127.0.0.1:9/own",
                requires_api_key=False,
                endpoints={"search"},
                plugin=self,
                openai_wire=False,
            )
        )

    @hookimpl
    def build_request(self, call: Any) -> httpx.Request:
        body = with_extra_body(call, {"terms": call.request.query, "limit": 3})
        return httpx.Request("POST", url_for(call, "/find"), content=dump_json(body))

    @hookimpl
    def parse_response(self, call: Any, response: httpx.Response) -> t.SearchResponse:
        return t.SearchResponse(results=[])


@pytest.fixture
def own_body_plugin() -> Any:
    registry = get_registry()
    registry.add_plugin(_OwnBody(), name="extra-body-test")
    yield
    registry.remove_plugin("extra-body-test")


@pytest.mark.parametrize("mode", MODES)
def test_a_plugin_merges_extra_body_with_the_public_helper(mode: str, own_body_plugin: None) -> None:
    seen = run(
        mode,
        httpx.Response(200, json={}),
        "search",
        options={"base_url": None},
        model="extrabodytest/x",
        query="q",
        extra_body={"limit": 7, "safe": True},
    )
    assert seen[0].url == "http://127.0.0.1:9/own/find"
    assert json.loads(seen[0].content) == {"terms": "q", "limit": 7, "safe": True}


@pytest.mark.parametrize("mode", MODES)
def test_ocr_usage_keeps_pages_processed(mode: str) -> None:
    answer = {"pages": [{"index": 0, "markdown": "# A"}], "model": "m", "usage": {"pages_processed": 3}}

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answer)

    options = {"base_url": GATEWAY, "max_retries": 0, "transport": httpx.MockTransport(reply)}
    document = {"type": "document_url", "url": "https://example.com/a.pdf"}
    if mode == "sync":
        with liter_llm.create_client(**options) as client:
            found = client.ocr(model="m", document=document)
    else:

        async def main() -> t.OcrResponse:
            async with liter_llm.create_async_client(**options) as client:
                return await client.ocr(model="m", document=document)

        found = asyncio.run(main())
    assert found.usage is not None
    assert found.usage.pages_processed == 3
    assert found.usage.prompt_tokens == 0
    assert found.to_dict()["usage"]["pages_processed"] == 3


def test_pages_processed_is_left_out_of_token_usage() -> None:
    assert "pages_processed" not in t.Usage(prompt_tokens=1).to_dict()


def test_extra_form_fields() -> None:
    assert extra_form_fields({"a": "x", "b": ["y", "z"], "c": 2, "d": None, "e": {"k": True}}) == {
        "a": "x",
        "b": ["y", "z"],
        "c": "2",
        "e": '{"k": true}',
    }
    assert extra_form_fields(None) == {}
