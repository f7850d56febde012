"""Embed, rerank, the model list and errors through the real sync and async clients."""

from __future__ import annotations

import base64
import struct
from typing import Any

import httpx
import pytest

import liter_llm_cohere
from liter_llm.errors import (
    AuthenticationError,
    BadRequestError,
    EndpointNotSupportedError,
    LiterLlmError,
    RateLimitedError,
    SerializationError,
    ServiceUnavailableError,
)

from .conftest import API_KEY, Runner


def answer(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    return lambda request: httpx.Response(status, json=data, headers=headers)


def b64(values: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


# -- embed ---------------------------------------------------------------------

# The documented /v2/embed answer (https://docs.cohere.com/reference/embed).
EMBED_ANSWER: dict[str, Any] = {
    "id": "da6e531f-54c6-4a73-bf92-f60566d8d753",
    "embeddings": {"float": [[0.016296387, -0.008354187, -0.04699707]]},
    "texts": ["hello"],
    "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": 1}},
    "response_type": "embeddings_by_type",
}


def test_embed_sends_texts_input_type_and_embedding_types(run: Runner) -> None:
    result = run("embed", answer(EMBED_ANSWER), model="cohere/embed-v4.0", input="hello", dimensions=256)
    request = run.requests[0]
    assert str(request.url) == "http://127.0.0.1:9/v2/embed"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert run.body == {
        "model": "embed-v4.0",
        "texts": ["hello"],
        "input_type": "search_document",
        "embedding_types": ["float"],
        "output_dimension": 256,
    }
    assert result.data[0].embedding == pytest.approx([0.016296387, -0.008354187, -0.04699707])
    assert result.data[0].index == 0
    assert result.model == "embed-v4.0"
    assert result.usage.prompt_tokens == 1


def test_embed_base64_is_decoded_to_floats(run: Runner) -> None:
    data = {**EMBED_ANSWER, "embeddings": {"base64": [b64([0.5, -1.25]), b64([2.0, 0.0])]}}
    result = run("embed", answer(data), model="cohere/embed-v4.0", input=["a", "b"], encoding_format="base64")
    assert run.body["embedding_types"] == ["base64"]
    assert [d.embedding for d in result.data] == [[0.5, -1.25], [2.0, 0.0]]
    assert [d.index for d in result.data] == [0, 1]


def test_embed_with_cohere_options(run: Runner) -> None:
    request = liter_llm_cohere.CohereEmbeddingRequest(
        model="cohere/embed-english-v3.0",
        input=["q"],
        input_type="search_query",
        embedding_types=["int8"],
        truncate="END",
    )
    data = {**EMBED_ANSWER, "embeddings": {"int8": [[-12, 7, 127]]}}
    result = run("embed", answer(data), request)
    assert run.body == {
        "model": "embed-english-v3.0",
        "texts": ["q"],
        "input_type": "search_query",
        "embedding_types": ["int8"],
        "truncate": "END",
    }
    assert result.data[0].embedding == [-12.0, 7.0, 127.0]


@pytest.mark.parametrize(
    "request_fields",
    [
        {"input": [1, 2, 3]},
        {"input": []},
        {"input_type": "nonsense"},
        {"embedding_types": ["complex"]},
        {"truncate": "MIDDLE"},
    ],
)
def test_embed_refuses_what_cohere_cannot_take(run: Runner, request_fields: dict[str, Any]) -> None:
    fields: dict[str, Any] = {"model": "cohere/embed-v4.0", "input": "x", **request_fields}
    with pytest.raises(BadRequestError):
        run("embed", answer(EMBED_ANSWER), liter_llm_cohere.CohereEmbeddingRequest(**fields))
    assert run.requests == []


@pytest.mark.parametrize(
    "embeddings",
    [
        None,
        {"float": "x"},
        {"float": [["a"]]},
        {"base64": ["@@not base64@@"]},
        {"base64": [base64.b64encode(b"abc").decode()]},
    ],
)
def test_embed_malformed_answers(run: Runner, embeddings: Any) -> None:
    fmt = "base64" if isinstance(embeddings, dict) and "base64" in embeddings else None
    with pytest.raises(SerializationError):
        run("embed", answer({"embeddings": embeddings}), model="cohere/embed-v4.0", input="x", encoding_format=fmt)


