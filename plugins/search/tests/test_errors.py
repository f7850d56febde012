"""Error answers, bad input before any I/O, and malformed answers: always a clear LiterLlmError."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from liter_llm.errors import (
    AuthenticationError,
    BadRequestError,
    LiterLlmError,
    RateLimitedError,
    SerializationError,
)

from .conftest import KEYS, Runner, fixture_json

MODELS = {
    "tavily": "tavily/search",
    "brave": "brave/web",
    "exa": "exa/auto",
    "serper": "serper/google",
    "searxng": "searxng/default",
    "perplexity": "perplexity/search",
    "firecrawl": "firecrawl/search",
    "google_pse": "google_pse/search",
    "linkup": "linkup/standard",
    "parallel_ai": "parallel_ai/search",
    "duckduckgo": "duckduckgo/instant-answer",
}
RESULTS = {
    "tavily": ("tavily_search.json", ("results",)),
    "brave": ("brave_web_search.json", ("web", "results")),
    "exa": ("exa_search.json", ("results",)),
    "serper": ("serper_search.json", ("organic",)),
    "searxng": ("searxng_search.json", ("results",)),
    "perplexity": ("perplexity_search.json", ("results",)),
    "firecrawl": ("firecrawl_search.json", ("data", "web")),
    "google_pse": ("google_pse_search.json", ("items",)),
    "linkup": ("linkup_search.json", ("results",)),
    "parallel_ai": ("parallel_search.json", ("results",)),
    "duckduckgo": ("duckduckgo_instant_answer.json", ("Results",)),
}
URL_KEY = {"serper": "link", "google_pse": "link", "duckduckgo": "FirstURL"}
TITLE_KEY = {"linkup": "name", "duckduckgo": "Result"}
#: no upper bound on max_results (the answer is cut on our side)
UNBOUNDED = {"searxng", "linkup", "parallel_ai", "duckduckgo"}


def never(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"nothing should be sent, but {request.method} {request.url} was")


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_documented_error_bodies_are_mapped(run: Runner, provider: str) -> None:
    case = fixture_json("errors.json")[provider]
    body = case["body"]

    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(case["status"], text=body, headers={"retry-after": "7"})
        return httpx.Response(case["status"], json=body, headers={"retry-after": "7"})

    with pytest.raises(LiterLlmError) as caught:
        run("search", handler, model=MODELS[provider], query="q")
    error = caught.value
    assert error.status_code == case["status"]
    assert error.message == case["message"]
    assert error.provider == provider
    assert error.code == case.get("code")
    expected = {401: AuthenticationError, 422: BadRequestError, 429: RateLimitedError}.get(case["status"])
    if expected is not None:
        assert isinstance(error, expected)
    for key in KEYS.values():
        assert key not in str(error)
        assert key not in repr(error)


def test_rate_limit_is_retried_with_retry_after(run: Runner) -> None:
    from liter_llm.clock import ManualClock

    replies = [httpx.Response(429, json={"detail": {"error": "slow down"}}, headers={"retry-after": "3"})]

    def handler(request: httpx.Request) -> httpx.Response:
        if replies:
            return replies.pop()
        return httpx.Response(200, json=fixture_json("tavily_search.json"))

    clock = ManualClock()
    found = run(
        "search",
        handler,
        model="tavily/search",
        query="q",
        client_options={"max_retries": 1, "clock": clock},
    )
    assert len(found.results) == 2
    assert len(run.requests) == 2
    assert clock.sleeps == [3.0]


@pytest.mark.parametrize("provider", sorted(MODELS))
@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"query": "   "}, "query is empty"),
        ({"query": "q", "max_results": 0}, "max_results"),
        ({"query": "q", "max_results": 10_000}, "max_results"),
        ({"query": "q", "search_domain_filter": ["not a domain"]}, "not a domain name"),
    ],
)
def test_bad_input_is_refused_before_any_io(run: Runner, provider: str, fields: dict[str, Any], words: str) -> None:
    if provider in UNBOUNDED and fields.get("max_results") == 10_000:
        pytest.skip("no documented upper limit: the answer is cut to max_results")
    if provider == "tavily" and fields.get("max_results") == 0:
        pytest.skip("Tavily documents max_results from 0")
    with pytest.raises(BadRequestError, match=words) as caught:
        run("search", never, model=MODELS[provider], **fields)
    assert caught.value.provider == provider
    assert run.requests == []


@pytest.mark.parametrize(
    "provider", ["tavily", "brave", "exa", "serper", "perplexity", "firecrawl", "google_pse", "parallel_ai"]
)
def test_a_country_that_is_not_an_iso_code_is_refused(run: Runner, provider: str) -> None:
    bad = "Germany!" if provider == "tavily" else "DEU"
    with pytest.raises(BadRequestError, match="country"):
        run("search", never, model=MODELS[provider], query="q", country=bad)
    assert run.requests == []


def test_tavily_refuses_a_code_it_has_no_name_for(run: Runner) -> None:
    with pytest.raises(BadRequestError, match="English name"):
        run("search", never, model="tavily/search", query="q", country="XX")


@pytest.mark.parametrize("provider", ["linkup", "duckduckgo"])
def test_providers_without_a_country_parameter_refuse_country(run: Runner, provider: str) -> None:
    with pytest.raises(BadRequestError, match="no country parameter"):
        run("search", never, model=MODELS[provider], query="q", country="DE")
    assert run.requests == []


def test_parallel_refuses_a_query_over_its_limit(run: Runner) -> None:
    with pytest.raises(BadRequestError, match="200 characters"):
        run("search", never, model="parallel_ai/basic", query="x" * 201)
    assert run.requests == []


def test_parallel_refuses_kept_and_excluded_domains_together(run: Runner) -> None:
    with pytest.raises(BadRequestError, match="not both"):
        run("search", never, model="parallel_ai/basic", query="q", search_domain_filter=["a.com", "-b.com"])
    assert run.requests == []


def test_google_pse_without_an_engine_id_fails_before_io(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_PSE_CX")
    with pytest.raises(BadRequestError, match="GOOGLE_PSE_CX"):
        run("search", never, model="google_pse/search", query="q")
    with pytest.raises(BadRequestError, match="never has"):
        run("search", never, model="google_pse/bad cx&key=x", query="q")
    assert run.requests == []


def test_extra_body_that_cannot_go_in_a_query_string_is_refused(run: Runner) -> None:
    with pytest.raises(BadRequestError, match="query string"):
        run("search", never, model="brave/web", query="q", extra_body={"filter": {"nested": True}})
    assert run.requests == []


def test_firecrawl_data_not_an_object(run: Runner) -> None:
    with pytest.raises(SerializationError, match="'data'"):
        run("search", lambda r: httpx.Response(200, json={"success": True, "data": []}), model="firecrawl/s", query="q")


def test_parallel_excerpts_not_strings(run: Runner) -> None:
    data = {"search_id": "s", "results": [{"url": "https://e.com", "excerpts": [1]}]}
    with pytest.raises(SerializationError, match="excerpts"):
        run("search", lambda r: httpx.Response(200, json=data), model="parallel_ai/search", query="q")


def test_searxng_refuses_country(run: Runner) -> None:
    with pytest.raises(BadRequestError, match="no country parameter"):
        run("search", never, model="searxng/default", query="q", country="DE")
    assert run.requests == []


def test_brave_refuses_a_query_over_its_limit(run: Runner) -> None:
    with pytest.raises(BadRequestError, match="400 characters"):
        run("search", never, model="brave/web", query="x" * 395, search_domain_filter=["example.com"])
    assert run.requests == []


def test_perplexity_refuses_more_than_twenty_domains(run: Runner) -> None:
    with pytest.raises(BadRequestError, match="at most 20 domains"):
        run(
            "search", never, model="perplexity/search", query="q", search_domain_filter=[f"d{i}.com" for i in range(21)]
        )


def test_perplexity_refuses_an_allowlist_mixed_with_a_denylist(run: Runner) -> None:
    with pytest.raises(BadRequestError, match="allowlist or a denylist"):
        run("search", never, model="perplexity/search", query="q", search_domain_filter=["reuters.com", "-reddit.com"])
    assert run.requests == []


def test_an_unparsable_url_in_the_filter_is_a_bad_request(run: Runner) -> None:
    with pytest.raises(BadRequestError, match="not a domain name"):
        run("search", never, model="tavily/search", query="q", search_domain_filter=["http://[::1"])


def test_an_unparsable_result_url_is_dropped_by_our_filter(run: Runner) -> None:
    data = {"organic": [{"title": "bad", "link": "http://[::1"}, {"title": "ok", "link": "https://apple.com/x"}]}
    found = run(
        "search",
        lambda r: httpx.Response(200, json=data),
        model="serper/google",
        query="q",
        search_domain_filter=["apple.com"],
    )
    assert [r.title for r in found.results] == ["ok"]


def test_unknown_request_field_is_refused(run: Runner) -> None:
    with pytest.raises(BadRequestError, match="freshness"):
        run("search", never, model="brave/web", query="q", freshness="pd")
    assert run.requests == []


def _replace(data: Any, path: tuple[str, ...], value: Any) -> Any:
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize("provider", sorted(MODELS))
@pytest.mark.parametrize(
    "damage",
    ["not json", "a list", "results not a list", "result not an object", "url missing", "title a number"],
)
def test_malformed_answers_are_serialization_errors(run: Runner, provider: str, damage: str) -> None:
    name, path = RESULTS[provider]
    data = fixture_json(name)
    url_key = URL_KEY.get(provider, "url")
    content: bytes | None = None
    if damage == "not json":
        content = b"<html>oops</html>"
    elif damage == "a list":
        data = [data]
    elif damage == "results not a list":
        _replace(data, path, {"oops": 1})
    elif damage == "result not an object":
        _replace(data, path, ["a string"])
    elif damage == "url missing":
        first = data
        for key in path:
            first = first[key]
        del first[0][url_key]
    elif damage == "title a number":
        first = data
        for key in path:
            first = first[key]
        first[0][TITLE_KEY.get(provider, "title")] = 42

    def handler(request: httpx.Request) -> httpx.Response:
        if content is not None:
            return httpx.Response(200, content=content, headers={"content-type": "text/html"})
        return httpx.Response(200, json=data)

    with pytest.raises(SerializationError) as caught:
        run("search", handler, model=MODELS[provider], query="q")
    assert caught.value.provider == provider


def test_brave_web_not_an_object(run: Runner) -> None:
    with pytest.raises(SerializationError, match="'web'"):
        run("search", lambda r: httpx.Response(200, json={"type": "search", "web": []}), model="brave/web", query="q")


def test_oversized_answer_is_refused(run: Runner) -> None:
    big = {"results": [{"title": "t", "url": "https://e.com", "snippet": "x" * 5000}]}
    with pytest.raises(LiterLlmError):
        run(
            "search",
            lambda r: httpx.Response(200, json=big),
            model="perplexity/search",
            query="q",
            client_options={"max_response_bytes": 1024},
        )


def test_dropped_connection_is_a_liter_llm_error(run: Runner) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    with pytest.raises(LiterLlmError):
        run("search", handler, model="exa/auto", query="q")
