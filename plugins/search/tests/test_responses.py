"""Each provider's documented answer read into SearchResponse / SearchResult (sync and async)."""

from __future__ import annotations

import httpx

from liter_llm.types import SearchResponse, SearchResult

from .conftest import Runner, answer, fixture_json


def test_tavily_results(run: Runner) -> None:
    found = run("search", answer("tavily_search.json"), model="tavily/search", query="Who is Leo Messi?")
    assert isinstance(found, SearchResponse)
    assert found.results == [
        SearchResult(
            title="Lionel Messi Facts | Britannica",
            url="https://www.britannica.com/facts/Lionel-Messi",
            snippet="Lionel Messi, an Argentine footballer, is widely regarded as one of the greatest football "
            "players of his generation.",
            date=None,
        ),
        SearchResult(
            title="Messi wins his eighth Ballon d'Or",
            url="https://www.espn.com/soccer/story/_/id/38794537/messi-ballon-dor",
            snippet="Inter Miami forward Lionel Messi won the Ballon d'Or for a record eighth time.",
            date="Mon, 30 Oct 2023 21:04:11 GMT",
        ),
    ]
    assert found.model == "search"


def test_brave_results_prefer_page_age(run: Runner) -> None:
    found = run("search", answer("brave_web_search.json"), model="brave/web", query="brave search api")
    assert [(r.title, r.url, r.date) for r in found.results] == [
        ("Brave Search API – Real-Time Web Search for AI", "https://brave.com/search/api/", "2025-01-07T11:05:01"),
        (
            "Get Started – Brave Search API Documentation",
            "https://api-dashboard.search.brave.com/app/documentation/web-search/get-started",
            "2 days ago",
        ),
    ]
    assert found.results[0].snippet.startswith("Power your agents")


def test_brave_answer_without_web_results_is_empty(run: Runner) -> None:
    found = run("search", lambda r: httpx.Response(200, json={"type": "search"}), model="brave/web", query="q")
    assert found.results == []


def test_brave_domain_filter_is_also_applied_to_the_answer(run: Runner) -> None:
    found = run(
        "search", answer("brave_web_search.json"), model="brave/web", query="q", search_domain_filter=["brave.com"]
    )
    assert len(found.results) == 2  # a subdomain of brave.com matches, as site: does
    found = run(
        "search",
        answer("brave_web_search.json"),
        model="brave/web",
        query="q",
        search_domain_filter=["search.brave.com"],
    )
    assert [r.url for r in found.results] == [
        "https://api-dashboard.search.brave.com/app/documentation/web-search/get-started"
    ]


def test_exa_results_join_highlights_and_fall_back_to_text(run: Runner) -> None:
    found = run("search", answer("exa_search.json"), model="exa/auto", query="Latest research in LLMs")
    first, second = found.results
    assert first.title == "A Comprehensive Overview of Large Language Models"
    assert first.url == "https://arxiv.org/pdf/2307.06435.pdf"
    assert first.date == "2023-11-16T01:36:32.547Z"
    assert first.snippet == (
        "Such requirements have limited their adoption... … Large language models have recently shown remarkable "
        "capabilities."
    )
    assert second.date is None
    assert second.snippet.startswith("Language modelling is the task")


def test_serper_organic_results(run: Runner) -> None:
    found = run("search", answer("serper_search.json"), model="serper/google", query="apple inc")
    assert [(r.title, r.url, r.date) for r in found.results] == [
        ("Apple", "https://www.apple.com/", None),
        ("Apple Inc. - Wikipedia", "https://en.wikipedia.org/wiki/Apple_Inc.", "Jan 9, 2024"),
    ]
    assert found.results[1].snippet.startswith("Apple Inc. is an American")


def test_serper_is_cut_to_max_results_and_filtered(run: Runner) -> None:
    found = run("search", answer("serper_search.json"), model="serper/google", query="apple inc", max_results=1)
    assert [r.url for r in found.results] == ["https://www.apple.com/"]
    found = run(
        "search",
        answer("serper_search.json"),
        model="serper/google",
        query="apple inc",
        search_domain_filter=["-apple.com"],
    )
    assert [r.url for r in found.results] == ["https://en.wikipedia.org/wiki/Apple_Inc."]


def test_searxng_results_cut_to_max_results(run: Runner) -> None:
    found = run("search", answer("searxng_search.json"), model="searxng/default", query="searxng")
    assert [(r.url, r.date) for r in found.results] == [
        ("https://github.com/searxng/searxng", None),
        ("https://docs.searxng.org/", "2024-05-02T00:00:00"),
    ]
    assert found.results[0].title.startswith("GitHub - searxng/searxng")
    assert found.results[1].snippet == "SearXNG is a free internet metasearch engine."
    found = run("search", answer("searxng_search.json"), model="searxng/default", query="searxng", max_results=1)
    assert len(found.results) == 1


def test_perplexity_results_date_or_last_updated(run: Runner) -> None:
    found = run("search", answer("perplexity_search.json"), model="perplexity/search", query="latest AI news")
    assert found.results == [
        SearchResult(
            title="The latest AI news and developments",
            url="https://example.com/ai-news",
            snippet="A roundup of this week's AI developments ...",
            date="2025-03-20",
        ),
        SearchResult(
            title="AI research roundup",
            url="https://research.example.org/roundup",
            snippet="New models and benchmarks ...",
            date="2025-08-02",
        ),
    ]