# -- rerank --------------------------------------------------------------------

DOCUMENTS = [
    "Carson City is the capital city of the American state of Nevada.",
    "Washington, D.C. is the capital of the United States.",
    "Capital punishment has existed in the United States since before it was a country.",
]

# The documented /v2/rerank answer shape (https://docs.cohere.com/reference/rerank), served out of order.
RERANK_ANSWER: dict[str, Any] = {
    "id": "07734bd2-2473-4f07-94e1-0d9f0e6843cf",
    "results": [
        {"index": 2, "relevance_score": 0.04},
        {"index": 1, "relevance_score": 0.9},
        {"index": 0, "relevance_score": 0.3},
    ],
    "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
}


def test_rerank_request_and_sorted_results(run: Runner) -> None:
    result = run(
        "rerank",
        answer(RERANK_ANSWER),
        model="cohere/rerank-v3.5",
        query="capital of the US",
        documents=DOCUMENTS,
        top_n=3,
    )
    assert str(run.requests[0].url) == "http://127.0.0.1:9/v2/rerank"
    assert run.body == {"model": "rerank-v3.5", "query": "capital of the US", "documents": DOCUMENTS, "top_n": 3}
    assert [(r.index, r.relevance_score) for r in result.results] == [(1, 0.9), (0, 0.3), (2, 0.04)]
    assert all(r.document is None for r in result.results)
    assert result.id == "07734bd2-2473-4f07-94e1-0d9f0e6843cf"
    assert result.meta["billed_units"] == {"search_units": 1}


def test_rerank_return_documents_is_filled_from_the_request(run: Runner) -> None:
    documents = [{"text": DOCUMENTS[0]}, DOCUMENTS[1], {"text": DOCUMENTS[2]}]
    result = run(
        "rerank",
        answer(RERANK_ANSWER),
        model="cohere/rerank-v3.5",
        query="q",
        documents=documents,
        return_documents=True,
    )
    assert run.body["documents"] == DOCUMENTS
    assert "return_documents" not in run.body  # not a v2 field
    assert [r.document.text for r in result.results] == [DOCUMENTS[1], DOCUMENTS[0], DOCUMENTS[2]]


@pytest.mark.parametrize(
    "results",
    [
        None,
        [{"index": 7, "relevance_score": 0.1}],
        [{"index": 0, "relevance_score": "high"}],
        [{"index": True, "relevance_score": 0.1}],
        ["x"],
    ],
)
def test_rerank_malformed_answers(run: Runner, results: Any) -> None:
    with pytest.raises(SerializationError):
        run("rerank", answer({"results": results}), model="cohere/rerank-v3.5", query="q", documents=DOCUMENTS)


# -- models --------------------------------------------------------------------


def test_list_models(run: Runner) -> None:
    data = {
        "models": [
            {"name": "command-a-03-2025", "endpoints": ["chat"], "finetuned": False, "context_length": 256000},
            {"name": "embed-v4.0", "endpoints": ["embed"], "finetuned": False},
        ],
        "next_page_token": None,
    }
    result = run("list_models", answer(data))
    request = run.requests[0]
    assert request.method == "GET"
    assert request.url.path == "/v1/models"
    assert request.url.params["page_size"] == "1000"
    assert [m.id for m in result.data] == ["command-a-03-2025", "embed-v4.0"]
    assert {m.owned_by for m in result.data} == {"cohere"}


def test_list_models_malformed(run: Runner) -> None:
    with pytest.raises(SerializationError):
        run("list_models", answer({"models": [{"id": "no name"}]}))


# -- unsupported, errors, keys -----------------------------------------------------


