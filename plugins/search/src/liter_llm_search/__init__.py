"""liter-llm web search providers: Tavily, Brave, Exa, Serper, SearXNG, Perplexity, Firecrawl, Google
Programmable Search, Linkup, Parallel and DuckDuckGo's Instant Answer API.

Each provider gets a native translation of ``client.search(...)``: ``SearchRequest`` (``query``,
``max_results``, ``search_domain_filter``, ``country``) to that provider's own request, and its
answer back to ``SearchResponse`` / ``SearchResult`` (``title``, ``url``, ``snippet``, ``date``).
A field a provider cannot honour is a ``BadRequestError`` before anything is sent, or is
approximated as ``docs/providers/search.md`` says.

Perplexity's chat stays in the OpenAI wire format (the catalogue's row); with this plugin installed
the ``perplexity`` provider also serves ``search``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

import liter_llm
from liter_llm import types as t
from liter_llm.errors import EndpointNotSupportedError, LiterLlmError
from liter_llm.providers import ProviderSpec
from liter_llm_search._common import parse_error as _parse_error
from liter_llm_search._providers import TAVILY_COUNTRIES, TRANSLATIONS, Translation

if TYPE_CHECKING:
    from liter_llm import Call

__all__ = ["PROVIDERS", "TAVILY_COUNTRIES", "SearchHooks", "register_providers"]


class SearchHooks:
    """The hooks of one search provider: they see only the calls routed to it.

    ``openai_wire`` is true for a provider whose other operations (Perplexity's chat) the core
    builds in the OpenAI wire format: its hooks then answer only for ``search``.
    """

    def __init__(self, translation: Translation, *, openai_wire: bool = False) -> None:
        self._translation = translation
        self._openai_wire = openai_wire

    @liter_llm.hookimpl
    def build_request(self, call: Call) -> httpx.Request | None:
        """Build the provider's native search request; refuse any other operation (or leave it to the OpenAI format)."""
        if call.operation == "search":
            return self._translation.build(call)
        if self._openai_wire:
            return None
        raise EndpointNotSupportedError(call.provider.name, call.operation)

    @liter_llm.hookimpl
    def parse_response(self, call: Call, response: httpx.Response) -> t.SearchResponse | None:
        """Read the provider's search answer into a ``SearchResponse``."""
        if call.operation != "search":
            return None
        return self._translation.parse(call, response)

    @liter_llm.hookimpl
    def parse_error(self, call: Call, response: httpx.Response) -> LiterLlmError | None:
        """Read the provider's error body (its message and code); other shapes go to the core's mapping."""
        if call.operation != "search":
            return None
        return _parse_error(call, response)


def _spec(name: str, *, openai_wire: bool = False, **fields: Any) -> ProviderSpec:
    return ProviderSpec(
        name=name, plugin=SearchHooks(TRANSLATIONS[name], openai_wire=openai_wire), openai_wire=openai_wire, **fields
    )


#: The providers this plugin registers (built when the plugin is loaded, not at import).
PROVIDERS = (
    "tavily", "brave", "exa", "serper", "searxng", "perplexity",
    "firecrawl", "google_pse", "linkup", "parallel_ai", "duckduckgo",
)  # fmt: skip


@liter_llm.hookimpl
def register_providers(register: Any) -> None:
    """Declare the search providers (``PROVIDERS``): ``tavily/``, ``brave/``, ..., ``duckduckgo/``."""
    search = {"search"}
    register(
        _spec(
            "tavily",
            display_name="Tavily",
            base_url="https://api.tavily.com",
            api_key_env="TAVILY_API_KEY",
            endpoints=search,
        )
    )
    register(
        _spec(
            "brave",
            display_name="Brave Search",
            base_url="https://api.search.brave.com/res/v1",
            api_key_env="BRAVE_API_KEY",
            auth="x-subscription-token",
            endpoints=search,
        )
    )
    register(
        _spec(
            "exa",
            display_name="Exa",
            base_url="https://api.exa.ai",
            api_key_env="EXA_API_KEY",
            auth="x-api-key",
            endpoints=search,
        )
    )
    register(
        _spec(
            "serper",
            display_name="Serper",
            base_url="https://google.serper.dev",
            api_key_env="SERPER_API_KEY",
            auth="x-api-key",
            endpoints=search,
        )
    )
    register(
        _spec(
            "searxng",
            display_name="SearXNG (self-hosted)",
            base_url=None,  # SEARXNG_BASE_URL, or the client's base_url with model_hint="searxng"
            auth="none",
            requires_api_key=False,
            endpoints=search,
        )
    )
    register(
        _spec(
            "perplexity",
            openai_wire=True,
            display_name="Perplexity AI",
            base_url="https://api.perplexity.ai",
            api_key_env="PERPLEXITYAI_API_KEY",
            # chat (and its stream) in the OpenAI format, search natively; Perplexity documents no
            # model list on this base URL, so "models" (which the catalogue inferred from chat) is not offered
            endpoints={"chat", "search"},
        )
    )
    register(
        _spec(
            "firecrawl",
            display_name="Firecrawl",
            base_url="https://api.firecrawl.dev",
            api_key_env="FIRECRAWL_API_KEY",
            endpoints=search,
        )
    )
    register(
        _spec(
            "google_pse",
            display_name="Google Programmable Search (Custom Search JSON API)",
            base_url="https://www.googleapis.com/customsearch/v1",
            api_key_env="GOOGLE_PSE_API_KEY",
            # the x-goog-api-key header that every Google API taking a key accepts: the key never goes
            # in the URL (the reference's ``key=`` query parameter would put it in every logged URL)
            auth="x-goog-api-key",
            endpoints=search,
        )
    )
    register(
        _spec(
            "linkup",
            display_name="Linkup",
            base_url="https://api.linkup.so/v1",
            api_key_env="LINKUP_API_KEY",
            endpoints=search,
        )
    )
    register(
        _spec(
            "parallel_ai",
            display_name="Parallel Search API",
            base_url="https://api.parallel.ai",
            api_key_env="PARALLEL_API_KEY",
            auth="x-api-key",
            endpoints=search,
        )
    )
    register(
        _spec(
            "duckduckgo",
            display_name="DuckDuckGo Instant Answer API",
            base_url="https://api.duckduckgo.com",
            auth="none",
            requires_api_key=False,
            endpoints=search,
        )
    )
