"""The stream's and the other endpoints' types are built on first use and are liter_llm.types' own all the same.

``liter_llm.types`` builds the chat types at import; the chat stream's types live in
``liter_llm._stream_types`` and the types of the other endpoints in ``liter_llm._endpoint_types``,
each imported the first time one of its names is asked for.  These tests check that nothing a user
can see tells them apart: names, ``__module__``, pickling, ``dir``, star imports, the two type sets,
parsing, and calls through both clients.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from typing import Any

import attrs
import pytest

import liter_llm
from liter_llm import types as t
from liter_llm.operations import OPERATIONS, field_of


def fresh(code: str) -> Any:
    """Run ``code`` in a new interpreter; it prints one JSON value last."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_the_types_does_not_build_the_other_endpoints_types() -> None:
    state = fresh(
        "import json, sys\n"
        "import liter_llm.types as t, liter_llm.operations\n"
        "before = 'liter_llm._endpoint_types' in sys.modules\n"
        "t.ChatCompletionResponse\n"
        "middle = 'liter_llm._endpoint_types' in sys.modules\n"
        "t.EmbeddingRequest\n"
        "print(json.dumps([before, middle, 'liter_llm._endpoint_types' in sys.modules]))"
    )
    assert state == [False, False, True]


def test_importing_the_types_does_not_build_the_streams_types() -> None:
    state = fresh(
        "import json, sys\n"
        "import liter_llm.types as t, liter_llm.streaming, liter_llm._wire\n"
        "t.ChatCompletionResponse, t.StreamOptions\n"
        "before = 'liter_llm._stream_types' in sys.modules\n"
        "chunk = t.StreamDelta\n"
        "print(json.dumps([before, 'liter_llm._stream_types' in sys.modules, "
        "'liter_llm._endpoint_types' in sys.modules, chunk.__module__]))"
    )
    assert state == [False, True, False, "liter_llm.types"]


def test_the_from_import_of_a_stream_type_works_in_a_fresh_interpreter() -> None:
    state = fresh(
        "import json\n"
        "from liter_llm.types import ChatCompletionChunk, RESPONSE_TYPES\n"
        "from liter_llm import types\n"
        "print(json.dumps([ChatCompletionChunk.__module__, ChatCompletionChunk in RESPONSE_TYPES, "
        "types.ChatCompletionChunk is ChatCompletionChunk, types.StreamChoice in RESPONSE_TYPES]))"
    )
    assert state == ["liter_llm.types", True, True, True]


def test_stream_types_parse_pickle_and_repr_as_the_chat_types_do() -> None:
    chunk = t.ChatCompletionChunk.from_dict(
        {
            "id": "c",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": "hi", "tool_calls": [{"index": 0, "type": "function"}]}}],
            "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3},
        }
    )
    assert pickle.loads(pickle.dumps(chunk)) == chunk
    assert repr(chunk).startswith("ChatCompletionChunk(id='c', object='chat.completion.chunk'")
    assert chunk.choices[0].delta.tool_calls[0].call_type is t.ToolType.FUNCTION
    assert chunk.usage is not None  # a chat type inside a stream type
    assert chunk.usage.total_tokens == 3
    assert t.ChatCompletionChunk.from_dict({"id": "c", "created": 1, "model": "m", "extra": 1}).choices == []
    with pytest.raises(liter_llm.SerializationError, match="choices"):
        t.ChatCompletionChunk.from_dict({"id": "c", "created": 1, "model": "m", "choices": 3})


def test_the_from_import_of_an_endpoint_type_works_in_a_fresh_interpreter() -> None:
    state = fresh(
        "import json\n"
        "from liter_llm.types import Batch, RESPONSE_TYPES\n"
        "from liter_llm import types\n"
        "print(json.dumps([Batch.__module__, Batch in RESPONSE_TYPES, types.Batch is Batch]))"
    )
    assert state == ["liter_llm.types", True, True]


def test_a_star_import_gives_every_name_of_all() -> None:
    names = fresh(
        "import json\nns = {}\nexec('from liter_llm.types import *', ns)\n"
        "import liter_llm.types as t\n"
        "print(json.dumps(sorted(set(t.__all__) - set(ns))))"
    )
    assert names == []


