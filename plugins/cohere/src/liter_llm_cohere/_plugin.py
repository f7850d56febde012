"""The provider hooks: they see only the calls routed to Cohere."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from liter_llm import types as t
from liter_llm.errors import LiterLlmError, SerializationError
from liter_llm.hookspecs import hookimpl
from liter_llm.wire import OperationHooks, dump_json, load_json, merge_headers, url_for, with_extra_body
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

__all__ = [
    "EXTRAS_STATE",
    "MODELS_PAGE_SIZE",
    "PLUGIN",
    "CitationCollector",
    "CoherePlugin",
    "CohereStreamParser",
]

#: ``page_size`` of ``GET /v1/models`` (the API's maximum), so one call lists every model.
MODELS_PAGE_SIZE = 1000
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


def _model(call: Call) -> str:
    return call.model or getattr(call.request, "model", "") or ""


class CoherePlugin(OperationHooks):
    """Hooks that speak Cohere's v2 Chat, Embed and Rerank APIs and its model list, one method per operation.

    An operation without a method here is EndpointNotSupportedError (the core's answer for a
    provider with its own protocol), before anything is sent.
    """

    def build_chat(self, call: Call) -> httpx.Request:
        """``POST /v2/chat`` (``chat`` and ``chat_stream``)."""
        stream = call.op.stream
        body = to_cohere_body(call.request, model=_model(call), stream=stream)
        return _post(call, "/v2/chat", body, stream=stream)

    def build_embed(self, call: Call) -> httpx.Request:
        """``POST /v2/embed``."""
        return _post(call, "/v2/embed", with_extra_body(call, embed_body(call.request, model=_model(call))))

    def build_rerank(self, call: Call) -> httpx.Request:
        """``POST /v2/rerank``."""
        return _post(call, "/v2/rerank", with_extra_body(call, rerank_body(call.request, model=_model(call))))

    def build_list_models(self, call: Call) -> httpx.Request:
        """``GET /v1/models``, one page of the API's maximum size."""
        return httpx.Request(
            "GET",
            url_for(call, "/v1/models"),
            params={"page_size": MODELS_PAGE_SIZE},
            headers=merge_headers(call, {"accept": "application/json"}),
        )

    def parse_chat(self, call: Call, response: httpx.Response) -> t.ChatCompletionResponse:
        """A chat answer; its citations and tool plan go to ``call.state[EXTRAS_STATE]``."""
        result, call.state[EXTRAS_STATE] = from_cohere_chat(load_json(call, response.content), model=call.model or "")
        return result

    def parse_embed(self, call: Call, response: httpx.Response) -> t.EmbeddingResponse:
        """An embed answer."""
        return from_cohere_embed(load_json(call, response.content), call.request, model=call.model or "")

    def parse_rerank(self, call: Call, response: httpx.Response) -> t.RerankResponse:
        """A rerank answer."""
        return from_cohere_rerank(load_json(call, response.content), call.request)

    def parse_list_models(self, call: Call, response: httpx.Response) -> t.ModelsListResponse:
        """The model list."""
        return from_cohere_models(load_json(call, response.content))

    @hookimpl
    def parse_error(self, call: Call, response: httpx.Response) -> LiterLlmError:
        """Map Cohere's error answer (``{"message": ...}``) and its status."""
        return parse_cohere_error(response, provider=call.provider.name)

    @hookimpl
    def stream_parser(self, call: Call) -> CohereStreamParser:
        """The parser of one chat stream (its extras are kept for :class:`CitationCollector`)."""
        return CohereStreamParser(call)


class CohereStreamParser:
    """The stream parser of one Cohere chat stream (``liter_llm.wire.StreamParser``): typed SSE events in."""

    __slots__ = ("_call", "_translator")

    def __init__(self, call: Call) -> None:
        self._call = call
        self._translator = CohereStreamTranslator(call.model or "", provider=call.provider.name)
        call.state[EXTRAS_STATE] = self._translator.extras

    def feed(self, event: Any) -> list[t.ChatCompletionChunk]:
        """Translate one typed stream event; ``message-end`` ends the stream."""
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
        """Nothing is held back."""
        return []


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
