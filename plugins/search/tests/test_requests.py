"""What goes on the wire for each provider: method, URL, key header, body or query (sync and async)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import KEYS, SEARXNG_URL, Runner, answer

FULL = {"query": "hello world", "max_results": 5, "search_domain_filter": ["example.com"], "country": "de"}


def query_of(run: Runner) -> dict[str, list[str]]:
    return parse_qs(urlsplit(str(run.last.url)).query)


def test_tavily_posts_search_with_bearer_key(run: Runner) -> None:
    found = run("search", answer("tavily_search.json"), model="tavily/search", **FULL)
    request = run.last
    assert request.method == "POST"
    assert str(request.url) == "https://api.tavily.com/search"
    assert request.headers["authorization"] == f"Bearer {KEYS['TAVILY_API_KEY']}"
    assert request.headers["content-type"] == "application/json"
    assert run.body == {
        "query": "hello world",
        "max_results": 5,
        "include_domains": ["example.com"],
        "topic": "general",
        "country": "germany",
    }
    assert found.model == "search"


def test_tavily_minimal_body_and_search_depth(run: Runner) -> None:
    run("search", answer("tavily_search.json"), model="tavily/advanced", query="Who is Leo Messi?")
    assert run.body == {"query": "Who is Leo Messi?", "search_depth": "advanced"}


def test_tavily_takes_a_country_name_and_exclusions(run: Runner) -> None:
    run(
        "search",
        answer("tavily_search.json"),
        model="tavily/search",
        query="q",
        country="United States",
        search_domain_filter=["-reddit.com", "https://www.nasa.gov/"],
    )
    assert run.body["country"] == "united states"
    assert run.body["include_domains"] == ["www.nasa.gov"]
    assert run.body["exclude_domains"] == ["reddit.com"]


def test_brave_gets_web_search_with_subscription_token(run: Runner) -> None:
    run("search", answer("brave_web_search.json"), model="brave/web", **FULL)
    request = run.last
    assert request.method == "GET"
    assert request.url.copy_with(query=None) == "https://api.search.brave.com/res/v1/web/search"
    assert request.headers["x-subscription-token"] == KEYS["BRAVE_API_KEY"]
    assert "authorization" not in request.headers
    assert request.headers["accept"] == "application/json"
    assert request.content == b""
    assert query_of(run) == {"q": ["hello world site:example.com"], "count": ["5"], "country": ["DE"]}


def test_brave_minimal_query(run: Runner) -> None:
    run("search", answer("brave_web_search.json"), model="brave/web", query="brave search api")
    assert query_of(run) == {"q": ["brave search api"]}


def test_exa_posts_search_with_x_api_key(run: Runner) -> None:
    run("search", answer("exa_search.json"), model="exa/neural", **FULL)
    request = run.last
    assert request.method == "POST"
    assert str(request.url) == "https://api.exa.ai/search"
    assert request.headers["x-api-key"] == KEYS["EXA_API_KEY"]
    assert "authorization" not in request.headers
    assert run.body == {
        "query": "hello world",
        "contents": {"highlights": True},
        "numResults": 5,
        "includeDomains": ["example.com"],
        "userLocation": "DE",
        "type": "neural",
    }


def test_exa_exclusions(run: Runner) -> None:
    run("search", answer("exa_search.json"), model="exa/auto", query="q", search_domain_filter=["-x.com"])
    assert run.body == {"query": "q", "contents": {"highlights": True}, "excludeDomains": ["x.com"], "type": "auto"}


def test_serper_posts_search_with_x_api_key(run: Runner) -> None:
    run("search", answer("serper_search.json"), model="serper/google", **FULL)
    request = run.last
    assert request.method == "POST"
    assert str(request.url) == "https://google.serper.dev/search"
    assert request.headers["x-api-key"] == KEYS["SERPER_API_KEY"]
    assert "authorization" not in request.headers
    assert run.body == {"q": "hello world site:example.com", "num": 5, "gl": "de"}


def test_serper_several_domains_become_or_ed_site_operators(run: Runner) -> None:
    run(
        "search",
        answer("serper_search.json"),
        model="serper/google",
        query="apple inc",
        search_domain_filter=["apple.com", "wikipedia.org", "-pinterest.com"],
    )
    assert run.body == {"q": "apple inc site:apple.com OR site:wikipedia.org -site:pinterest.com"}


def test_searxng_gets_json_from_the_configured_instance_without_a_key(run: Runner) -> None:
    run("search", answer("searxng_search.json"), model="searxng/default", query="searxng", max_results=1)
    request = run.last
    assert request.method == "GET"
    assert request.url.copy_with(query=None) == f"{SEARXNG_URL}/search"
    assert "authorization" not in request.headers
    assert not any(value in request.headers.values() for value in KEYS.values())
    assert query_of(run) == {"q": ["searxng"], "format": ["json"]}


def test_searxng_base_url_from_the_client_config(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEARXNG_BASE_URL")
    run(
        "search",
        answer("searxng_search.json"),
        model="searxng/default",
        query="searxng",
        client_options={"base_url": "http://127.0.0.1:7777/searx", "model_hint": "searxng"},
    )
    assert run.last.url.copy_with(query=None) == "http://127.0.0.1:7777/searx/search"
    assert "authorization" not in run.last.headers


def test_perplexity_posts_search_with_bearer_key(run: Runner) -> None:
    run("search", answer("perplexity_search.json"), model="perplexity/search", **FULL)
    request = run.last
    assert request.method == "POST"
    assert str(request.url) == "https://api.perplexity.ai/search"
    assert request.headers["authorization"] == f"Bearer {KEYS['PERPLEXITYAI_API_KEY']}"
    assert run.body == {
        "query": "hello world",
        "max_results": 5,
        "search_domain_filter": ["example.com"],
        "country": "DE",
    }


def test_perplexity_search_type_and_denylist(run: Runner) -> None:
    run(
        "search",
        answer("perplexity_search.json"),
        model="perplexity/fast",
        query="q",
        search_domain_filter=["-reddit.com", "-pinterest.com"],
    )
    assert run.body == {"query": "q", "search_domain_filter": ["-reddit.com", "-pinterest.com"], "search_type": "fast"}


def test_a_request_as_a_typed_object_or_a_dict(run: Runner) -> None:
    from liter_llm.types import SearchRequest

    run("search", answer("perplexity_search.json"), SearchRequest(model="perplexity/search", query="typed"))
    assert run.body == {"query": "typed"}
    run("search", answer("perplexity_search.json"), {"model": "perplexity/search", "query": "dict"})
    assert run.body == {"query": "dict"}
