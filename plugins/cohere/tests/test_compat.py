"""``cohere_compat/<model>``: Cohere's OpenAI-compatible layer, in the OpenAI wire format (sync and async).

Answers follow the examples of https://docs.cohere.com/docs/compatibility-api (chat, streams,
embeddings), which are OpenAI-shaped.
"""

from __future__ import annotations

import json

import httpx
import pytest

from liter_llm.errors import AuthenticationError, EndpointNotSupportedError, LiterLlmError
from liter_llm.registry import get_registry

from .conftest import API_KEY, Runner, sse_response

COMPAT = "https://api.cohere.ai/compatibility/v1"
DEFAULTS = {"base_url": None, "model_hint": None, "api_key": None}
USER = [{"role": "user", "content": "Write a haiku about recursion in programming."}]
CHAT = {
    "id": "0b6a3f0c-6b8f-4f5e-9a3a-1c2d3e4f5a6b",
    "object": "chat.completion",
    "created": 1740000000,
    "model": "command-a-03-2025",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Recursive loops,\nUnraveling code's depths,\nEndless, yet complete.",
            },
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 12, "completion_tokens": 14, "total_tokens": 26},
}


@pytest.fixture(autouse=True)
def cohere_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COHERE_API_KEY", API_KEY)
    monkeypatch.delenv("COHERE_COMPAT_BASE_URL", raising=False)


def never(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"nothing should be sent, but {request.method} {request.url} was")


def test_the_compat_provider_is_registered_by_the_cohere_distribution() -> None:
    spec = get_registry().get("cohere_compat")
    assert spec is not None
    assert spec.distribution == "liter-llm-cohere"
    assert spec.base_url == COMPAT
    assert spec.endpoints == {"chat", "embed", "transcribe"}


def test_chat_goes_to_chat_completions_with_the_cohere_key(run: Runner) -> None:
    reply = run(
        "chat",
        lambda r: httpx.Response(200, json=CHAT),
        model="cohere_compat/command-a-03-2025",
        messages=USER,
        temperature=0.3,
        extra_body={"safety_mode": "STRICT"},
        client_options=DEFAULTS,
    )
    request = run.requests[0]
    assert str(request.url) == f"{COMPAT}/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert run.body == {
        "model": "command-a-03-2025",
        "messages": USER,
        "temperature": 0.3,
        "safety_mode": "STRICT",
    }
    assert reply.choices[0].message.content.startswith("Recursive loops")
    assert reply.usage.total_tokens == 26


def test_chat_stream(run: Runner) -> None:
    def chunk(delta: dict[str, object], finish: str | None = None) -> str:
        body = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "command-a-03-2025",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return "data: " + json.dumps(body) + "\n\n"

    stream = chunk({"role": "assistant", "content": "Recursive"}) + chunk({"content": " loops"}, "stop")
    chunks = run(
        "chat_stream",
        lambda r: sse_response(stream + "data: [DONE]\n\n"),
        model="cohere_compat/command-a-03-2025",
        messages=USER,
        client_options=DEFAULTS,
    )
    assert json.loads(run.requests[0].content)["stream"] is True
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Recursive loops"


def test_embeddings(run: Runner) -> None:
    answer = {
        "object": "list",
        "data": [{"object": "embedding", "embedding": [0.0234, -0.0156, 0.0412], "index": 0}],
        "model": "embed-v4.0",
        "usage": {"prompt_tokens": 3, "total_tokens": 3},
    }
    found = run(
        "embed",
        lambda r: httpx.Response(200, json=answer),
        model="cohere_compat/embed-v4.0",
        input=["Hello world"],
        encoding_format="float",
        client_options=DEFAULTS,
    )
    assert str(run.requests[0].url) == f"{COMPAT}/embeddings"
    assert run.body == {"model": "embed-v4.0", "input": ["Hello world"], "encoding_format": "float"}
    assert found.data[0].embedding == [0.0234, -0.0156, 0.0412]


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("rerank", {"query": "q", "documents": ["a"]}),
        ("image_generate", {"prompt": "a cat"}),
        ("list_models", {}),
        ("search", {"query": "q"}),
    ],
)
def test_what_the_layer_does_not_offer_is_refused_before_io(
    run: Runner, method: str, kwargs: dict[str, object]
) -> None:
    if method == "list_models":
        kwargs = {"provider": "cohere_compat"}
    else:
        kwargs = {"model": "cohere_compat/command-a-03-2025", **kwargs}
    with pytest.raises(EndpointNotSupportedError):
        run(method, never, client_options=DEFAULTS, **kwargs)
    assert run.requests == []


def test_an_error_answer_is_mapped_and_the_key_is_not_shown(run: Runner) -> None:
    body = {"id": "e1", "message": f"invalid api token {API_KEY}"}
    with pytest.raises(LiterLlmError) as caught:
        run(
            "chat",
            lambda r: httpx.Response(401, json=body),
            model="cohere_compat/command-a-03-2025",
            messages=USER,
            client_options=DEFAULTS,
        )
    assert isinstance(caught.value, AuthenticationError)
    assert API_KEY not in str(caught.value)
    assert API_KEY not in repr(caught.value)


def test_native_embed_and_rerank_merge_extra_body(run: Runner) -> None:
    embed_answer = {
        "id": "e",
        "embeddings": {"float": [[0.1, 0.2]]},
        "texts": ["hi"],
        "meta": {"billed_units": {"input_tokens": 1}},
    }
    run(
        "embed",
        lambda r: httpx.Response(200, json=embed_answer),
        model="cohere/embed-v4.0",
        input=["hi"],
        extra_body={"max_tokens": 512},
    )
    assert run.body["max_tokens"] == 512
    run(
        "rerank",
        lambda r: httpx.Response(200, json={"id": "r", "results": [{"index": 0, "relevance_score": 0.9}]}),
        model="cohere/rerank-v3.5",
        query="capital?",
        documents=["Paris"],
        extra_body={"max_tokens_per_doc": 4096},
    )
    assert run.body["max_tokens_per_doc"] == 4096


def test_transcription(run: Runner) -> None:
    found = run(
        "transcribe",
        lambda r: httpx.Response(200, json={"text": "This week, I traveled to Chicago."}),
        model="cohere_compat/cohere-transcribe-03-2026",
        file=b"RIFF....WAVEfmt ",
        filename="talk.wav",
        language="en",
        client_options=DEFAULTS,
    )
    request = run.requests[0]
    assert str(request.url) == f"{COMPAT}/audio/transcriptions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert b'name="model"\r\n\r\ncohere-transcribe-03-2026' in request.content
    assert found.text == "This week, I traveled to Chicago."
