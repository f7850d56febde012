"""One native translation per search provider: ``SearchRequest`` out, ``SearchResponse`` back.

Each translation is a pair of functions: ``build(call) -> httpx.Request`` (every check that can fail
runs here, before anything is sent) and ``parse(call, response) -> SearchResponse``.  The pages each
follows are listed in ``docs/providers/search.md``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from html import unescape
from typing import TYPE_CHECKING, Any

import attrs
import httpx

from liter_llm import types as t
from liter_llm.errors import SerializationError
from liter_llm.wire import dump_json, merge_headers, url_for, with_extra_body
from liter_llm_search._common import (
    Domains,
    answer_object,
    bad_request,
    country_code,
    domains,
    max_results,
    request_of,
    result_list,
    search_response,
    site_operators,
    text_field,
)

if TYPE_CHECKING:
    from liter_llm import Call

_JSON = {"content-type": "application/json", "accept": "application/json"}
_STATE = "liter_llm_search.filters"  # call.state: the domain filter we apply to the answer ourselves


def _post(call: Call, path: str, body: dict[str, Any]) -> httpx.Request:
    """A JSON ``POST``; the request's ``extra_body`` is merged into the body's top level (it wins)."""
    body = with_extra_body(call, body)
    return httpx.Request("POST", url_for(call, path), content=dump_json(body), headers=merge_headers(call, _JSON))


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _query_value(call: Call, key: str, value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return value
    if isinstance(value, list) and all(_scalar(item) for item in value):
        return list(value)
    raise bad_request(call, f"extra_body[{key!r}] cannot be sent in a query string (a {type(value).__name__})")


def _get(call: Call, path: str, params: dict[str, Any]) -> httpx.Request:
    """A ``GET`` with query parameters; ``extra_body`` keys become query parameters (they win)."""
    extra = call.request.extra_body or {}
    if not isinstance(extra, dict):
        raise bad_request(call, "extra_body must be an object")
    params = {**params, **{key: _query_value(call, key, value) for key, value in extra.items() if value is not None}}
    headers = merge_headers(call, {"accept": "application/json"})
    return httpx.Request("GET", url_for(call, path), params=params, headers=headers)


def _approximate(call: Call, query: str, filters: Domains) -> str:
    """Add ``site:`` operators for a provider without a domain filter; the answer is filtered too."""
    if not filters.include and not filters.exclude:
        return query
    call.state[_STATE] = filters
    return f"{query} {site_operators(filters)}"


def _filters(call: Call) -> Domains | None:
    value = call.state.get(_STATE)
    return value if isinstance(value, Domains) else None


# ---------------------------------------------------------------------------
# Tavily: POST /search, bearer key, JSON body
# ---------------------------------------------------------------------------

#: Tavily's ``country`` takes an English country name; the ISO codes we map (others: pass the name).
TAVILY_COUNTRIES: dict[str, str] = {
    "AE": "united arab emirates", "AR": "argentina", "AT": "austria", "AU": "australia", "BD": "bangladesh",
    "BE": "belgium", "BG": "bulgaria", "BR": "brazil", "CA": "canada", "CH": "switzerland", "CL": "chile",
    "CN": "china", "CO": "colombia", "CZ": "czech republic", "DE": "germany", "DK": "denmark", "EG": "egypt",
    "ES": "spain", "FI": "finland", "FR": "france", "GB": "united kingdom", "GR": "greece", "HU": "hungary",
    "ID": "indonesia", "IE": "ireland", "IL": "israel", "IN": "india", "IT": "italy", "JP": "japan",
    "KE": "kenya", "KR": "south korea", "MX": "mexico", "MY": "malaysia", "NG": "nigeria", "NL": "netherlands",
    "NO": "norway", "NZ": "new zealand", "PE": "peru", "PH": "philippines", "PK": "pakistan", "PL": "poland",
    "PT": "portugal", "RO": "romania", "RU": "russia", "SA": "saudi arabia", "SE": "sweden", "SG": "singapore",
    "TH": "thailand", "TR": "turkey", "TW": "taiwan", "UA": "ukraine", "US": "united states", "VN": "vietnam",
    "ZA": "south africa",
}  # fmt: skip
TAVILY_DEPTHS = frozenset({"basic", "advanced", "fast", "ultra-fast"})


def _tavily_country(call: Call, req: t.SearchRequest) -> str | None:
    if req.country is None:
        return None
    given = req.country.strip()
    if len(given) > 2 and all(c.isalpha() or c == " " for c in given):
        return given.lower()  # already a country name, as Tavily takes it
    code = country_code(call, req)
    assert code is not None
    name = TAVILY_COUNTRIES.get(code)
    if name is None:
        raise bad_request(
            call, f"country {given!r} has no Tavily country name here; pass the English name (e.g. 'united states')"
        )
    return name


def tavily_build(call: Call) -> httpx.Request:
    """``POST /search`` (docs.tavily.com: API reference, Search)."""
    req = request_of(call)
    body: dict[str, Any] = {"query": req.query}
    count = max_results(call, req, 20, minimum=0)
    if count is not None:
        body["max_results"] = count
    filters = domains(call, req)
    if filters.include:
        body["include_domains"] = list(filters.include)
    if filters.exclude:
        body["exclude_domains"] = list(filters.exclude)
    country = _tavily_country(call, req)
    if country is not None:
        body["topic"] = "general"  # Tavily honours country only for the general topic
        body["country"] = country
    if call.model in TAVILY_DEPTHS:
        body["search_depth"] = call.model
    return _post(call, "/search", body)


def tavily_parse(call: Call, response: httpx.Response) -> t.SearchResponse:
    """``{"query", "results": [{"title", "url", "content", "score", "published_date"?}], ...}``."""
    data = answer_object(call, response)
    items = result_list(call, data.get("results"), "results")
    return search_response(
        call,
        items,
        url="url",
        snippet=lambda item: text_field(call, item, "content"),
        date=lambda item: text_field(call, item, "published_date"),
    )


# ---------------------------------------------------------------------------
# Brave: GET /web/search?q=..., X-Subscription-Token
# ---------------------------------------------------------------------------

BRAVE_QUERY_LIMIT = 400  # characters (and 50 words), from Brave's API reference


def brave_build(call: Call) -> httpx.Request:
    """``GET /res/v1/web/search`` (api-dashboard.search.brave.com: Web search)."""
    req = request_of(call)
    query = _approximate(call, req.query, domains(call, req))
    if len(query) > BRAVE_QUERY_LIMIT or len(query.split()) > 50:
        raise bad_request(call, f"the query (with its site: operators) is over Brave's {BRAVE_QUERY_LIMIT} characters")
    params: dict[str, Any] = {"q": query}
    count = max_results(call, req, 20)
    if count is not None:
        params["count"] = count
    country = country_code(call, req)
    if country is not None:
        params["country"] = country
    return _get(call, "/web/search", params)


def brave_parse(call: Call, response: httpx.Response) -> t.SearchResponse:
    """``{"type": "search", "web": {"results": [{"title", "url", "description", "page_age"?, "age"?}]}}``."""
    data = answer_object(call, response)
    web = data.get("web")
    if web is not None and not isinstance(web, dict):
        raise SerializationError("'web' in the brave search answer is not an object", provider=call.provider.name)
    items = result_list(call, (web or {}).get("results"), "web.results")
    return search_response(
        call,
        items,
        url="url",
        snippet=lambda item: text_field(call, item, "description"),
        date=lambda item: text_field(call, item, "page_age") or text_field(call, item, "age"),
        filters=_filters(call),
    )


# ---------------------------------------------------------------------------
# Exa: POST /search, x-api-key, camelCase JSON
# ---------------------------------------------------------------------------

EXA_TYPES = frozenset({"auto", "neural", "fast", "deep", "deep-reasoning", "instant"})


def exa_build(call: Call) -> httpx.Request:
    """``POST /search`` (docs.exa.ai: API reference, Search)."""
    req = request_of(call)
    body: dict[str, Any] = {"query": req.query, "contents": {"highlights": True}}
    count = max_results(call, req, 100)
    if count is not None:
        body["numResults"] = count
    filters = domains(call, req, limit=1200)
    if filters.include:
        body["includeDomains"] = list(filters.include)
    if filters.exclude:
        body["excludeDomains"] = list(filters.exclude)
    country = country_code(call, req)
    if country is not None:
        body["userLocation"] = country
    if call.model in EXA_TYPES:
        body["type"] = call.model
    return _post(call, "/search", body)


def _exa_snippet(call: Call, item: dict[str, Any]) -> str | None:
    highlights = item.get("highlights")
    if isinstance(highlights, list) and all(isinstance(h, str) for h in highlights) and highlights:
        return " … ".join(highlights)
    return text_field(call, item, "summary") or text_field(call, item, "text")


def exa_parse(call: Call, response: httpx.Response) -> t.SearchResponse:
    """``{"requestId", "results": [{"id", "title", "url", "publishedDate", "highlights", ...}]}``."""
    data = answer_object(call, response)
    items = result_list(call, data.get("results"), "results")
    return search_response(
        call,
        items,
        url="url",
        snippet=lambda item: _exa_snippet(call, item),
        date=lambda item: text_field(call, item, "publishedDate"),
    )


# ---------------------------------------------------------------------------
# Serper: POST /search, X-API-KEY, Google's parameters
# ---------------------------------------------------------------------------


def serper_build(call: Call) -> httpx.Request:
    """``POST /search`` on google.serper.dev (serper.dev playground and API examples)."""
    req = request_of(call)
    body: dict[str, Any] = {"q": _approximate(call, req.query, domains(call, req))}
    count = max_results(call, req, 100)
    if count is not None:
        body["num"] = count
    country = country_code(call, req)
    if country is not None:
        body["gl"] = country.lower()
    return _post(call, "/search", body)


def serper_parse(call: Call, response: httpx.Response) -> t.SearchResponse:
    """``{"searchParameters", "organic": [{"title", "link", "snippet", "date"?, "position"}], ...}``."""
    data = answer_object(call, response)
    items = result_list(call, data.get("organic"), "organic")
    return search_response(
        call,
        items,
        url="link",
        snippet=lambda item: text_field(call, item, "snippet"),
        date=lambda item: text_field(call, item, "date"),
        filters=_filters(call),
    )


# ---------------------------------------------------------------------------
# SearXNG: GET /search?q=...&format=json, self-hosted, no key
# ---------------------------------------------------------------------------


def searxng_build(call: Call) -> httpx.Request:
    """``GET /search?format=json`` (docs.searxng.org: Search API)."""
    req = request_of(call)
    if req.country is not None:
        raise bad_request(call, "SearXNG has no country parameter (only a language); leave country unset for searxng")
    max_results(call, req, None)  # no limit in the API: we cut the answer to max_results ourselves
    query = _approximate(call, req.query, domains(call, req))
    return _get(call, "/search", {"q": query, "format": "json"})


def searxng_parse(call: Call, response: httpx.Response) -> t.SearchResponse:
    """``{"query", "number_of_results", "results": [{"url", "title", "content", "publishedDate"?, ...}]}``."""
    data = answer_object(call, response)
    items = result_list(call, data.get("results"), "results")
    return search_response(
        call,
        items,
        url="url",
        snippet=lambda item: text_field(call, item, "content"),
        date=lambda item: text_field(call, item, "publishedDate"),
        filters=_filters(call),
    )


# ---------------------------------------------------------------------------
# Perplexity: POST /search, bearer key (its chat stays in the OpenAI format)
# ---------------------------------------------------------------------------

PERPLEXITY_TYPES = frozenset({"web", "fast"})


def perplexity_build(call: Call) -> httpx.Request:
    """``POST /search`` (docs.perplexity.ai: API reference, Search)."""
    req = request_of(call)
    body: dict[str, Any] = {"query": req.query}
    count = max_results(call, req, 20)
    if count is not None:
        body["max_results"] = count
    filters = domains(call, req, limit=20)
    if filters.include and filters.exclude:
        raise bad_request(
            call, "Perplexity takes an allowlist or a denylist ('-domain'), never both in one search_domain_filter"
        )
    if filters.include or filters.exclude:
        body["search_domain_filter"] = [*filters.include, *(f"-{d}" for d in filters.exclude)]
    country = country_code(call, req)
    if country is not None:
        body["country"] = country
    if call.model in PERPLEXITY_TYPES:
        body["search_type"] = call.model
    return _post(call, "/search", body)


def perplexity_parse(call: Call, response: httpx.Response) -> t.SearchResponse:
    """``{"id", "results": [{"title", "url", "snippet", "date"?, "last_updated"?}]}``."""
    data = answer_object(call, response)
    items = result_list(call, data.get("results"), "results")
    return search_response(
        call,
        items,
        url="url",
        snippet=lambda item: text_field(call, item, "snippet"),
        date=lambda item: text_field(call, item, "date") or text_field(call, item, "last_updated"),
    )


# ---------------------------------------------------------------------------
# DuckDuckGo: the keyless Instant Answer API (GET /?q=...&format=json), not a web results list
# ---------------------------------------------------------------------------

_ANCHOR = re.compile(r"<a\s[^>]*>(.*?)</a>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")


def duckduckgo_build(call: Call) -> httpx.Request:
    """``GET https://api.duckduckgo.com/?q=...&format=json`` (duckduckgo.com/api: the Instant Answer API)."""
    req = request_of(call)
    if req.country is not None:
        raise bad_request(call, "DuckDuckGo's Instant Answer API has no country parameter; leave country unset")
    max_results(call, req, None)  # no limit parameter: the answer is cut to max_results on our side
    filters = domains(call, req)
    if filters.include or filters.exclude:
        call.state[_STATE] = filters  # filtered on our side only: site: would turn the topic lookup into no answer
    params = {"q": req.query, "format": "json", "no_html": 1, "skip_disambig": 1, "no_redirect": 1}
    return _get(call, "/", params)


