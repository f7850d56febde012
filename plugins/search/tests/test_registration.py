"""Routing, keys and the operations each provider offers (sync and async)."""

from __future__ import annotations

import httpx
import pytest

from liter_llm.errors import BadRequestError, EndpointNotSupportedError, LiterLlmError
from liter_llm.registry import get_registry

from .conftest import KEYS, Runner, answer

SEARCH_ONLY = {
    "tavily": "tavily/search",
    "brave": "brave/web",
    "exa": "exa/auto",
    "serper": "serper/google",
    "firecrawl": "firecrawl/search",
    "google_pse": "google_pse/search",
    "linkup": "linkup/standard",
    "parallel_ai": "parallel_ai/search",
}
FIXTURE = {
    "tavily": "tavily_search.json",
    "brave": "brave_web_search.json",
    "exa": "exa_search.json",
    "serper": "serper_search.json",
    "perplexity": "perplexity_search.json",
    "firecrawl": "firecrawl_search.json",
    "google_pse": "google_pse_search.json",
    "linkup": "linkup_search.json",
    "parallel_ai": "parallel_search.json",
}
KEY_OF = {
    "tavily": ("TAVILY_API_KEY", "authorization"),
    "brave": ("BRAVE_API_KEY", "x-subscription-token"),
    "exa": ("EXA_API_KEY", "x-api-key"),
    "serper": ("SERPER_API_KEY", "x-api-key"),
    "perplexity": ("PERPLEXITYAI_API_KEY", "authorization"),
    "firecrawl": ("FIRECRAWL_API_KEY", "authorization"),
    "google_pse": ("GOOGLE_PSE_API_KEY", "x-goog-api-key"),
    "linkup": ("LINKUP_API_KEY", "authorization"),
    "parallel_ai": ("PARALLEL_API_KEY", "x-api-key"),
}


def never(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"nothing should be sent, but {request.method} {request.url} was")


def test_the_plugin_registers_its_providers_from_its_distribution() -> None:
    from liter_llm_search import PROVIDERS

    assert len(PROVIDERS) == 11
    registry = get_registry()
    for name in PROVIDERS:
        spec = registry.get(name)
        assert spec is not None, name
        assert spec.distribution == "liter-llm-search"
        assert "search" in spec.endpoints
    assert registry.get("perplexity").endpoints == {"chat", "search"}  # type: ignore[union-attr]
    assert registry.get("exa_ai") is None  # the catalogue's made-up row is gone


@pytest.mark.parametrize("provider", [*SEARCH_ONLY, "searxng", "duckduckgo"])
@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("chat", {"messages": [{"role": "user", "content": "hi"}]}),
        ("embed", {"input": "hi"}),
        ("rerank", {"query": "q", "documents": ["a"]}),
    ],
)
def test_search_only_providers_refuse_other_operations_before_io(
    run: Runner, provider: str, method: str, kwargs: dict[str, object]
) -> None:
    model = SEARCH_ONLY.get(provider, f"{provider}/default")
    with pytest.raises(EndpointNotSupportedError):
        run(method, never, model=model, **kwargs)
    assert run.requests == []


@pytest.mark.parametrize("provider", sorted(KEY_OF))
def test_a_missing_key_fails_before_io(run: Runner, provider: str, monkeypatch: pytest.MonkeyPatch) -> None:
    variable, _ = KEY_OF[provider]
    monkeypatch.delenv(variable)
    model = SEARCH_ONLY.get(provider, "perplexity/search")
    with pytest.raises(LiterLlmError) as caught:
        run("search", never, model=model, query="q")
    assert variable in str(caught.value)
    assert run.requests == []


def test_searxng_without_a_base_url_fails_before_io(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEARXNG_BASE_URL")
    with pytest.raises(BadRequestError, match="SEARXNG_BASE_URL"):
        run("search", never, model="searxng/default", query="q")
    assert run.requests == []


@pytest.mark.parametrize("provider", sorted(KEY_OF))
def test_each_key_goes_only_to_its_own_provider(run: Runner, provider: str) -> None:
    fixture = FIXTURE[provider]
    model = SEARCH_ONLY.get(provider, "perplexity/search")
    client_key = "sk-openai-client-key-should-stay-home"
    run(
        "search",
        answer(fixture),
        model=model,
        query="q",
        client_options={"api_key": client_key, "model_hint": "openai"},
    )
    variable, header = KEY_OF[provider]
    sent = run.last.headers
    own = KEYS[variable]
    assert sent[header] in (own, f"Bearer {own}")
    everything = str(run.last.url) + " ".join(f"{k}: {v}" for k, v in sent.items()) + run.last.content.decode()
    for other in (*KEYS.values(), client_key):
        if other != own:
            assert other not in everything
    assert own not in str(run.last.url)  # never in a URL


def test_a_key_passed_to_the_client_for_a_search_provider(run: Runner) -> None:
    run(
        "search",
        answer("brave_web_search.json"),
        model="brave/web",
        query="q",
        client_options={"api_key": "brave-client-key", "model_hint": "brave"},
    )
    assert run.last.headers["x-subscription-token"] == "brave-client-key"


def test_perplexity_chat_still_speaks_the_openai_format(run: Runner) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url == "https://api.perplexity.ai/chat/completions"
        return httpx.Response(
            200,
            json={
                "id": "x",
                "object": "chat.completion",
                "created": 1,
                "model": "sonar",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
            },
        )

    reply = run("chat", handler, model="perplexity/sonar", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "hi"
    assert run.last.headers["authorization"] == f"Bearer {KEYS['PERPLEXITYAI_API_KEY']}"


def test_perplexity_offers_no_model_list(run: Runner) -> None:
    with pytest.raises(EndpointNotSupportedError):
        run("list_models", never, provider="perplexity")
    assert run.requests == []


@pytest.mark.parametrize("provider", sorted(KEY_OF))
def test_keys_never_reach_the_logs(run: Runner, provider: str, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    fixture = FIXTURE[provider]
    model = SEARCH_ONLY.get(provider, "perplexity/search")
    with caplog.at_level(logging.DEBUG, logger="liter_llm"):
        run("search", answer(fixture), model=model, query="q")
        with pytest.raises(LiterLlmError):
            run("search", lambda r: httpx.Response(401, json={"error": "bad key"}), model=model, query="q")
    assert caplog.records, "debug logging produced nothing to check"
    text = "\n".join(record.getMessage() + repr(record.__dict__) for record in caplog.records)
    for key in KEYS.values():
        assert key not in text
