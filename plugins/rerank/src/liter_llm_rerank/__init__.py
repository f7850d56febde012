"""Rerank beyond Cohere: one translation per rerank wire, shared by the providers that speak it.

Dialects (see ``docs/providers/rerank.md`` for the documentation pages each is checked against):

* ``cohere-compatible`` -- ``POST {base}/rerank`` with ``model``, ``query``, ``documents``
  (strings), ``top_n``, ``return_documents``; the answer's ``results`` (or ``data``) hold
  ``index``, ``relevance_score`` and optionally ``document`` (``{"text"}`` or a string).
  Jina, vLLM, llama.cpp's server, Infinity, LocalAI, Fireworks.
* ``voyage`` -- as above but ``top_k`` for ``top_n``, and the answer's list is ``data``.
* ``nim`` -- NVIDIA NIM's ranking API: ``{"model", "query": {"text"}, "passages": [{"text"}]}``
  to ``{base}/ranking`` (self-hosted) or the hosted ``/v1/retrieval/{model}/reranking``;
  the answer is ``rankings`` of ``index`` and ``logit``.
* ``deepinfra`` -- DeepInfra's inference API: ``{"queries": [query, ...], "documents": [...]}``
  (the query once per document) to
  ``/v1/inference/{model}``; the answer's ``scores`` are in document order.

Every answer becomes a ``RerankResponse`` whose ``results`` are sorted by relevance (best
first, ties by the original ``index``), cut to ``top_n`` when the provider returned more, with
``document`` filled from the request when ``return_documents`` is true.  The providers keep
their other endpoints exactly as liter-llm-openai defines them (``openai_wire=True``): this
plugin builds only ``rerank``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import attrs
import httpx

from liter_llm import types as t
from liter_llm.errors import BadRequestError, SerializationError
from liter_llm.hookspecs import hookimpl
from liter_llm.providers import ProviderSpec
from liter_llm.wire import dump_json, load_json, merge_headers, url_for, with_extra_body

if TYPE_CHECKING:
    from liter_llm import Call

__all__ = [
    "DIALECTS",
    "NIM_HOSTED_BASE_URL",
    "PROVIDER_DIALECTS",
    "RerankHooks",
    "build_rerank_request",
    "document_texts",
    "infinity_spec",
    "parse_rerank_response",
    "rank",
    "register_providers",
]

#: The rerank wires this plugin speaks.
DIALECTS = frozenset({"cohere-compatible", "voyage", "nim", "deepinfra"})

#: Provider name -> its rerank dialect.  Every name but ``infinity`` is a provider of
#: liter-llm-openai (an explicit local server or a catalogue row), re-registered with these hooks.
PROVIDER_DIALECTS: Mapping[str, str] = {
    "jina_ai": "cohere-compatible",
    "vllm": "cohere-compatible",
    "hosted_vllm": "cohere-compatible",
    "llamacpp": "cohere-compatible",
    "localai": "cohere-compatible",
    "fireworks_ai": "cohere-compatible",
    "infinity": "cohere-compatible",
    "voyage": "voyage",
    "nvidia_nim": "nim",
    "deepinfra": "deepinfra",
}

#: The base URL of NVIDIA's hosted API catalogue (chat, embeddings); its rerankers live elsewhere.
NIM_HOSTED_BASE_URL = "https://integrate.api.nvidia.com/v1"
_NIM_HOSTED_RERANK = "https://ai.api.nvidia.com/v1/retrieval/{model}/reranking"


def document_texts(documents: Sequence[Any]) -> list[str]:
    """The texts of rerank documents (strings or ``{"text": ...}``)."""
    return [doc if isinstance(doc, str) else doc.text for doc in documents]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def rank(
    scored: Sequence[tuple[int, float]], request: t.RerankRequest, *, returned: Mapping[int, str] | None = None
) -> list[t.RerankResult]:
    """``(index, score)`` pairs as results: best first, ties by index, cut to ``top_n``.

    ``document`` is set when the request asked for documents: the provider's text when it sent
    one (``returned``), else the request's own.
    """
    texts = document_texts(request.documents)
    ordered = sorted(scored, key=lambda pair: (-pair[1], pair[0]))
    if request.top_n is not None:
        ordered = ordered[: max(request.top_n, 0)]
    results = []
    for index, score in ordered:
        document = None
        if request.return_documents:
            document = t.RerankResultDocument(text=(returned or {}).get(index, texts[index]))
        results.append(t.RerankResult(index=index, relevance_score=score, document=document))
    return results


def _bad(provider: str, message: str) -> SerializationError:
    return SerializationError(message, provider=provider)


def _scored_list(
    items: Any, request: t.RerankRequest, *, provider: str, where: str, score_key: str
) -> tuple[list[tuple[int, float]], dict[int, str]]:
    if not isinstance(items, list):
        raise _bad(provider, f"{where}: expected a list")
    count = len(request.documents)
    scored: list[tuple[int, float]] = []
    returned: dict[int, str] = {}
    seen: set[int] = set()
    for position, item in enumerate(items):
        place = f"{where}[{position}]"
        if not isinstance(item, Mapping):
            raise _bad(provider, f"{place}: expected an object")
        index, score = item.get("index"), item.get(score_key)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count or index in seen:
            raise _bad(provider, f"{place}.index: {index!r} is not the index of a document sent (once)")
        if not _number(score) or score is None:
            raise _bad(provider, f"{place}.{score_key}: expected a number, got {score!r}")
        seen.add(index)
        scored.append((index, float(score)))
        document = item.get("document")
        if isinstance(document, Mapping) and isinstance(document.get("text"), str):
            returned[index] = document["text"]
        elif isinstance(document, str):
            returned[index] = document
    return scored, returned


def parse_rerank_response(dialect: str, data: Any, request: t.RerankRequest, *, provider: str) -> t.RerankResponse:
    """A provider's rerank answer, in ``dialect``, as a sorted ``RerankResponse``."""
    if not isinstance(data, Mapping):
        raise _bad(provider, "the rerank answer is not a JSON object")
    meta: dict[str, Any] = {}
    for key in ("model", "usage", "meta", "input_tokens"):
        if key in data:
            meta[key] = data[key]
    if dialect == "nim":
        scored, returned = _scored_list(
            data.get("rankings"), request, provider=provider, where="rankings", score_key="logit"
        )
    elif dialect == "deepinfra":
        scores = data.get("scores")
        if not isinstance(scores, list) or len(scores) != len(request.documents) or not all(map(_number, scores)):
            raise _bad(provider, "scores: expected one number per document sent")
        scored, returned = [(i, float(s)) for i, s in enumerate(scores)], {}
    else:
        key = "data" if dialect == "voyage" or ("results" not in data and "data" in data) else "results"
        scored, returned = _scored_list(
            data.get(key), request, provider=provider, where=key, score_key="relevance_score"
        )
    return t.RerankResponse(
        id=data.get("id") if isinstance(data.get("id"), str) else None,
        results=rank(scored, request, returned=returned),
        meta=meta or None,
    )