def _ddg_title(call: Call, item: dict[str, Any]) -> str | None:
    html = text_field(call, item, "Result")
    if html:
        found = _ANCHOR.search(html)
        if found:
            title = unescape(_TAGS.sub("", found.group(1))).strip()
            if title:
                return title
    return text_field(call, item, "Text")


def _ddg_topics(call: Call, value: Any, where: str) -> list[dict[str, Any]]:
    """``RelatedTopics``: topics, and groups ``{"Name", "Topics": [...]}`` flattened in order."""
    items: list[dict[str, Any]] = []
    for item in result_list(call, value, where):
        if "Topics" in item:
            items.extend(_ddg_topics(call, item["Topics"], f"{where}[].Topics"))
        elif item.get("FirstURL") != "":  # an entry with an empty URL has nothing to link to
            items.append(item)
    return items


def duckduckgo_parse(call: Call, response: httpx.Response) -> t.SearchResponse:
    """The abstract (``Heading``, ``AbstractURL``, ``AbstractText``), then ``Results[]``, then ``RelatedTopics[]``."""
    data = answer_object(call, response)
    items: list[dict[str, Any]] = []
    abstract_url = text_field(call, data, "AbstractURL")
    if abstract_url:
        items.append(
            {
                "FirstURL": abstract_url,
                "Text": text_field(call, data, "AbstractText") or "",
                "Heading": text_field(call, data, "Heading") or "",
            }
        )
    items.extend(item for item in result_list(call, data.get("Results"), "Results") if item.get("FirstURL") != "")
    items.extend(_ddg_topics(call, data.get("RelatedTopics"), "RelatedTopics"))
    for item in items:
        if "Heading" not in item:
            item["Heading"] = _ddg_title(call, item) or ""
    return search_response(
        call,
        items,
        url="FirstURL",
        title="Heading",
        snippet=lambda item: text_field(call, item, "Text"),
        date=lambda item: None,
        filters=_filters(call),
    )