def test_operations_cohere_does_not_offer_are_refused_before_io(run: Runner) -> None:
    with pytest.raises(EndpointNotSupportedError):
        run("image_generate", answer({}), model="cohere/command-a-03-2025", prompt="a cat")
    assert run.requests == []


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (498, AuthenticationError),
        (429, RateLimitedError),
        (499, ServiceUnavailableError),
        (503, ServiceUnavailableError),
    ],
)
def test_error_bodies_map_to_kinds(run: Runner, status: int, kind: type[LiterLlmError]) -> None:
    message = "You are past the per minute request limit, please wait and try again later."
    headers = {"retry-after": "7"} if status == 429 else None
    with pytest.raises(kind) as info:
        run(
            "chat",
            answer({"id": "b1b6", "message": message}, status, headers),
            model="cohere/command-a-03-2025",
            messages=[{"role": "user", "content": "hi"}],
        )
    assert info.value.message == message
    assert info.value.status_code == status
    assert info.value.provider == "cohere"
    if status == 429:
        assert info.value.retry_after == 7
    assert API_KEY not in str(info.value)
    assert API_KEY not in repr(info.value)


def test_a_429_is_retried_and_then_succeeds(run: Runner) -> None:
    answers = iter(
        [
            httpx.Response(429, json={"message": "slow down"}, headers={"retry-after": "0"}),
            httpx.Response(200, json={"results": []}),
        ]
    )
    result = run(
        "rerank",
        lambda request: next(answers),
        client_options={"max_retries": 1},
        model="cohere/rerank-v3.5",
        query="q",
        documents=DOCUMENTS,
    )
    assert result.results == []
    assert len(run.requests) == 2


@pytest.mark.parametrize("body", [b"", b"<html>bad gateway</html>", b'{"message": 5}', b"{not json"])
def test_error_bodies_of_any_shape(run: Runner, body: bytes) -> None:
    with pytest.raises(ServiceUnavailableError) as info:
        run(
            "embed",
            lambda request: httpx.Response(503, content=body),
            model="cohere/embed-v4.0",
            input="x",
        )
    assert info.value.status_code == 503


def test_the_key_goes_only_to_cohere(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COHERE_API_KEY", "co-env-key-0000")
    monkeypatch.setenv("COHERE_BASE_URL", "http://127.0.0.1:9")
    options = {"api_key": None, "model_hint": None, "base_url": None}
    run(
        "rerank",
        answer(RERANK_ANSWER),
        client_options=options,
        model="cohere/rerank-v3.5",
        query="q",
        documents=DOCUMENTS,
    )
    assert run.requests[0].headers["authorization"] == "Bearer co-env-key-0000"
    assert str(run.requests[0].url).startswith("http://127.0.0.1:9/v2/rerank")


def test_the_catalogue_has_no_cohere_rows_and_the_plugin_serves_cohere() -> None:
    import liter_llm_openai
    from liter_llm.registry import get_registry

    names = {row["name"] for row in liter_llm_openai.load_catalogue()}
    assert not names & {"cohere", "cohere_chat"}
    spec = get_registry().providers["cohere"]
    assert spec.plugin is liter_llm_cohere.PLUGIN
    assert not spec.openai_wire


@pytest.mark.parametrize(
    ("model", "path"),
    [("command-a-03-2025", "/v2/chat"), ("c4ai-aya-expanse-32b", "/v2/chat")],
)
def test_bare_cohere_models_route_here(run: Runner, monkeypatch: pytest.MonkeyPatch, model: str, path: str) -> None:
    monkeypatch.setenv("COHERE_API_KEY", "co-env-key-0000")
    monkeypatch.setenv("COHERE_BASE_URL", "http://127.0.0.1:9")
    data = {
        "id": "x",
        "finish_reason": "COMPLETE",
        "message": {"role": "assistant", "content": [{"type": "text", "text": "hi"}]},
    }
    options = {"api_key": None, "model_hint": None, "base_url": None}
    run("chat", answer(data), client_options=options, model=model, messages=[{"role": "user", "content": "hi"}])
    assert run.requests[0].url.path == path
    assert run.body["model"] == model


def test_cohere_embed_options_are_part_of_the_request_dict() -> None:
    """The cache keys on ``to_dict()``: a search_query and a search_document embedding never share an entry."""
    query = liter_llm_cohere.CohereEmbeddingRequest(model="m", input="x", input_type="search_query")
    document = liter_llm_cohere.CohereEmbeddingRequest(model="m", input="x", input_type="search_document")
    assert query.to_dict()["input_type"] == "search_query"
    assert query.to_dict() != document.to_dict()
