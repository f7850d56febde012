"""What every search translation shares: validating the request, reading the answer, mapping errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs
import httpx

from liter_llm import types as t
from liter_llm.errors import BadRequestError, LiterLlmError, SerializationError, error_from_status, parse_retry_after
from liter_llm.wire import load_json

if TYPE_CHECKING:
    from liter_llm import Call


@attrs.frozen
class Domains:
    """A ``search_domain_filter`` split into the domains to keep and (``-domain``) the domains to drop."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


def bad_request(call: Call, message: str) -> BadRequestError:
    """A BadRequestError naming the provider, raised before anything is sent."""
    return BadRequestError(f"{call.provider.name} search: {message}", provider=call.provider.name)


def request_of(call: Call) -> t.SearchRequest:
    """The call's typed request, with the query checked (an empty query is refused by every provider)."""
    req: t.SearchRequest = call.request
    if not req.query.strip():
        raise bad_request(call, "the query is empty")
    return req


def max_results(call: Call, req: t.SearchRequest, limit: int | None, *, minimum: int = 1) -> int | None:
    """``max_results``, checked against the provider's documented range (``limit`` ``None``: no upper bound)."""
    value = req.max_results
    if value is None:
        return None
    if value < minimum:
        raise bad_request(call, f"max_results must be at least {minimum}, not {value}")
    if limit is not None and value > limit:
        raise bad_request(call, f"max_results is at most {limit} for {call.provider.name}, not {value}")
    return value


def country_code(call: Call, req: t.SearchRequest) -> str | None:
    """``country`` as an ISO 3166-1 alpha-2 code (upper case), or a BadRequestError."""
    if req.country is None:
        return None
    code = req.country.strip()
    if len(code) != 2 or not code.isalpha() or not code.isascii():
        raise bad_request(call, f"country must be a two-letter ISO 3166-1 code such as 'US', not {req.country!r}")
    return code.upper()


def _clean_domain(call: Call, raw: str) -> str:
    domain = raw.strip().lower()
    if "://" in domain:
        try:
            domain = urlsplit(domain).hostname or ""
        except ValueError:  # e.g. an unclosed IPv6 bracket
            domain = ""
    domain = domain.rstrip("/")
    if not domain or any(c.isspace() for c in domain) or "/" in domain:
        raise bad_request(call, f"{raw!r} in search_domain_filter is not a domain name")
    return domain


def domains(call: Call, req: t.SearchRequest, *, limit: int | None = None) -> Domains:
    """Split ``search_domain_filter``; an entry starting with ``-`` excludes that domain (Perplexity's syntax)."""
    entries = list(req.search_domain_filter)
    if limit is not None and len(entries) > limit:
        raise bad_request(call, f"search_domain_filter holds at most {limit} domains for {call.provider.name}")
    include: list[str] = []
    exclude: list[str] = []
    for raw in entries:
        if not isinstance(raw, str):
            raise bad_request(call, f"search_domain_filter entries are strings, not {type(raw).__name__}")
        if raw.strip().startswith("-"):
            exclude.append(_clean_domain(call, raw.strip()[1:]))
        else:
            include.append(_clean_domain(call, raw))
    return Domains(tuple(include), tuple(exclude))


def site_operators(filters: Domains) -> str:
    """The ``site:`` operators that approximate a domain filter for a provider without one."""
    parts: list[str] = []
    if filters.include:
        parts.append(" OR ".join(f"site:{d}" for d in filters.include))
    parts.extend(f"-site:{d}" for d in filters.exclude)
    return " ".join(parts)