# ---------------------------------------------------------------------------
# Firecrawl: POST /v2/search, bearer key
# ---------------------------------------------------------------------------


def firecrawl_build(call: Call) -> httpx.Request:
    """``POST /v2/search`` (docs.firecrawl.dev: API reference, Search)."""
    req = request_of(call)
    body: dict[str, Any] = {"query": _approximate(call, req.query, domains(call, req))}
    count = max_results(call, req, 100)
    if count is not None:
        body["limit"] = count
    country = country_code(call, req)
    if country is not None:
        body["country"] = country
    return _post(call, "/v2/search", body)


def firecrawl_parse(call: Call, response: httpx.Response) -> t.SearchResponse:
    """``{"success", "data": {"web": [{"url", "title", "description", "position"}], "news"?, "images"?}}``."""
    data = answer_object(call, response)
    found = data.get("data")
    if found is not None and not isinstance(found, dict):
        raise SerializationError("'data' in the firecrawl search answer is not an object", provider=call.provider.name)
    items = result_list(call, (found or {}).get("web"), "data.web")
    return search_response(
        call,
        items,
        url="url",
        snippet=lambda item: text_field(call, item, "description"),
        date=lambda item: None,
        filters=_filters(call),
    )


# ---------------------------------------------------------------------------
# Google Programmable Search: GET /customsearch/v1?cx=...&q=..., the key in the x-goog-api-key header
# ---------------------------------------------------------------------------

