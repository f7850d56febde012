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

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

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
from liter_llm.sse import ServerSentEvent, SSEDecoder

__all__ = [
    "SSEDecoder",
    "ServerSentEvent",
    "StreamDecoder",
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
