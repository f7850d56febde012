"""What goes on the wire for each provider: method, URL, key header, body or query (sync and async)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import GOOGLE_CX, KEYS, SEARXNG_URL, Runner, answer

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


def test_firecrawl_posts_v2_search_with_bearer_key(run: Runner) -> None:
    run("search", answer("firecrawl_search.json"), model="firecrawl/search", **FULL)
    request = run.last
    assert request.method == "POST"
    assert str(request.url) == "https://api.firecrawl.dev/v2/search"
    assert request.headers["authorization"] == f"Bearer {KEYS['FIRECRAWL_API_KEY']}"
    assert run.body == {"query": "hello world site:example.com", "limit": 5, "country": "DE"}


def test_firecrawl_minimal_body_and_extra_body(run: Runner) -> None:
    run(
        "search",
        answer("firecrawl_search.json"),
        model="firecrawl/search",
        query="firecrawl",
        extra_body={"tbs": "qdr:w", "sources": [{"type": "web"}]},
    )
    assert run.body == {"query": "firecrawl", "tbs": "qdr:w", "sources": [{"type": "web"}]}


def test_google_pse_gets_cse_list_with_the_key_in_a_header_never_the_url(run: Runner) -> None:
    run("search", answer("google_pse_search.json"), model="google_pse/search", **FULL)
    request = run.last
    assert request.method == "GET"
    assert request.url.copy_with(query=None) == "https://www.googleapis.com/customsearch/v1"
    assert request.headers["x-goog-api-key"] == KEYS["GOOGLE_PSE_API_KEY"]
    assert "authorization" not in request.headers
    assert KEYS["GOOGLE_PSE_API_KEY"] not in str(request.url)
    assert query_of(run) == {
        "cx": [GOOGLE_CX],
        "siteSearch": ["example.com"],
        "siteSearchFilter": ["i"],
        "q": ["hello world"],
        "num": ["5"],
        "gl": ["de"],
    }


def test_google_pse_engine_id_from_the_model_and_several_domains(run: Runner) -> None:
    run(
        "search",
        answer("google_pse_search.json"),
        model="google_pse/a1b2c3d4e5f6g7h8i",
        query="lectures",
        search_domain_filter=["-pinterest.com"],
    )
    assert query_of(run) == {
        "cx": ["a1b2c3d4e5f6g7h8i"],
        "siteSearch": ["pinterest.com"],
        "siteSearchFilter": ["e"],
        "q": ["lectures"],
    }
    run(
        "search",
        answer("google_pse_search.json"),
        model="google_pse/search",
        query="lectures",
        search_domain_filter=["a.edu", "b.edu"],
        extra_body={"dateRestrict": "m1", "safe": "active"},
    )
    assert query_of(run) == {
        "cx": [GOOGLE_CX],
        "q": ["lectures site:a.edu OR site:b.edu"],
        "dateRestrict": ["m1"],
        "safe": ["active"],
    }


def test_linkup_posts_search_results_with_bearer_key(run: Runner) -> None:
    run("search", answer("linkup_search.json"), model="linkup/deep", **{**FULL, "country": None})
    request = run.last
    assert request.method == "POST"
    assert str(request.url) == "https://api.linkup.so/v1/search"
    assert request.headers["authorization"] == f"Bearer {KEYS['LINKUP_API_KEY']}"
    assert run.body == {
        "q": "hello world",
        "depth": "deep",
        "outputType": "searchResults",
        "maxResults": 5,
        "includeDomains": ["example.com"],
    }


def test_linkup_default_depth_and_exclusions(run: Runner) -> None:
    run("search", answer("linkup_search.json"), model="linkup/search", query="q", search_domain_filter=["-x.com"])
    assert run.body == {"q": "q", "depth": "standard", "outputType": "searchResults", "excludeDomains": ["x.com"]}


def test_parallel_posts_v1_search_with_x_api_key(run: Runner) -> None:
    run("search", answer("parallel_search.json"), model="parallel_ai/basic", **FULL)
    request = run.last
    assert request.method == "POST"
    assert str(request.url) == "https://api.parallel.ai/v1/search"
    assert request.headers["x-api-key"] == KEYS["PARALLEL_API_KEY"]
    assert "authorization" not in request.headers
    assert run.body == {
        "search_queries": ["hello world"],
        "mode": "basic",
        "advanced_settings": {
            "max_results": 5,
            "source_policy": {"include_domains": ["example.com"]},
            "location": "de",
        },
    }


def test_parallel_minimal_body_exclusions_and_objective_through_extra_body(run: Runner) -> None:
    run("search", answer("parallel_search.json"), model="parallel_ai/search", query="q")
    assert run.body == {"search_queries": ["q"]}
    run(
        "search",
        answer("parallel_search.json"),
        model="parallel_ai/advanced",
        query="un founding year",
        search_domain_filter=["-reddit.com"],
        extra_body={"objective": "When was the UN founded? Prefer UN sites."},
    )
    assert run.body == {
        "search_queries": ["un founding year"],
        "mode": "advanced",
        "advanced_settings": {"source_policy": {"exclude_domains": ["reddit.com"]}},
        "objective": "When was the UN founded? Prefer UN sites.",
    }


def test_duckduckgo_gets_the_instant_answer_without_a_key(run: Runner) -> None:
    run(
        "search",
        answer("duckduckgo_instant_answer.json"),
        model="duckduckgo/instant-answer",
        query="apple inc",
        max_results=2,
        search_domain_filter=["wikipedia.org"],
    )
    request = run.last
    assert request.method == "GET"
    assert request.url.copy_with(query=None) == "https://api.duckduckgo.com/"
    assert "authorization" not in request.headers
    assert not any(value in str(request.headers) for value in KEYS.values())
    assert query_of(run) == {
        "q": ["apple inc"],  # no site: operators: the filter is applied to the answer
        "format": ["json"],
        "no_html": ["1"],
        "skip_disambig": ["1"],
        "no_redirect": ["1"],
    }