GOOGLE_PSE_CX_ENV = "GOOGLE_PSE_CX"
#: model names that say "the engine id comes from GOOGLE_PSE_CX"
GOOGLE_PSE_DEFAULT_NAMES = frozenset({"", "search", "default", "web"})
_CX = re.compile(r"[A-Za-z0-9:_-]{5,64}")


def google_pse_cx(call: Call) -> str:
    """The search engine id: the model name (``google_pse/<cx>``), else ``GOOGLE_PSE_CX``."""
    name = call.model or ""
    cx = os.environ.get(GOOGLE_PSE_CX_ENV, "").strip() if name in GOOGLE_PSE_DEFAULT_NAMES else name
    if not cx:
        raise bad_request(
            call, f"no search engine id: use model 'google_pse/<cx>' or set {GOOGLE_PSE_CX_ENV} (the 'cx' parameter)"
        )
    if _CX.fullmatch(cx) is None:
        raise bad_request(call, "the search engine id (cx) has characters a Programmable Search engine id never has")
    return cx


def google_pse_build(call: Call) -> httpx.Request:
    """``GET https://www.googleapis.com/customsearch/v1`` (developers.google.com: Custom Search JSON API, cse.list)."""
    req = request_of(call)
    count = max_results(call, req, 10)
    filters = domains(call, req)
    query = req.query
    params: dict[str, Any] = {"cx": google_pse_cx(call)}
    single = [*filters.include, *filters.exclude]
    if len(single) == 1:  # one domain: the API's own siteSearch, kept ("i") or dropped ("e")
        params["siteSearch"] = single[0]
        params["siteSearchFilter"] = "i" if filters.include else "e"
        call.state[_STATE] = filters
    else:
        query = _approximate(call, query, filters)
    params["q"] = query
    if count is not None:
        params["num"] = count
    country = country_code(call, req)
    if country is not None:
        params["gl"] = country.lower()
    return _get(call, "", params)