def test_every_public_name_resolves_and_every_class_says_it_is_of_liter_llm_types() -> None:
    for name in t.__all__:
        value = getattr(t, name)
        if isinstance(value, type):
            assert value.__module__ == "liter_llm.types", name
            assert value.__qualname__ == name
    assert set(t.__all__) <= set(dir(t))
    from liter_llm import _endpoint_types, _stream_types

    assert set(_endpoint_types.__all__) <= set(t.__all__)  # each is reachable through liter_llm.types
    assert set(_stream_types.__all__) <= set(t.__all__)
    assert not set(_stream_types.__all__) & set(_endpoint_types.__all__)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchType"):
        t.NoSuchType  # noqa: B018
    assert not hasattr(t, "NoSuchType")


def test_the_two_type_sets_hold_every_model_class_once() -> None:
    models = {
        value
        for name in t.__all__
        if isinstance(value := getattr(t, name), type) and attrs.has(value) and issubclass(value, t._Model)
    }
    assert models == t.REQUEST_TYPES | t.RESPONSE_TYPES
    assert not t.REQUEST_TYPES & t.RESPONSE_TYPES
    assert {t.EmbeddingRequest, t.ChatCompletionRequest} <= t.REQUEST_TYPES
    assert {t.Batch, t.ChatCompletionResponse, t.ChatCompletionChunk, t.StreamDelta} <= t.RESPONSE_TYPES


def test_endpoint_types_pickle_repr_and_compare_as_the_chat_types_do() -> None:
    response = t.EmbeddingResponse.from_dict(
        {"data": [{"embedding": [0.5], "index": 0}], "model": "m", "usage": {"prompt_tokens": 2, "total_tokens": 2}}
    )
    assert pickle.loads(pickle.dumps(response)) == response
    assert repr(response).startswith("EmbeddingResponse(object='list', data=[EmbeddingObject(")
    assert response.usage is not None  # a chat type inside an endpoint type
    assert response.usage.prompt_tokens == 2
    with pytest.raises(liter_llm.BadRequestError, match="input"):
        t.EmbeddingRequest.from_dict({"model": "m", "input": 3.5})


def test_the_operation_rows_of_other_endpoints_are_built_on_first_use_once() -> None:
    state = fresh(
        "import json, sys, threading\n"
        "from liter_llm import operations as o\n"
        "before = 'liter_llm._endpoint_types' in sys.modules\n"
        "names = list(o.OPERATIONS)\n"
        "still = 'liter_llm._endpoint_types' in sys.modules\n"
        "found = []\n"
        "threads = [threading.Thread(target=lambda: found.append(o.operation_named('rerank'))) for _ in range(8)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "same = all(row is o.RERANK is o.OPERATIONS['rerank'] for row in found)\n"
        "print(json.dumps([before, still, len(names), same, o.RERANK.request_type.__name__]))"
    )
    assert state == [False, False, 25, True, "RerankRequest"]


def test_field_of_gives_each_rows_own_fields_before_the_row_is_built() -> None:
    mismatches = fresh(
        "import json, sys, attrs\n"
        "from liter_llm.operations import OPERATIONS, Operation, field_of\n"
        "keys = [f.name for f in attrs.fields(Operation) if f.name not in ('request_type', 'response_type')]\n"
        "early = {n: {k: field_of(n, k) for k in keys} for n in OPERATIONS}\n"
        "assert 'liter_llm._endpoint_types' not in sys.modules\n"
        "late = {n: {k: getattr(op, k) for k in keys} for n, op in OPERATIONS.items()}\n"
        "print(json.dumps([[n, k] for n in early for k in keys if early[n][k] != late[n][k]]))"
    )
    assert mismatches == []
    with pytest.raises(KeyError):
        field_of("no_such_operation", "endpoint")


def test_every_operation_resolves_its_types() -> None:
    from liter_llm import operations

    for name, op in OPERATIONS.items():
        assert op.name == name
        assert getattr(operations, name.upper()) is op
        assert op.request_type is None or isinstance(op.request_type, type), op.name
        assert isinstance(op.response_type, type), op.name
        assert op.request_type is None or op.request_type.__module__ == "liter_llm.types" or op.name == "count_tokens"


