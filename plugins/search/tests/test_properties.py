"""Whatever a provider answers, the caller gets a SearchResponse or a LiterLlmError, never a bare exception."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liter_llm.errors import LiterLlmError
from liter_llm.types import SearchResponse

from .conftest import Runner

MODELS = ["tavily/search", "brave/web", "exa/auto", "serper/google", "searxng/default", "perplexity/search"]
MODELS += ["firecrawl/search", "google_pse/search", "linkup/standard", "parallel_ai/search", "duckduckgo/ia"]
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
FIELDS = ["title", "url", "link", "content", "snippet", "description", "date", "publishedDate", "page_age", "age"]
FIELDS += ["highlights", "text", "summary", "published_date", "last_updated"]
FIELDS += ["name", "type", "excerpts", "publish_date", "FirstURL", "Text", "Result", "Topics"]
keys = st.sampled_from(FIELDS)
results = st.lists(st.dictionaries(keys, json_values, max_size=6), max_size=4)
answers = (
    json_values
    | st.fixed_dictionaries({"results": results})
    | st.fixed_dictionaries({"organic": results})
    | st.fixed_dictionaries({"web": st.fixed_dictionaries({"results": results})})
    | st.fixed_dictionaries({"data": st.fixed_dictionaries({"web": results})})
    | st.fixed_dictionaries({"items": results})
    | st.fixed_dictionaries({"AbstractURL": json_values, "Results": results, "RelatedTopics": results})
)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("model", MODELS)
# the autouse ``keys`` fixture only sets environment variables, the same for every example
@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=answers, domains=st.sampled_from([[], ["example.com"], ["-example.com"]]))
def test_any_answer_is_a_response_or_a_clear_error(mode: str, model: str, data: object, domains: list[str]) -> None:
    run = Runner(mode)
    try:
        found = run(
            "search",
            lambda r: httpx.Response(200, json=data),
            model=model,
            query="q",
            max_results=3,
            search_domain_filter=domains,
        )
    except LiterLlmError:
        return
    assert isinstance(found, SearchResponse)
    assert len(found.results) <= 3
    for result in found.results:
        assert isinstance(result.title, str)
        assert isinstance(result.url, str)
        assert isinstance(result.snippet, str)
        assert result.date is None or isinstance(result.date, str)
