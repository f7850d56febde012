"""The chat stream's types: part of :mod:`liter_llm.types`, built on first use.

``ChatCompletionChunk`` and what it holds (``StreamChoice``, ``StreamDelta``, ``StreamToolCall``,
``StreamFunctionCall``).  Every name here is a name of :mod:`liter_llm.types`
(``liter_llm.types.ChatCompletionChunk``); its classes say so in ``__module__``, so they repr, pickle
and resolve their annotations as the other chat types do.  They live apart, as the other endpoints'
types do (:mod:`liter_llm._endpoint_types`), so that a process whose calls are not streamed never
builds them: five attrs classes, about 5 M of the 148 M instructions of an async first chat
(docs/performance.md, "Ninth pass").  ``liter_llm.types`` imports this module the first time one of
its names is asked for: the first stream, or a plugin that names one.
"""

from __future__ import annotations

import attrs

from liter_llm._attrs_code import define
from liter_llm.types import FinishReason, ToolType, Usage, _adopt, _Model, _response, _wire

__all__ = ["ChatCompletionChunk", "StreamChoice", "StreamDelta", "StreamFunctionCall", "StreamToolCall"]


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class StreamFunctionCall(_Model):
    """A fragment of a function call in a stream."""

    name: str | None = None
    arguments: str | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class StreamToolCall(_Model):
    """A fragment of a tool call in a stream."""

    index: int = 0
    id: str | None = None
    call_type: ToolType | None = attrs.field(default=None, metadata=_wire("type"))
    function: StreamFunctionCall | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class StreamDelta(_Model):
    """What a stream chunk adds to a choice."""

    role: str | None = None
    content: str | None = None
    tool_calls: list[StreamToolCall] = attrs.field(factory=list)
    function_call: StreamFunctionCall | None = None
    refusal: str | None = None
    reasoning_content: str | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class StreamChoice(_Model):
    """One choice of a stream chunk."""

    index: int = 0
    delta: StreamDelta = attrs.field(factory=StreamDelta)
    finish_reason: FinishReason | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class ChatCompletionChunk(_Model):
    """One streamed chunk of a chat completion."""

    id: str
    object: str = "chat.completion.chunk"
    created: int
    model: str
    choices: list[StreamChoice] = attrs.field(factory=list)
    usage: Usage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None


_adopt(globals(), __all__)  # the classes are liter_llm.types' own (its module, its namespace)
