"""Request and response helpers for provider plugins: the public wire SDK.

A provider plugin translates between liter-llm's typed requests and its
provider's HTTP API.  This module holds what such a plugin needs to do that
the way the core does: JSON bodies that fail with a clear error, headers
that carry the provider's and the client's extra headers, the OpenAI wire
format for providers that speak it with a twist, and the protocol a stream
framing decoder follows.

Everything named in ``__all__`` is covered by the compatibility promise in
the docs (``docs/writing-a-plugin.md``, "What is public"): it changes only
in a major release, or after a deprecation warning for at least one minor
release.  Names starting with ``_``, and modules starting with ``_``, are
private and may change in any release.

Example: a ``build_request`` hook of a provider with its own protocol::

    import httpx
    from liter_llm import hookimpl
    from liter_llm.wire import dump_json, merge_headers, url_for

    class AcmeHooks:
        @hookimpl
        def build_request(self, call):
            body = {"model": call.model, "turns": [m.to_dict() for m in call.request.messages]}
            return httpx.Request(
                "POST",
                url_for(call, "/generate"),
                content=dump_json(body),
                headers=merge_headers(call, {"content-type": "application/json"}),
            )
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from liter_llm._log import get_logger
from liter_llm._wire import (
    build_chat_request,
    build_openai_request,
    chat_body,
    dump_json,
    extra_form_fields,
    header_auth,
    load_json,
    merge_headers,
    parse_openai_response,
    parse_openai_stream_event,
    stream_error,
    url_for,
    with_extra_body,
)
from liter_llm.hookspecs import hookimpl
from liter_llm.sse import ServerSentEvent, SSEDecoder

if TYPE_CHECKING:
    import httpx

    from liter_llm._call import Call
    from liter_llm.types import ChatCompletionChunk

__all__ = [
    "OperationHooks",
    "SSEDecoder",
    "ServerSentEvent",
    "StreamDecoder",
    "StreamParser",
    "build_chat_request",
    "build_openai_request",
    "chat_body",
    "dump_json",
    "extra_form_fields",
    "get_logger",
    "header_auth",
    "load_json",
    "merge_headers",
    "parse_openai_response",
    "parse_openai_stream_event",
    "stream_error",
    "url_for",
    "with_extra_body",
]


@runtime_checkable
class StreamDecoder(Protocol):
    """What the ``stream_decoder`` hook returns: the framing of a streamed answer.

    The core feeds the raw bytes of the answer, as they arrive, to
    :meth:`feed`, and calls :meth:`close` once at the end of the input.  Every
    event either returns goes, in order, to the ``parse_stream_event`` hook,
    which turns it into chunks.  The core's default is :class:`SSEDecoder`
    (server-sent events, yielding :class:`ServerSentEvent`); a provider with
    binary framing (AWS EventStream, newline-delimited JSON) returns its own
    object with these two methods.  One decoder serves one stream: return a
    new object on every call of the hook.
    """

    def feed(self, data: bytes) -> Iterable[Any]:
        """Take the next bytes of the answer; return the events they complete (maybe none)."""
        ...

    def close(self) -> Iterable[Any]:
        """End of input: return the events still buffered.

        Raise :class:`~liter_llm.errors.StreamingError` when the input ended
        inside a frame (a truncated answer).
        """
        ...


@runtime_checkable
class StreamParser(Protocol):
    """What the ``stream_parser`` hook returns: the stateful translator of one streamed answer.

    A provider whose stream events only make sense together (content blocks
    opened and closed, tool-call arguments assembled across events, usage
    sent at the start and the end) keeps that state here, for the life of
    one stream, instead of in ``call.state``.  The hook creates it once per
    stream (``call`` given, typically kept by the parser); the core then
    passes each event of the stream decoder to :meth:`feed`, in order, and
    calls :meth:`finish` once when the input ends.  Both return the chunks
    to hand to the caller (a list, maybe empty).

    The parser marks the normal end of the stream by setting
    ``call.stream_complete = True`` on the provider's terminal event
    (``message_stop``, ``[DONE]``, the last frame); a stream whose input
    ends before that is a StreamingError (see "How a stream ends" in
    ``docs/reference/hooks.md``).  An error event raises the mapped
    :class:`~liter_llm.errors.LiterLlmError`.  ``feed`` runs once per event:
    keep it as cheap as a ``parse_stream_event`` implementation.
    """

    def feed(self, event: Any) -> Sequence[ChatCompletionChunk]:
        """Translate the next event; return the chunks it completes (maybe none)."""
        ...

    def finish(self) -> Sequence[ChatCompletionChunk]:
        """The input ended: return the chunks still held back (usually none)."""
        ...


class OperationHooks:
    """A base class for a provider plugin: one method per operation instead of if-chains.

    Subclass it and give, for each operation the provider offers,
    ``build_<operation>(self, call) -> httpx.Request`` and
    ``parse_<operation>(self, call, response) -> <its response type>``
    (``build_chat``, ``parse_chat``, ``build_embed``, ``parse_list_models``;
    the names are those of :data:`liter_llm.operations.OPERATIONS`).  The
    base class implements the ``build_request`` and ``parse_response`` hooks
    and dispatches each call to the method of its operation:

    * ``chat_stream`` uses ``build_chat_stream`` if there is one, else
      ``build_chat`` (``call.op.stream`` tells them apart); a stream's
      events go to the ``stream_parser`` or ``parse_stream_event`` hook, as
      for any plugin;
    * an operation without a ``build_`` method is left to the core: for a
      provider with its own protocol that is
      :class:`~liter_llm.errors.EndpointNotSupportedError`, before
      anything is sent; for one declared ``openai_wire=True`` the core's
      OpenAI format builds it (and, without a ``parse_`` method, reads it).

    The other hooks (``auth``, ``parse_error``, ``stream_parser``...) are
    written as usual, with ``@hookimpl``, on the same class.  Example::

        from liter_llm.wire import OperationHooks, dump_json, load_json, merge_headers, url_for

        class AcmeHooks(OperationHooks):
            def build_embed(self, call):
                body = {"model": call.model, "texts": call.request.input}
                headers = merge_headers(call, {"content-type": "application/json"})
                return httpx.Request("POST", url_for(call, "/embed"), content=dump_json(body), headers=headers)

            def parse_embed(self, call, response):
                ...
    """

    #: the handlers of each subclass, by operation name (filled in when the subclass is defined)
    _builders: ClassVar[dict[str, str]] = {}
    _parsers: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        from liter_llm.operations import OPERATIONS

        cls._builders = {}
        cls._parsers = {}
        for name in OPERATIONS:
            if callable(getattr(cls, f"build_{name}", None)):
                cls._builders[name] = f"build_{name}"
            if callable(getattr(cls, f"parse_{name}", None)):
                cls._parsers[name] = f"parse_{name}"
        if "chat_stream" not in cls._builders and "chat" in cls._builders:
            cls._builders["chat_stream"] = cls._builders["chat"]

    @hookimpl
    def build_request(self, call: Call) -> httpx.Request | None:
        """The ``build_<operation>`` method of the call's operation, or ``None`` (the core decides)."""
        name = self._builders.get(call.operation)
        if name is None:
            return None
        request: httpx.Request | None = getattr(self, name)(call)
        return request

    @hookimpl
    def parse_response(self, call: Call, response: httpx.Response) -> Any:
        """The ``parse_<operation>`` method of the call's operation, or ``None`` (the core's OpenAI reader)."""
        name = self._parsers.get(call.operation)
        if name is None:
            return None
        return getattr(self, name)(call, response)
