"""The ``openai_wire`` built-in: the OpenAI wire format, for the providers that speak it.

An ordinary plugin of the core, registered ``trylast`` on every hook relay as
``builtin.openai_wire``: it builds, authenticates and reads every operation
in the OpenAI format (bearer or header auth, JSON bodies, SSE streams) --
but builds requests only for a provider that declares that wire
(``ProviderSpec.openai_wire``, true for a provider without a plugin).  For a
provider with its own protocol, an operation its plugin did not build is
``EndpointNotSupportedError``, never sent in OpenAI format.  The helpers it
uses are public in :mod:`liter_llm.wire`, so a plugin can call them itself;
``disable_plugins=["openai_wire"]`` leaves it out (a replacement then comes
through ``hooks=[...]``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx

from liter_llm import types as t
from liter_llm._wire import (
    build_openai_request,
    header_auth,
    parse_openai_response,
    parse_openai_stream_event,
    stream_error,
)
from liter_llm.errors import SerializationError
from liter_llm.hookspecs import hookimpl

if TYPE_CHECKING:
    from liter_llm._call import Call
    from liter_llm.sse import SSEDecoder

__all__ = ["OPENAI_WIRE", "OpenAIWire"]


class OpenAIWire:
    """The ``openai_wire`` built-in: the trylast default of every request and response hook."""

    @hookimpl(trylast=True)
    def build_request(self, call: Call) -> httpx.Request | None:
        # only for providers that speak the OpenAI wire: a protocol plugin's unbuilt
        # operation is EndpointNotSupportedError (the core's answer to None), never sent as OpenAI
        if not call.provider.speaks_openai:
            return None
        return build_openai_request(call)

    @hookimpl(trylast=True)
    def auth(self, call: Call) -> httpx.Auth:
        return header_auth(call)

    @hookimpl(trylast=True)
    def stream_decoder(self, call: Call) -> SSEDecoder:
        from liter_llm.sse import SSEDecoder  # a chat that is not streamed never imports it

        return SSEDecoder()

    @hookimpl(trylast=True)
    def parse_response(self, call: Call, response: httpx.Response) -> Any:
        return parse_openai_response(call, response)

    @hookimpl(trylast=True)
    def parse_stream_event(self, call: Call, event: Any) -> list[t.ChatCompletionChunk]:
        data = getattr(event, "data", event)
        if not isinstance(data, str):
            raise SerializationError(f"unexpected stream event {type(event).__name__}", provider=call.provider.name)
        if getattr(event, "event", "message") == "error":
            try:
                payload = json.loads(data)
            except ValueError:
                payload = {"error": {"message": data}}
            raise stream_error(call, payload if isinstance(payload, dict) else {"error": {"message": data}})
        return parse_openai_stream_event(call, data)


OPENAI_WIRE = OpenAIWire()