EMBED_PROBE = r"""
import asyncio, json, sys
import httpx
import liter_llm

ANSWER = {"object": "list", "data": [{"object": "embedding", "embedding": [0.25, 0.5], "index": 0}],
          "model": "text-embedding-3-small", "usage": {"prompt_tokens": 1, "total_tokens": 1}}

def answer(request):
    return httpx.Response(200, json=ANSWER)

async def answer_async(request):
    return answer(request)

if sys.argv[1] == "async":
    client = liter_llm.create_async_client(api_key="k", base_url="http://127.0.0.1:9/v1",
                                           transport=httpx.MockTransport(answer_async))
    result = asyncio.run(client.embed(model="text-embedding-3-small", input="hi"))
else:
    client = liter_llm.create_client(api_key="k", base_url="http://127.0.0.1:9/v1",
                                     transport=httpx.MockTransport(answer))
    result = client.embed(model="text-embedding-3-small", input="hi")
print(json.dumps([type(result).__module__, type(result).__name__, result.data[0].embedding]))
"""


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_first_call_of_another_endpoint_builds_its_types(mode: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", EMBED_PROBE, mode], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["liter_llm.types", "EmbeddingResponse", [0.25, 0.5]]


STREAM_PROBE = r"""
import asyncio, json, sys
import httpx
import liter_llm

ANSWER = {"id": "x", "object": "chat.completion", "created": 1, "model": "m",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}
CHUNKS = [{"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m",
           "choices": [{"index": 0, "delta": {"content": part}}]} for part in ("o", "k")]
SSE = "".join("data: " + json.dumps(c) + "\n\n" for c in CHUNKS) + "data: [DONE]\n\n"

def answer(request):
    if json.loads(request.content).get("stream"):
        return httpx.Response(200, text=SSE, headers={"content-type": "text/event-stream"})
    return httpx.Response(200, json=ANSWER)

async def answer_async(request):
    return answer(request)

messages = [{"role": "user", "content": "hi"}]
seen = []
if sys.argv[1] == "async":
    client = liter_llm.create_async_client(api_key="k", base_url="http://127.0.0.1:9/v1",
                                           transport=httpx.MockTransport(answer_async))

    async def go():
        await client.chat(model="gpt-4o-mini", messages=messages)
        seen.append("liter_llm._stream_types" in sys.modules)
        async with await client.chat_stream(model="gpt-4o-mini", messages=messages) as stream:
            return [chunk async for chunk in stream]

    chunks = asyncio.run(go())
else:
    client = liter_llm.create_client(api_key="k", base_url="http://127.0.0.1:9/v1",
                                     transport=httpx.MockTransport(answer))
    client.chat(model="gpt-4o-mini", messages=messages)
    seen.append("liter_llm._stream_types" in sys.modules)
    with client.chat_stream(model="gpt-4o-mini", messages=messages) as stream:
        chunks = list(stream)
print(json.dumps([seen[0], [type(c).__module__ + "." + type(c).__name__ for c in chunks],
                  "".join(c.choices[0].delta.content for c in chunks)]))
"""


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_chat_builds_no_stream_types_and_the_first_stream_builds_them(mode: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", STREAM_PROBE, mode], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    chunk = "liter_llm.types.ChatCompletionChunk"
    assert json.loads(result.stdout) == [False, [chunk, chunk], "ok"]


def test_the_count_tokens_row_is_built_on_first_use_from_liter_llm_tokens() -> None:
    state = fresh(
        "import json, sys\n"
        "from liter_llm import operations as o\n"
        "early = [o.field_of('count_tokens', 'billed'), o.field_of('count_tokens', 'provider_only')]\n"
        "before = 'liter_llm.tokens' in sys.modules\n"
        "row = o.COUNT_TOKENS\n"
        "print(json.dumps([early, before, row is o.OPERATIONS['count_tokens'], row.request_type.__name__, "
        "row.response_type.__module__ + '.' + row.response_type.__name__, row.billed, row.provider_only]))"
    )
    assert state == [
        [False, True],
        False,
        True,
        "ChatCompletionRequest",
        "liter_llm.tokens.TokenCount",
        False,
        True,
    ]