def google_pse_parse(call: Call, response: httpx.Response) -> t.SearchResponse:
    """``{"kind": "customsearch#search", "items": [{"title", "link", "snippet", "displayLink", ...}]}``."""
    data = answer_object(call, response)
    items = result_list(call, data.get("items"), "items")  # no "items" at all when nothing was found
    return search_response(
        call,
        items,
        url="link",
        snippet=lambda item: text_field(call, item, "snippet"),
        date=lambda item: None,
        filters=_filters(call),
    )


# ---------------------------------------------------------------------------
# Linkup: POST /v1/search, bearer key, outputType searchResults
# ---------------------------------------------------------------------------

LINKUP_DEPTHS = frozenset({"fast", "standard", "deep"})


def linkup_build(call: Call) -> httpx.Request:
    """``POST /v1/search`` with ``outputType: searchResults`` (docs.linkup.so: API reference, Search)."""
    req = request_of(call)
    if req.country is not None:
        raise bad_request(call, "Linkup has no country parameter (its docs suggest naming the country in the query)")
    depth = call.model if call.model in LINKUP_DEPTHS else "standard"
    body: dict[str, Any] = {"q": req.query, "depth": depth, "outputType": "searchResults"}
    count = max_results(call, req, None)
    if count is not None:
        body["maxResults"] = count
    filters = domains(call, req)
    if filters.include:
        body["includeDomains"] = list(filters.include)
    if filters.exclude:
        body["excludeDomains"] = list(filters.exclude)
    return _post(call, "/search", body)


