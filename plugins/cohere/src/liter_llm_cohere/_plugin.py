"""The provider hooks: they see only the calls routed to Cohere."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from liter_llm import types as t
from liter_llm.errors import EndpointNotSupportedError, LiterLlmError, SerializationError
from liter_llm.hookspecs import hookimpl
from liter_llm.wire import dump_json, load_json, merge_headers, url_for, with_extra_body
from liter_llm_cohere._errors import parse_cohere_error
from liter_llm_cohere._stream import CohereStreamTranslator
from liter_llm_cohere._translate import (
    CohereExtras,
    embed_body,
    from_cohere_chat,
    from_cohere_embed,
    from_cohere_models,
    from_cohere_rerank,
    rerank_body,
    to_cohere_body,
)

if TYPE_CHECKING:
    from liter_llm import Call

__all__ = ["EXTRAS_STATE", "MODELS_PAGE_SIZE", "PLUGIN", "STREAM_STATE", "CitationCollector", "CoherePlugin"]

#: ``page_size`` of ``GET /v1/models`` (the API's maximum), so one call lists every model.
MODELS_PAGE_SIZE = 1000
#: the ``call.state`` key of a stream's translator (its ``citations`` and ``tool_plan``)
STREAM_STATE = "liter_llm_cohere.stream"
#: the ``call.state`` key of a chat's :class:`CohereExtras` (citations, tool plan), streamed or not
EXTRAS_STATE = "liter_llm_cohere.extras"


def _post(call: Call, path: str, body: Any, *, stream: bool = False) -> httpx.Request:
    accept = "text/event-stream" if stream else "application/json"
    return httpx.Request(
        "POST",
        url_for(call, path),
        content=dump_json(body),
        headers=merge_headers(call, {"content-type": "application/json", "accept": accept}),
    )


class CoherePlugin:
    """Hooks that speak Cohere's v2 Chat, Embed and Rerank APIs and its model list."""

    @hookimpl
    def build_request(self, call: Call) -> httpx.Request:
        """Build ``/v2/chat``, ``/v2/embed``, ``/v2/rerank`` or ``/v1/models``; refuse the rest."""
        op = call.operation
        model = call.model or getattr(call.request, "model", "") or ""
        if op in ("chat", "chat_stream"):
            body = to_cohere_body(call.request, model=model, stream=op == "chat_stream")
            return _post(call, "/v2/chat", body, stream=op == "chat_stream")
        if op == "embed":
            return _post(call, "/v2/embed", with_extra_body(call, embed_body(call.request, model=model)))
        if op == "rerank":
            return _post(call, "/v2/rerank", with_extra_body(call, rerank_body(call.request, model=model)))
        if op == "list_models":
            return httpx.Request(
                "GET",
                url_for(call, "/v1/models"),
                params={"page_size": MODELS_PAGE_SIZE},
                headers=merge_headers(call, {"accept": "application/json"}),
            )
        raise EndpointNotSupportedError(call.provider.name, op)

    @hookimpl
    def parse_response(self, call: Call, response: httpx.Response) -> Any:
        """Read Cohere's answer into the operation's typed response."""
        op = call.operation
        data = load_json(call, response.content)
        model = call.model or ""
        if op == "chat":
            result, call.state[EXTRAS_STATE] = from_cohere_chat(data, model=model)
            return result
        if op == "embed":
            return from_cohere_embed(data, call.request, model=model)
        if op == "rerank":
            return from_cohere_rerank(data, call.request)
        if op == "list_models":
            return from_cohere_models(data)
        raise EndpointNotSupportedError(call.provider.name, op)

    @hookimpl
    def parse_error(self, call: Call, response: httpx.Response) -> LiterLlmError:
        """Map Cohere's error answer (``{"message": ...}``) and its status."""
        return parse_cohere_error(response, provider=call.provider.name)

    @hookimpl
    def parse_stream_event(self, call: Call, event: Any) -> list[t.ChatCompletionChunk]:
        """Translate one typed stream event; ``message-end`` ends the stream."""
        translator: CohereStreamTranslator | None = call.state.get(STREAM_STATE)
        if translator is None:
            translator = CohereStreamTranslator(call.model or "", provider=call.provider.name)
            call.state[STREAM_STATE] = translator
            call.state[EXTRAS_STATE] = translator.extras
        data = getattr(event, "data", None)
        if not isinstance(data, str):
            raise SerializationError(f"unexpected stream event {type(event).__name__}", provider=call.provider.name)
        chunks = translator.translate(getattr(event, "event", None), data)
        if translator.complete:
            call.stream_complete = True
        return chunks


class CitationCollector:
    """A global hook that hands Cohere's citations and tool plan to the caller.

    Pass it to the client (``create_client(hooks=[collector])``); after each Cohere chat (a
    stream: when it ends) ``collector.last`` holds that answer's :class:`CohereExtras`.  The
    common response types have no field for citations, so this is where they are kept.
    """

    def __init__(self) -> None:
        self.last: CohereExtras | None = None

    @hookimpl
    def on_response(self, call: Call, response: Any) -> None:
        """Record the extras of a Cohere chat answer."""
        extras = call.state.get(EXTRAS_STATE)
        if isinstance(extras, CohereExtras):
            self.last = extras


PLUGIN = CoherePlugin()