def _rerank_url(dialect: str, call: Call, model: str) -> str:
    if dialect == "nim":
        if call.base_url.rstrip("/") == NIM_HOSTED_BASE_URL:
            # the hosted path spells the model's dots as underscores (llama-3.2 -> llama-3_2)
            return _NIM_HOSTED_RERANK.format(model=quote(model.replace(".", "_"), safe="/"))
        return url_for(call, "/ranking")
    if dialect == "deepinfra":
        base = call.base_url[: -len("/openai")] if call.base_url.endswith("/openai") else call.base_url
        return f"{base}/inference/{quote(model, safe='/')}"
    return url_for(call, "/rerank")


def build_rerank_request(dialect: str, call: Call) -> httpx.Request:
    """The HTTP request of a rerank call in ``dialect`` (``extra_body`` merged into the body's top level)."""
    request: t.RerankRequest = call.request
    provider = call.provider.name
    if not request.documents:
        raise BadRequestError("documents: at least one document is required", provider=provider)
    model = call.model or request.model
    texts = document_texts(request.documents)
    body: dict[str, Any]
    if dialect == "nim":
        body = {"model": model, "query": {"text": request.query}, "passages": [{"text": x} for x in texts]}
    elif dialect == "deepinfra":
        # one query per document: the API scores (queries[i], documents[i]) pairs
        body = {"queries": [request.query] * len(texts), "documents": texts}
    else:
        body = {"model": model, "query": request.query, "documents": texts}
        if request.top_n is not None:
            body["top_k" if dialect == "voyage" else "top_n"] = request.top_n
        if request.return_documents is not None:
            body["return_documents"] = request.return_documents
    return httpx.Request(
        "POST",
        _rerank_url(dialect, call, model),
        content=dump_json(with_extra_body(call, body)),
        headers=merge_headers(call, {"content-type": "application/json", "accept": "application/json"}),
    )


class RerankHooks:
    """Provider hooks that build and read ``rerank`` in one dialect; every other operation is
    left to the core's OpenAI wire format (the provider is registered with ``openai_wire=True``)."""

    def __init__(self, dialect: str) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"unknown rerank dialect {dialect!r}")
        self.dialect = dialect

    def __repr__(self) -> str:
        return f"RerankHooks({self.dialect!r})"

    @hookimpl
    def build_request(self, call: Call) -> httpx.Request | None:
        """Build a rerank call; ``None`` (the OpenAI default) for anything else."""
        if call.operation != "rerank":
            return None
        return build_rerank_request(self.dialect, call)

    @hookimpl
    def parse_response(self, call: Call, response: httpx.Response) -> t.RerankResponse | None:
        """Read a rerank answer; ``None`` (the OpenAI default) for anything else."""
        if call.operation != "rerank":
            return None
        return parse_rerank_response(
            self.dialect, load_json(call, response.content), call.request, provider=call.provider.name
        )


def infinity_spec() -> ProviderSpec:
    """Infinity (michaelfeil/infinity): a local server of embeddings and rerankers, port 7997, no key."""
    return ProviderSpec(
        name="infinity",
        display_name="Infinity",
        base_url="http://localhost:7997",
        api_key_env="INFINITY_API_KEY",
        requires_api_key=False,
        endpoints=frozenset({"embed", "rerank", "models"}),
    )


def _specs() -> list[ProviderSpec]:
    import liter_llm_openai

    known = {spec.name: spec for spec in liter_llm_openai.all_specs()}
    known["infinity"] = infinity_spec()
    specs = []
    for name, dialect in PROVIDER_DIALECTS.items():
        base = known.get(name)
        if base is None:
            continue  # a row the catalogue no longer has
        endpoints = frozenset(base.endpoints | {"rerank"})
        specs.append(
            attrs.evolve(base, endpoints=endpoints, plugin=RerankHooks(dialect), openai_wire=True, distribution=None)
        )
    return specs


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Re-register the rerank providers of liter-llm-openai with rerank hooks, and add ``infinity``."""
    for spec in _specs():
        register(spec)
