"""Embeddings through InvokeModel (Titan, Cohere) and the OpenAI Chat Completions endpoint of Bedrock."""

from __future__ import annotations

import json

import httpx
import pytest

from liter_llm.errors import BadRequestError, EndpointNotSupportedError, SerializationError
from liter_llm.testing import openai_chat_body

from .conftest import ACCESS_KEY, SECRET_KEY, Runner
from .test_sigv4 import _botocore_authorization

TITAN = {"embedding": [0.125, -0.5, 0.25], "inputTextTokenCount": 6}
COHERE = {
    "embeddings": [[0.1, 0.2], [0.3, 0.4]],
    "id": "emb-1",
    "response_type": "embeddings_floats",
    "texts": ["hello", "world"],
}


def test_titan_embedding(run: Runner) -> None:
    response = run(
        "embed",
        lambda r: httpx.Response(200, json=TITAN),
        model="amazon.titan-embed-text-v2:0",
        input="hello",
        dimensions=256,
    )
    request = run.requests[0]
    assert request.url.raw_path == b"/model/amazon.titan-embed-text-v2:0/invoke"
    assert run.body == {"inputText": "hello", "dimensions": 256}
    assert response.data[0].embedding == [0.125, -0.5, 0.25]
    assert response.usage.prompt_tokens == 6
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 ")


def test_titan_takes_one_text(run: Runner) -> None:
    with pytest.raises(BadRequestError, match="one text"):
        run("embed", lambda r: httpx.Response(200, json=TITAN), model="amazon.titan-embed-text-v2:0", input=["a", "b"])
    assert run.requests == []


def test_cohere_embeddings(run: Runner) -> None:
    response = run(
        "embed", lambda r: httpx.Response(200, json=COHERE), model="cohere.embed-english-v3", input=["hello", "world"]
    )
    assert run.body == {"texts": ["hello", "world"], "input_type": "search_document"}
    assert [d.embedding for d in response.data] == [[0.1, 0.2], [0.3, 0.4]]
    assert [d.index for d in response.data] == [0, 1]


def test_cohere_v4_typed_embeddings(run: Runner) -> None:
    data = {"embeddings": {"float": [[1.0, 2.0]]}, "id": "e", "response_type": "embeddings_by_type"}
    response = run("embed", lambda r: httpx.Response(200, json=data), model="cohere.embed-v4:0", input="x")
    assert response.data[0].embedding == [1.0, 2.0]


def test_other_models_and_bad_answers(run: Runner) -> None:
    with pytest.raises(BadRequestError, match="Titan and Cohere"):
        run("embed", lambda r: httpx.Response(200, json=TITAN), model="meta.llama3-8b-instruct-v1:0", input="x")
    with pytest.raises(SerializationError):
        run(
            "embed",
            lambda r: httpx.Response(200, json={"embedding": ["x"]}),
            model="amazon.titan-embed-text-v1",
            input="x",
        )


# ---------------------------------------------------------------------------
# bedrock_openai: the OpenAI Chat Completions wire at /openai/v1
# ---------------------------------------------------------------------------

OPENAI_MODEL = "openai.gpt-oss-20b-1:0"


def test_openai_wire_with_sigv4(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    response = run(
        "chat",
        lambda r: httpx.Response(200, json=openai_chat_body("hello from gpt-oss", model=OPENAI_MODEL)),
        model=f"bedrock_openai/{OPENAI_MODEL}",
        messages=[{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        client_options={"model_hint": None, "base_url": None},
    )
    request = run.requests[0]
    assert str(request.url) == "https://bedrock-runtime.us-west-2.amazonaws.com/openai/v1/chat/completions"
    assert run.body["model"] == OPENAI_MODEL
    assert run.body["messages"][0] == {"role": "developer", "content": "Be brief."}
    assert response.choices[0].message.content == "hello from gpt-oss"
    creds_header = _botocore_authorization(
        request, __import__("liter_llm_bedrock").AwsCredentials(ACCESS_KEY, SECRET_KEY), "us-west-2", monkeypatch
    )
    assert request.headers["authorization"] == creds_header


def test_openai_wire_with_an_api_key_and_streaming(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-key")
    sse = (
        'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
        '"delta":{"content":"Hel"}}]}\n\n'
        'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
        '"delta":{"content":"lo"},"finish_reason":"stop"}]}\n\n'
        "data: [DONE]\n\n"
    )
    chunks = run(
        "chat_stream",
        lambda r: httpx.Response(200, content=sse.encode(), headers={"content-type": "text/event-stream"}),
        model=f"bedrock_openai/{OPENAI_MODEL}",
        messages=[{"role": "user", "content": "Hi"}],
        client_options={"model_hint": None, "base_url": None},
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello"
    request = run.requests[0]
    assert request.headers["authorization"] == "Bearer bedrock-key"
    assert json.loads(request.content)["stream"] is True
    assert request.url.host == "bedrock-runtime.us-east-1.amazonaws.com"


def test_openai_wire_offers_chat_only(run: Runner) -> None:
    with pytest.raises(EndpointNotSupportedError):
        run(
            "embed",
            lambda r: httpx.Response(200, json={}),
            model=f"bedrock_openai/{OPENAI_MODEL}",
            input="x",
            client_options={"model_hint": None, "base_url": None},
        )
    assert run.requests == []
