"""Rerank on every provider of liter-llm-rerank, through the real sync and async clients.

The answers are built from each provider's documented examples (pages in docs/providers/rerank.md).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import liter_llm_rerank
from liter_llm.errors import BadRequestError, RateLimitedError, SerializationError
from liter_llm.registry import get_registry

from .conftest import API_KEY, Runner

DOCUMENTS = [
    "Carson City is the capital city of the American state of Nevada.",
    "Washington, D.C. is the capital of the United States.",
    "Capital punishment has existed in the United States since before it was a country.",
]
QUERY = "What is the capital of the United States?"
LOCAL = "http://127.0.0.1:9/v1"

#: (provider, answer the server sends, the path it is sent to)
COHERE_COMPATIBLE = ["jina_ai", "vllm", "hosted_vllm", "llamacpp", "localai", "fireworks_ai", "infinity"]


def options(name: str, base_url: str = LOCAL) -> dict[str, Any]:
    return {"model_hint": name, "base_url": base_url}


def answer(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    return lambda request: httpx.Response(status, json=data, headers=headers)


# Jina's documented answer (https://jina.ai/reranker/): results best first, documents as objects.
JINA_ANSWER = {
    "model": "jina-reranker-v2-base-multilingual",
    "usage": {"total_tokens": 57},
    "results": [
        {"index": 1, "document": {"text": DOCUMENTS[1]}, "relevance_score": 0.92},
        {"index": 0, "document": {"text": DOCUMENTS[0]}, "relevance_score": 0.11},
        {"index": 2, "document": {"text": DOCUMENTS[2]}, "relevance_score": 0.03},
    ],
}

# llama.cpp's server answers in document order, without documents.
LLAMACPP_ANSWER = {
    "model": "bge-reranker-v2-m3",
    "object": "list",
    "usage": {"prompt_tokens": 51, "total_tokens": 51},
    "results": [
        {"index": 0, "relevance_score": -4.2},
        {"index": 1, "relevance_score": 7.5},
        {"index": 2, "relevance_score": -9.1},
    ],
}


@pytest.mark.parametrize("name", COHERE_COMPATIBLE)
def test_cohere_compatible_servers(run: Runner, name: str) -> None:
    result = run(
        "rerank",
        answer(JINA_ANSWER),
        client_options=options(name),
        model="bge-reranker-v2-m3",
        query=QUERY,
        documents=DOCUMENTS,
        top_n=3,
        return_documents=True,
    )
    request = run.requests[0]
    assert str(request.url) == f"{LOCAL}/rerank"
    assert run.body == {
        "model": "bge-reranker-v2-m3",
        "query": QUERY,
        "documents": DOCUMENTS,
        "top_n": 3,
        "return_documents": True,
    }
    assert [(r.index, r.relevance_score) for r in result.results] == [(1, 0.92), (0, 0.11), (2, 0.03)]
    assert [r.document.text for r in result.results] == [DOCUMENTS[1], DOCUMENTS[0], DOCUMENTS[2]]
    assert result.meta["usage"] == {"total_tokens": 57}


def test_unsorted_answers_are_sorted_and_documents_filled_from_the_request(run: Runner) -> None:
    result = run(
        "rerank",
        answer(LLAMACPP_ANSWER),
        client_options=options("llamacpp"),
        model="bge-reranker-v2-m3",
        query=QUERY,
        documents=[{"text": DOCUMENTS[0]}, DOCUMENTS[1], DOCUMENTS[2]],
        return_documents=True,
    )
    assert run.body["documents"] == DOCUMENTS
    assert [r.index for r in result.results] == [1, 0, 2]
    assert [r.document.text for r in result.results] == [DOCUMENTS[1], DOCUMENTS[0], DOCUMENTS[2]]


def test_top_n_cuts_an_answer_that_returned_more(run: Runner) -> None:
    result = run(
        "rerank",
        answer(LLAMACPP_ANSWER),
        client_options=options("llamacpp"),
        model="m",
        query=QUERY,
        documents=DOCUMENTS,
        top_n=1,
    )
    assert [r.index for r in result.results] == [1]
    assert result.results[0].document is None


def test_infinity_answer_with_string_documents_and_data_key(run: Runner) -> None:
    data = {
        "object": "rerank",
        "data": [
            {"relevance_score": 0.2, "index": 0, "document": DOCUMENTS[0]},
            {"relevance_score": 0.9, "index": 1, "document": DOCUMENTS[1]},
        ],
        "model": "mixedbread-ai/mxbai-rerank-xsmall-v1",
        "usage": {"prompt_tokens": 20, "total_tokens": 20},
        "id": "infinity-1",
        "created": 1,
    }
    result = run(
        "rerank",
        answer(data),
        client_options=options("infinity", "http://127.0.0.1:9"),
        model="m",
        query=QUERY,
        documents=DOCUMENTS[:2],
        return_documents=True,
    )
    assert str(run.requests[0].url) == "http://127.0.0.1:9/rerank"
    assert [(r.index, r.document.text) for r in result.results] == [(1, DOCUMENTS[1]), (0, DOCUMENTS[0])]
    assert result.id == "infinity-1"


def test_voyage(run: Runner) -> None:
    # Voyage's documented answer (https://docs.voyageai.com/reference/reranker-api).
    data = {
        "object": "list",
        "data": [{"relevance_score": 0.4375, "index": 0}, {"relevance_score": 0.8984, "index": 1}],
        "model": "rerank-2.5",
        "usage": {"total_tokens": 26},
    }
    result = run(
        "rerank",
        answer(data),
        client_options=options("voyage"),
        model="voyage/rerank-2.5",
        query=QUERY,
        documents=DOCUMENTS[:2],
        top_n=2,
    )
    assert run.requests[0].headers["authorization"] == f"Bearer {API_KEY}"
    assert run.body == {"model": "rerank-2.5", "query": QUERY, "documents": DOCUMENTS[:2], "top_k": 2}
    assert [(r.index, r.relevance_score) for r in result.results] == [(1, 0.8984), (0, 0.4375)]


def test_extra_body_is_merged_into_the_rerank_body(run: Runner) -> None:
    # Voyage's documented "truncation" flag (https://docs.voyageai.com/reference/reranker-api)
    data = {"object": "list", "data": [{"relevance_score": 0.5, "index": 0}], "model": "rerank-2.5"}
    run(
        "rerank",
        answer(data),
        client_options=options("voyage"),
        model="voyage/rerank-2.5",
        query=QUERY,
        documents=DOCUMENTS[:1],
        extra_body={"truncation": False},
    )
    assert run.body == {"model": "rerank-2.5", "query": QUERY, "documents": DOCUMENTS[:1], "truncation": False}


def test_nim_self_hosted(run: Runner) -> None:
    # NIM's documented ranking answer (https://docs.nvidia.com/nim/nemo-retriever/text-reranking/latest/).
    data = {"rankings": [{"index": 2, "logit": -10.5}, {"index": 1, "logit": 0.73}, {"index": 0, "logit": -2.0}]}
    result = run(
        "rerank",
        answer(data),
        client_options=options("nvidia_nim"),
        model="nvidia/llama-3.2-nv-rerankqa-1b-v2",
        query=QUERY,
        documents=DOCUMENTS,
        return_documents=True,
    )
    assert str(run.requests[0].url) == f"{LOCAL}/ranking"
    assert run.body == {
        "model": "nvidia/llama-3.2-nv-rerankqa-1b-v2",
        "query": {"text": QUERY},
        "passages": [{"text": d} for d in DOCUMENTS],
    }
    assert [(r.index, r.relevance_score) for r in result.results] == [(1, 0.73), (0, -2.0), (2, -10.5)]
    assert result.results[0].document.text == DOCUMENTS[1]


def test_nim_hosted_goes_to_the_retrieval_host(run: Runner) -> None:
    # The default base URL is NVIDIA's API catalogue; its rerankers answer on ai.api.nvidia.com.
    # The mock transport answers every host: nothing leaves the machine.
    run(
        "rerank",
        answer({"rankings": [{"index": 0, "logit": 1.0}]}),
        client_options=options("nvidia_nim", liter_llm_rerank.NIM_HOSTED_BASE_URL),
        model="nvidia/llama-3.2-nv-rerankqa-1b-v2",
        query=QUERY,
        documents=DOCUMENTS[:1],
    )
    assert (
        str(run.requests[0].url)
        == "https://ai.api.nvidia.com/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking"
    )
    assert run.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_deepinfra(run: Runner) -> None:
    data = {
        "scores": [0.01, 0.97, 0.002],
        "input_tokens": 48,
        "request_id": None,
        "inference_status": {"status": "succeeded"},
    }
    result = run(
        "rerank",
        answer(data),
        client_options=options("deepinfra", "http://127.0.0.1:9/v1/openai"),
        model="Qwen/Qwen3-Reranker-4B",
        query=QUERY,
        documents=DOCUMENTS,
        top_n=2,
    )
    assert str(run.requests[0].url) == "http://127.0.0.1:9/v1/inference/Qwen/Qwen3-Reranker-4B"
    assert run.body == {"queries": [QUERY] * 3, "documents": DOCUMENTS}
    assert [(r.index, r.relevance_score) for r in result.results] == [(1, 0.97), (0, 0.01)]
    assert result.meta == {"input_tokens": 48}


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("jina_ai", {"results": [{"index": 9, "relevance_score": 0.1}]}),
        ("jina_ai", {"results": [{"index": 0, "relevance_score": 0.1}, {"index": 0, "relevance_score": 0.2}]}),
        ("jina_ai", {"results": [{"index": 0, "relevance_score": "high"}]}),
        ("jina_ai", {"results": "none"}),
        ("jina_ai", ["not an object"]),
        ("voyage", {"data": [{"index": True, "relevance_score": 0.1}]}),
        ("nvidia_nim", {"rankings": [{"index": 0}]}),
        ("deepinfra", {"scores": [0.1]}),
        ("deepinfra", {"scores": [0.1, None, 0.3]}),
    ],
)
def test_malformed_answers_are_serialization_errors(run: Runner, name: str, data: Any) -> None:
    with pytest.raises(SerializationError):
        run("rerank", answer(data), client_options=options(name), model="m", query=QUERY, documents=DOCUMENTS)


def test_empty_documents_are_refused_before_io(run: Runner) -> None:
    with pytest.raises(BadRequestError):
        run("rerank", answer({}), client_options=options("jina_ai"), model="m", query=QUERY, documents=[])
    assert run.requests == []


def test_errors_keep_the_core_mapping(run: Runner) -> None:
    with pytest.raises(RateLimitedError) as info:
        run(
            "rerank",
            answer({"detail": "rate limit exceeded"}, 429, {"retry-after": "3"}),
            client_options=options("jina_ai"),
            model="m",
            query=QUERY,
            documents=DOCUMENTS,
        )
    assert info.value.retry_after == 3
    assert API_KEY not in str(info.value)


def test_other_operations_stay_in_the_openai_wire_format(run: Runner) -> None:
    chat = {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    }
    result = run(
        "chat", answer(chat), client_options=options("vllm"), model="m", messages=[{"role": "user", "content": "hi"}]
    )
    assert str(run.requests[0].url) == f"{LOCAL}/chat/completions"
    assert result.choices[0].message.content == "ok"
    embedding = {"object": "list", "data": [{"embedding": [0.5], "index": 0}], "model": "m"}
    result = run("embed", answer(embedding), client_options=options("jina_ai"), model="m", input="hi")
    assert str(run.requests[-1].url) == f"{LOCAL}/embeddings"
    assert json.loads(run.requests[-1].content)["input"] == "hi"


def test_the_providers_are_the_openai_plugins_with_rerank_hooks() -> None:
    import liter_llm_openai

    registry = get_registry()
    openai_specs = {spec.name: spec for spec in liter_llm_openai.all_specs()}
    for name, dialect in liter_llm_rerank.PROVIDER_DIALECTS.items():
        spec = registry.providers[name]
        assert isinstance(spec.plugin, liter_llm_rerank.RerankHooks)
        assert spec.plugin.dialect == dialect
        assert spec.openai_wire is True
        assert "rerank" in spec.endpoints
        if name in openai_specs:
            assert spec.base_url == openai_specs[name].base_url
            assert spec.api_key_env == openai_specs[name].api_key_env
            assert spec.endpoints >= openai_specs[name].endpoints


@pytest.mark.parametrize("name", sorted(liter_llm_rerank.PROVIDER_DIALECTS))
def test_every_provider_keeps_its_openai_format_endpoints_address_and_key(
    run: Runner, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = get_registry().providers[name]
    variable = name.upper() + "_BASE_URL"
    monkeypatch.setenv(variable, LOCAL)
    if spec.api_key_env:
        monkeypatch.setenv(spec.api_key_env, "env-key-for-" + name)
    none = {"api_key": None, "model_hint": None, "base_url": None}
    if "chat" in spec.endpoints:
        chat = {"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": []}
        run("chat", answer(chat), client_options=none, model=f"{name}/m", messages=[{"role": "user", "content": "hi"}])
        assert str(run.requests[-1].url) == f"{LOCAL}/chat/completions"
    else:
        embedding = {"object": "list", "data": [{"embedding": [0.5], "index": 0}], "model": "m"}
        run("embed", answer(embedding), client_options=none, model=f"{name}/m", input="hi")
        assert str(run.requests[-1].url) == f"{LOCAL}/embeddings"
    if spec.api_key_env:
        assert run.requests[-1].headers["authorization"] == f"Bearer env-key-for-{name}"
