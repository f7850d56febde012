"""The provider hooks: they see only the calls routed to Anthropic."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from liter_llm import types as t
from liter_llm.errors import BadRequestError, EndpointNotSupportedError, LiterLlmError, SerializationError
from liter_llm.hookspecs import hookimpl
from liter_llm.tokens import TokenCount
from liter_llm.wire import dump_json, load_json, merge_headers, url_for
from liter_llm_anthropic._batches import (
    batch_from_anthropic,
    batch_list_from_anthropic,
    batch_requests_body,
    parse_timestamp,
)
from liter_llm_anthropic._errors import parse_anthropic_error
from liter_llm_anthropic._stream import AnthropicStreamTranslator
from liter_llm_anthropic._translate import from_anthropic_message, to_anthropic_body

if TYPE_CHECKING:
    from liter_llm import Call

__all__ = ["ANTHROPIC_VERSION", "MODELS_PAGE_SIZE", "AnthropicPlugin", "AnthropicStreamParser"]

#: The ``anthropic-version`` header sent on every request.
ANTHROPIC_VERSION = "2023-06-01"
#: ``limit`` of ``GET /v1/models`` (the API's maximum page), so one call lists every model.
MODELS_PAGE_SIZE = 1000

#: What ``POST /v1/messages/count_tokens`` takes of a Messages body (no ``max_tokens`` or sampling fields).
COUNT_FIELDS = frozenset({"model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers"})


def _headers(call: Call, accept: str, *, body: bool) -> dict[str, str]:
    base = {"accept": accept, "anthropic-version": ANTHROPIC_VERSION}
    if body:
        base["content-type"] = "application/json"
    return merge_headers(call, base)


def _id(call: Call, name: str) -> str:
    value = call.params.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequestError(f"{name}: a non-empty string is required", provider=call.provider.name)
    return quote(value, safe="")


def _post(call: Call, path: str, body: Any, *, stream: bool = False) -> httpx.Request:
    return httpx.Request(
        "POST",
        url_for(call, path),
        content=dump_json(body),
        headers=_headers(call, "text/event-stream" if stream else "application/json", body=True),
    )


def _get(call: Call, path: str, params: Mapping[str, Any] | None = None) -> httpx.Request:
    query = {k: v for k, v in (params or {}).items() if v is not None}
    return httpx.Request(
        "GET", url_for(call, path), params=query or None, headers=_headers(call, "application/json", body=False)
    )


def _models(call: Call, data: Any) -> t.ModelsListResponse:
    if not isinstance(data, Mapping) or not isinstance(data.get("data", []), list):
        raise SerializationError("the model list is not an object with a 'data' list", provider=call.provider.name)
    models = []
    for index, item in enumerate(data.get("data") or []):
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            raise SerializationError(f"data[{index}].id: expected a string", provider=call.provider.name)
        created = parse_timestamp(item.get("created_at"), f"data[{index}].created_at")
        models.append(t.ModelObject(id=item["id"], object="model", created=created or 0, owned_by="anthropic"))
    return t.ModelsListResponse(object="list", data=models)


def _token_count(call: Call, data: Any) -> TokenCount:
    """``{"input_tokens": N}`` -> TokenCount (Anthropic's own count: exact)."""
    tokens = data.get("input_tokens") if isinstance(data, Mapping) else None
    if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
        raise SerializationError("the token count has no 'input_tokens' integer", provider=call.provider.name)
    return TokenCount(
        tokens=tokens, method="provider:anthropic", exact=True, model=call.requested_model or call.model or ""
    )


class AnthropicPlugin:
    """Hooks that speak Anthropic's Messages, Models and Message Batches APIs."""

    @hookimpl
    def build_request(self, call: Call) -> httpx.Request:
        op = call.operation
        if op in ("chat", "chat_stream"):
            request: t.ChatCompletionRequest = call.request
            body = to_anthropic_body(request, model=call.model or request.model, stream=op == "chat_stream")
            return _post(call, "/messages", body, stream=op == "chat_stream")
        if op == "count_tokens":
            body = to_anthropic_body(call.request, model=call.model or call.request.model)
            return _post(call, "/messages/count_tokens", {k: v for k, v in body.items() if k in COUNT_FIELDS})
        if op == "list_models":
            return _get(call, "/models", {"limit": MODELS_PAGE_SIZE})
        if op == "create_batch":
            return _post(call, "/messages/batches", batch_requests_body(call.request))
        if op == "retrieve_batch":
            return _get(call, f"/messages/batches/{_id(call, 'batch_id')}")
        if op == "list_batches":
            query: t.BatchListQuery | None = call.request
            params = {} if query is None else {"limit": query.limit, "after_id": query.after}
            return _get(call, "/messages/batches", params)
        if op == "cancel_batch":
            return _post(call, f"/messages/batches/{_id(call, 'batch_id')}/cancel", {})
        raise EndpointNotSupportedError(call.provider.name, op)

    @hookimpl
    def parse_response(self, call: Call, response: httpx.Response) -> Any:
        op = call.operation
        data = load_json(call, response.content)
        if op == "chat":
            return from_anthropic_message(data, call.request)
        if op == "count_tokens":
            return _token_count(call, data)
        if op == "list_models":
            return _models(call, data)
        if op in ("create_batch", "retrieve_batch", "cancel_batch"):
            return batch_from_anthropic(data)
        if op == "list_batches":
            return batch_list_from_anthropic(data)
        raise EndpointNotSupportedError(call.provider.name, op)

    @hookimpl
    def parse_error(self, call: Call, response: httpx.Response) -> LiterLlmError:
        return parse_anthropic_error(response, provider=call.provider.name)

    @hookimpl
    def stream_parser(self, call: Call) -> AnthropicStreamParser:
        return AnthropicStreamParser(call)


class AnthropicStreamParser:
    """The stream parser of one Anthropic stream (``liter_llm.wire.StreamParser``): SSE events in, chunks out."""

    __slots__ = ("_call", "_translator")

    def __init__(self, call: Call) -> None:
        self._call = call
        self._translator = AnthropicStreamTranslator(call.request, provider=call.provider.name)

    def feed(self, event: Any) -> list[t.ChatCompletionChunk]:
        """One server-sent event; ``message_stop`` marks the end of the stream."""
        data = getattr(event, "data", None)
        if not isinstance(data, str):
            raise SerializationError(
                f"unexpected stream event {type(event).__name__}", provider=self._call.provider.name
            )
        translator = self._translator
        chunks = translator.translate(getattr(event, "event", None), data)
        if translator.complete:
            self._call.stream_complete = True
        return chunks

    def finish(self) -> list[t.ChatCompletionChunk]:
        """Nothing is held back: each event's chunks were given as it came."""
        return []


PLUGIN = AnthropicPlugin()