def test_unknown_fields_are_tolerated(run: Runner) -> None:
    data = fixture_json("perplexity_search.json")
    data["something_new"] = {"nested": [1, 2]}
    data["results"][0]["relevance"] = 0.9
    found = run("search", lambda r: httpx.Response(200, json=data), model="perplexity/search", query="q")
    assert len(found.results) == 2


def test_firecrawl_web_results(run: Runner) -> None:
    found = run("search", answer("firecrawl_search.json"), model="firecrawl/search", query="firecrawl")
    assert found.results == [
        SearchResult(
            title="Firecrawl - The Web Data API for AI",
            url="https://www.firecrawl.dev/",
            snippet="The web crawling, scraping, and search API for AI. Built for scale.",
            date=None,
        ),
        SearchResult(
            title="mendableai/firecrawl: Turn entire websites into LLM-ready markdown - GitHub",
            url="https://github.com/mendableai/firecrawl",
            snippet="Firecrawl is an API service that takes a URL, crawls it, and converts it into clean markdown.",
            date=None,
        ),
    ]  # the images are not web results


def test_firecrawl_filtered_on_our_side_too(run: Runner) -> None:
    found = run(
        "search",
        answer("firecrawl_search.json"),
        model="firecrawl/search",
        query="firecrawl",
        search_domain_filter=["github.com"],
    )
    assert [r.url for r in found.results] == ["https://github.com/mendableai/firecrawl"]


def test_google_pse_items(run: Runner) -> None:
    found = run("search", answer("google_pse_search.json"), model="google_pse/search", query="lectures")
    assert [(r.title, r.url, r.snippet, r.date) for r in found.results] == [
        (
            "Lectures | Computer Science",
            "https://cs.example.edu/lectures/",
            "Recorded lectures of the computer science courses, by term.",
            None,
        ),
        (
            "Open lectures - University",
            "https://www.university.example.org/open/lectures",
            "Free public lectures every Thursday evening.",
            None,
        ),
    ]


def test_google_pse_without_items_is_empty(run: Runner) -> None:
    data = fixture_json("google_pse_search.json")
    del data["items"]
    found = run("search", lambda r: httpx.Response(200, json=data), model="google_pse/search", query="zzzz")
    assert found.results == []


def test_linkup_text_results_and_no_images(run: Runner) -> None:
    found = run("search", answer("linkup_search.json"), model="linkup/standard", query="Microsoft 2024 revenue")
    assert [(r.title, r.url) for r in found.results] == [
        ("Microsoft 2024 Annual Report", "https://www.microsoft.com/investor/reports/ar24/index.html"),
        ("Microsoft FY24 results", "https://news.example.com/microsoft-fy24"),
    ]
    assert found.results[0].snippet.startswith("Highlights from fiscal year 2024")
    assert found.results[0].date is None


def test_parallel_results_join_excerpts(run: Runner) -> None:
    found = run("search", answer("parallel_search.json"), model="parallel_ai/search", query="parallel")
    assert found.results == [
        SearchResult(
            title="Sample webpage title",
            url="https://www.example.com",
            snippet="Sample excerpt 1 … Sample excerpt 2",
            date="2024-01-15",
        ),
        SearchResult(
            title="",
            url="https://parallel.ai/blog/search-api",
            snippet="Parallel Search returns ranked, LLM-optimized excerpts.",
            date=None,
        ),
    ]


def test_duckduckgo_abstract_results_and_related_topics(run: Runner) -> None:
    found = run("search", answer("duckduckgo_instant_answer.json"), model="duckduckgo/ia", query="apple inc")
    assert [(r.title, r.url) for r in found.results] == [
        ("Apple Inc.", "https://en.wikipedia.org/wiki/Apple_Inc."),
        ("Official site", "https://www.apple.com/"),
        ("Steve Jobs", "https://duckduckgo.com/Steve_Jobs"),
        ("iPhone", "https://duckduckgo.com/iPhone"),
    ]
    assert found.results[0].snippet.startswith("Apple Inc. is an American multinational")
    assert found.results[2].snippet.startswith("Steve Jobs An American businessman")
    assert all(r.date is None for r in found.results)


def test_duckduckgo_no_instant_answer_is_empty(run: Runner) -> None:
    empty = {"Abstract": "", "AbstractURL": "", "Heading": "", "RelatedTopics": [], "Results": [], "Type": ""}
    found = run("search", lambda r: httpx.Response(200, json=empty), model="duckduckgo/ia", query="how cook to pasta")
    assert found.results == []


def test_duckduckgo_filter_and_max_results_on_our_side(run: Runner) -> None:
    found = run(
        "search",
        answer("duckduckgo_instant_answer.json"),
        model="duckduckgo/ia",
        query="apple inc",
        search_domain_filter=["-wikipedia.org"],
        max_results=2,
    )
    assert [r.url for r in found.results] == ["https://www.apple.com/", "https://duckduckgo.com/Steve_Jobs"]