def linkup_parse(call: Call, response: httpx.Response) -> t.SearchResponse:
    """``{"results": [{"type": "text", "name", "url", "content", "favicon"?} | {"type": "image", ...}]}``."""
    data = answer_object(call, response)
    items = [item for item in result_list(call, data.get("results"), "results") if item.get("type") != "image"]
    return search_response(
        call,
        items,
        url="url",
        title="name",
        snippet=lambda item: text_field(call, item, "content"),
        date=lambda item: None,
    )


# ---------------------------------------------------------------------------
# Parallel: POST /v1/search, x-api-key, search_queries + advanced_settings
# ---------------------------------------------------------------------------

PARALLEL_MODES = frozenset({"basic", "advanced"})
PARALLEL_QUERY_LIMIT = 200  # characters per search query
PARALLEL_DOMAIN_LIMIT = 200  # include and exclude lists together


def parallel_build(call: Call) -> httpx.Request:
    """``POST /v1/search`` (docs.parallel.ai: API reference, Search)."""
    req = request_of(call)
    if len(req.query) > PARALLEL_QUERY_LIMIT:
        raise bad_request(call, f"Parallel takes search queries of at most {PARALLEL_QUERY_LIMIT} characters")
    body: dict[str, Any] = {"search_queries": [req.query]}
    if call.model in PARALLEL_MODES:
        body["mode"] = call.model
    settings: dict[str, Any] = {}
    count = max_results(call, req, None)
    if count is not None:
        settings["max_results"] = count
    filters = domains(call, req, limit=PARALLEL_DOMAIN_LIMIT)
    if filters.include and filters.exclude:
        raise bad_request(
            call, "Parallel ignores exclude_domains next to include_domains: give kept or '-'excluded domains, not both"
        )
    if filters.include:
        settings["source_policy"] = {"include_domains": list(filters.include)}
    elif filters.exclude:
        settings["source_policy"] = {"exclude_domains": list(filters.exclude)}
    country = country_code(call, req)
    if country is not None:
        settings["location"] = country.lower()
    if settings:
        body["advanced_settings"] = settings
    return _post(call, "/v1/search", body)


def _parallel_snippet(call: Call, item: dict[str, Any]) -> str | None:
    excerpts = item.get("excerpts")
    if excerpts is None:
        return None
    if not isinstance(excerpts, list) or not all(isinstance(e, str) for e in excerpts):
        raise SerializationError(
            "'excerpts' of a parallel_ai search result is not a list of strings", provider=call.provider.name
        )
    return " … ".join(excerpts)


def parallel_parse(call: Call, response: httpx.Response) -> t.SearchResponse:
    """``{"search_id", "results": [{"url", "title"?, "publish_date"?, "excerpts": [...]}], "warnings"?, ...}``."""
    data = answer_object(call, response)
    items = result_list(call, data.get("results"), "results")
    return search_response(
        call,
        items,
        url="url",
        snippet=lambda item: _parallel_snippet(call, item),
        date=lambda item: text_field(call, item, "publish_date"),
    )


@attrs.frozen
class Translation:
    """How one provider's search goes out and comes back."""

    build: Callable[[Call], httpx.Request]
    parse: Callable[[Call, httpx.Response], t.SearchResponse]


TRANSLATIONS: dict[str, Translation] = {
    "tavily": Translation(tavily_build, tavily_parse),
    "brave": Translation(brave_build, brave_parse),
    "exa": Translation(exa_build, exa_parse),
    "serper": Translation(serper_build, serper_parse),
    "searxng": Translation(searxng_build, searxng_parse),
    "perplexity": Translation(perplexity_build, perplexity_parse),
    "duckduckgo": Translation(duckduckgo_build, duckduckgo_parse),
    "firecrawl": Translation(firecrawl_build, firecrawl_parse),
    "google_pse": Translation(google_pse_build, google_pse_parse),
    "linkup": Translation(linkup_build, linkup_parse),
    "parallel_ai": Translation(parallel_build, parallel_parse),
}
