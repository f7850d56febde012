"""Operations as data: the table, the hookspecs' list of it, and what hooks see of it, in both clients."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

import liter_llm.hookspecs
from liter_llm import hookimpl
from liter_llm import operations as ops
from liter_llm import types as t
from liter_llm.client import AsyncDefaultClient, DefaultClient
from liter_llm.errors import BadRequestError
from liter_llm.providers import ALL_ENDPOINTS, ENDPOINT_OF_OPERATION, PROVIDER_ENDPOINTS
from liter_llm.testing import RecordingTransport, openai_chat_body


def test_the_hookspecs_docstring_lists_exactly_the_table() -> None:
    doc = liter_llm.hookspecs.__doc__ or ""
    section = doc.split("Operation names", 1)[1]
    assert re.findall(r"``(\w+)``", section.split(":", 1)[1].split("\n\n", 1)[0]) == list(ops.OPERATIONS)


def test_every_operation_is_a_method_of_both_clients() -> None:
    for name in ops.OPERATIONS:
        assert callable(getattr(DefaultClient, name, None)), name
        assert callable(getattr(AsyncDefaultClient, name, None)), name


def test_the_rows_are_consistent() -> None:
    assert set(ops.__all__) >= {name.upper() for name in ops.OPERATIONS}
    for name, op in ops.OPERATIONS.items():
        assert getattr(ops, name.upper()) is op
        assert op.name == name
        assert ENDPOINT_OF_OPERATION[name] == op.endpoint
        assert op.endpoint in (PROVIDER_ENDPOINTS if op.provider_only else ALL_ENDPOINTS)
        assert (op.method is None) == op.provider_only == (op.path is None)
        assert not (op.stream and op.cacheable), name  # a stream is never answered from a cache
        if op.binary or op.stream:
            assert op.required_field is None, name
    assert [op.name for op in ops.OPERATIONS.values() if op.cacheable] == ["chat", "embed"]
    assert [op.name for op in ops.OPERATIONS.values() if op.fallback] == ["chat", "chat_stream", "embed"]
    assert ops.operation_named("embed") is ops.EMBED
    assert ops.operation_named(ops.EMBED) is ops.EMBED
    with pytest.raises(BadRequestError, match="unknown operation 'nope'"):
        ops.operation_named("nope")


class SeeOp:
    """Records the row every call's hooks see."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, ops.Operation[Any, Any]]] = []

    @hookimpl
    def on_request(self, call: Any) -> None:
        self.seen.append((call.operation, call.op))


def _reply(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/embeddings"):
        return httpx.Response(200, json={"object": "list", "data": [{"index": 0, "embedding": [0.5]}], "model": "m"})
    if request.url.path.endswith("/content"):
        return httpx.Response(200, content=b"raw", headers={"content-type": "application/octet-stream"})
    if request.url.path.endswith("/files/f1"):
        return httpx.Response(200, json={"id": "f1"})
    return httpx.Response(200, json=openai_chat_body("hi"))


def test_hooks_see_the_row_of_each_call(make: Any) -> None:
    seer = SeeOp()
    transport = RecordingTransport(_reply)
    api = make(api_key="sk-test", transport=transport, hooks=[seer], max_retries=0)
    answer = api.chat(model="fake-m", messages=[{"role": "user", "content": "hi"}])
    assert isinstance(answer, t.ChatCompletionResponse)
    assert isinstance(api.embed(model="fake-e", input="x"), t.EmbeddingResponse)
    assert api.file_content("f1") == b"raw"
    assert isinstance(api.retrieve_file("f1"), t.FileObject)
    assert seer.seen == [
        ("chat", ops.CHAT),
        ("embed", ops.EMBED),
        ("file_content", ops.FILE_CONTENT),
        ("retrieve_file", ops.RETRIEVE_FILE),
    ]
    rows = (ops.CHAT, ops.EMBED, ops.FILE_CONTENT, ops.RETRIEVE_FILE)
    assert all(seen is row for (_, seen), row in zip(seer.seen, rows, strict=True))  # the rows, not copies
    assert [(r.method, r.url.path) for r in transport.requests] == [
        ("POST", "/v1/chat/completions"),
        ("POST", "/v1/embeddings"),
        ("GET", "/v1/files/f1/content"),
        ("GET", "/v1/files/f1"),
    ]


def test_the_openai_wire_is_an_ordinary_builtin_that_can_be_replaced(make: Any) -> None:
    from liter_llm.builtins.openai_wire import OpenAIWire
    from liter_llm.errors import EndpointNotSupportedError

    transport = RecordingTransport(_reply)
    api = make(api_key="sk-test", transport=transport)
    api.chat(model="fake-m", messages=[{"role": "user", "content": "hi"}])
    relay = api.client._pipeline._relays["fake"][1]
    assert "builtin.openai_wire" in {name for name, _ in relay.list_name_plugin()}
    off = make(api_key="sk-test", transport=transport, disable_plugins=["openai_wire"])
    with pytest.raises(EndpointNotSupportedError):
        off.chat(model="fake-m", messages=[{"role": "user", "content": "hi"}])
    assert len(transport.requests) == 1  # nothing was sent without it
    mine = make(api_key="sk-test", transport=transport, disable_plugins=["openai_wire"], hooks=[OpenAIWire()])
    assert mine.chat(model="fake-m", messages=[{"role": "user", "content": "hi"}]).choices[0].message.content == "hi"