def _host_matches(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def keep_result(url: str, filters: Domains) -> bool:
    """Whether a result's URL passes the domain filter (checked on our side where the provider has no filter)."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:  # a URL that cannot be parsed cannot be shown to be inside the filter
        return False
    if filters.include and not any(_host_matches(host, d) for d in filters.include):
        return False
    return not any(_host_matches(host, d) for d in filters.exclude)


def answer_object(call: Call, response: httpx.Response) -> dict[str, Any]:
    """The answer as a JSON object, or a SerializationError."""
    data = load_json(call, response.content)
    if not isinstance(data, dict):
        raise SerializationError(
            f"the {call.provider.name} search answer is not a JSON object", provider=call.provider.name
        )
    return data


def result_list(call: Call, value: Any, where: str) -> list[dict[str, Any]]:
    """A list of result objects (missing: empty), or a SerializationError naming ``where``."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise SerializationError(
            f"{where} in the {call.provider.name} search answer is not a list of objects", provider=call.provider.name
        )
    return value


def text_field(call: Call, item: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    """A string field of a result; a wrong type (or a missing required field) is a SerializationError."""
    value = item.get(key)
    if value is None:
        if required:
            raise SerializationError(
                f"a {call.provider.name} search result has no {key!r}", provider=call.provider.name
            )
        return None
    if not isinstance(value, str):
        raise SerializationError(
            f"{key!r} of a {call.provider.name} search result is a {type(value).__name__}, not a string",
            provider=call.provider.name,
        )
    return value


def search_response(
    call: Call,
    items: Sequence[dict[str, Any]],
    *,
    url: str,
    title: str = "title",
    snippet: Callable[[dict[str, Any]], str | None],
    date: Callable[[dict[str, Any]], str | None],
    filters: Domains | None = None,
) -> t.SearchResponse:
    """Build the SearchResponse: every result with a URL, filtered and cut to ``max_results`` where asked."""
    req: t.SearchRequest = call.request
    results: list[t.SearchResult] = []
    for item in items:
        link = text_field(call, item, url, required=True)
        assert link is not None
        if filters is not None and not keep_result(link, filters):
            continue
        results.append(
            t.SearchResult(
                title=text_field(call, item, title) or "",
                url=link,
                snippet=snippet(item) or "",
                date=date(item) or None,
            )
        )
    if req.max_results is not None:
        results = results[: req.max_results]
    return t.SearchResponse(results=results, model=call.model or "")


def _message(data: Any) -> tuple[str | None, str | None]:
    """The message and code of the error shapes the search providers use."""
    if not isinstance(data, dict):
        return None, None
    detail = data.get("detail")
    if isinstance(detail, dict) and isinstance(detail.get("error"), str):  # Tavily: {"detail": {"error": ...}}
        return detail["error"], None
    if isinstance(detail, str):
        return detail, None
    error = data.get("error")
    if isinstance(error, dict):
        # Brave {"error": {"code", "detail"}}, Perplexity {"error": {"message", "type"}},
        # Google {"error": {"code": 403, "message", "status"}}, Parallel {"error": {"ref_id", "message", "detail"?}},
        # Linkup {"error": {"code", "message"}}
        detail = error.get("detail")
        text = detail if isinstance(detail, str) and detail else error.get("message")
        code = error.get("code")
        if not isinstance(code, str):
            code = error.get("type") if error.get("type") is not None else error.get("status")
        return (str(text) if text else None), (str(code) if code is not None else None)
    if isinstance(error, str):  # Exa: {"error": ..., "tag": ...}
        tag = data.get("tag")
        return error, (str(tag) if tag is not None else None)
    if isinstance(data.get("message"), str):  # Serper: {"message": ..., "statusCode": ...}
        return data["message"], None
    return None, None


def parse_error(call: Call, response: httpx.Response) -> LiterLlmError | None:
    """Map a search provider's error answer; ``None`` (the core's mapping) for a shape we do not know."""
    try:
        data = response.json()
    except ValueError:
        return None
    message, code = _message(data)
    if not message:
        return None
    return error_from_status(
        response.status_code,
        message,
        provider=call.provider.name,
        code=code,
        retry_after=parse_retry_after(response.headers),
        body=response.text,
    )
