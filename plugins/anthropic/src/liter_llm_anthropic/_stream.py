"""Anthropic's named SSE events -> ChatCompletionChunk objects."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from liter_llm import types as t
from liter_llm.errors import LiterLlmError, SerializationError
from liter_llm_anthropic._errors import error_from_type
from liter_llm_anthropic._translate import finish_reason, json_tool_name, usage_from_anthropic

__all__ = ["AnthropicStreamTranslator"]


class _Block:
    __slots__ = ("emitted", "initial_input", "kind", "tool_index")

    def __init__(self, kind: str, tool_index: int | None = None, initial_input: Any = None) -> None:
        self.kind = kind  # "text", "thinking", "tool", "json", "other"
        self.tool_index = tool_index
        self.initial_input = initial_input
        self.emitted = False


class AnthropicStreamTranslator:
    """Turn the events of one Anthropic stream into ``ChatCompletionChunk`` objects.

    Feed each event's name and JSON data to :meth:`translate`; it returns the
    chunks that event amounts to (often none).  ``message_start`` gives the
    first chunk (role ``assistant``); text, thinking and tool-argument deltas
    follow; ``message_delta`` gives the last chunk, with the finish reason and
    the usage; ``message_stop`` sets :attr:`complete`; an ``error`` event
    raises the mapped :class:`~liter_llm.errors.LiterLlmError`.

    Tool calls are numbered by their order among tool calls (not by content
    block index); the first delta of each carries its ``id`` and ``name``.  In
    JSON mode (``request`` with a JSON ``response_format``, or ``json_tool``)
    the forced tool's input streams as content and the finish reason is
    ``stop``.
    """

    def __init__(
        self,
        request: t.ChatCompletionRequest | None = None,
        *,
        json_tool: str | None = None,
        provider: str = "anthropic",
    ) -> None:
        self.json_tool = json_tool if json_tool is not None else (json_tool_name(request) if request else None)
        self.provider = provider
        self.complete = False
        self._id = ""
        self._model = ""
        self._created = int(time.time())
        self._usage: dict[str, Any] = {}
        self._blocks: dict[int, _Block] = {}
        self._tool_count = 0
        self._started = False

    # -- helpers -----------------------------------------------------------
    def _chunk(
        self,
        delta: t.StreamDelta,
        finish: t.FinishReason | None = None,
        usage: t.Usage | None = None,
    ) -> t.ChatCompletionChunk:
        return t.ChatCompletionChunk(
            id=self._id,
            object="chat.completion.chunk",
            created=self._created,
            model=self._model,
            choices=[t.StreamChoice(index=0, delta=delta, finish_reason=finish)],
            usage=usage,
        )

    def _fail(self, message: str) -> SerializationError:
        return SerializationError(message, provider=self.provider)

    def _index(self, payload: Mapping[str, Any]) -> int:
        index = payload.get("index")
        if isinstance(index, bool) or not isinstance(index, int):
            raise self._fail(f"{payload.get('type')}: 'index' must be an integer, got {index!r}")
        return index

    def _object(self, payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = payload.get(key)
        if not isinstance(value, Mapping):
            raise self._fail(f"{payload.get('type')}: {key!r} must be an object, got {type(value).__name__}")
        return value

    def _text(self, payload: Mapping[str, Any], key: str, event: str) -> str:
        value = payload.get(key)
        if not isinstance(value, str):
            raise self._fail(f"{event}: {key!r} must be a string, got {type(value).__name__}")
        return value

    def _tool_chunk(
        self, block: _Block, *, id: str | None = None, name: str | None = None, arguments: str | None = None
    ) -> t.ChatCompletionChunk:
        assert block.tool_index is not None
        call = t.StreamToolCall(
            index=block.tool_index,
            id=id,
            call_type=t.ToolType.FUNCTION if id is not None else None,
            function=t.StreamFunctionCall(name=name, arguments=arguments),
        )
        return self._chunk(t.StreamDelta(tool_calls=[call]))

    # -- the translation --------------------------------------------------------
    def translate(self, event: str | None, data: str | Mapping[str, Any]) -> list[t.ChatCompletionChunk]:
        """The chunks for one SSE event (its ``event:`` name and its ``data:`` JSON)."""
        if isinstance(data, str):
            try:
                payload = json.loads(data)
            except ValueError as exc:
                raise self._fail(f"a stream event is not valid JSON ({exc}): {data[:200]!r}") from None
        else:
            payload = data
        if not isinstance(payload, Mapping):
            raise self._fail(f"a stream event is not a JSON object: {str(data)[:200]!r}")
        kind = payload.get("type", event)
        if kind == "message_start":
            return self._message_start(payload)
        if kind == "content_block_start":
            return self._block_start(payload)
        if kind == "content_block_delta":
            return self._block_delta(payload)
        if kind == "content_block_stop":
            return self._block_stop(payload)
        if kind == "message_delta":
            return self._message_delta(payload)
        if kind == "message_stop":
            self.complete = True
            return []
        if kind == "error" or event == "error":
            raise self._error(payload)
        # ping, and any event type added later: nothing to say
        return []

    def _error(self, payload: Mapping[str, Any]) -> LiterLlmError:
        inner = payload.get("error")
        etype = message = None
        if isinstance(inner, Mapping):
            etype = inner.get("type") if isinstance(inner.get("type"), str) else None
            message = inner.get("message") if isinstance(inner.get("message"), str) else None
        return error_from_type(
            etype,
            message or "the provider sent an error inside the stream",
            provider=self.provider,
            body=json.dumps(payload, ensure_ascii=False, default=str)[:2000],
        )

    def _message_start(self, payload: Mapping[str, Any]) -> list[t.ChatCompletionChunk]:
        message = self._object(payload, "message")
        msg_id = message.get("id", "")
        model = message.get("model", "")
        if not isinstance(msg_id, str) or not isinstance(model, str):
            raise self._fail("message_start: message.id and message.model must be strings")
        self._id = msg_id
        self._model = model
        usage = message.get("usage")
        if usage is not None:
            if not isinstance(usage, Mapping):
                raise self._fail("message_start: message.usage must be an object")
            self._usage.update({k: v for k, v in usage.items() if v is not None})
        self._started = True
        return [self._chunk(t.StreamDelta(role="assistant"))]

    def _block_start(self, payload: Mapping[str, Any]) -> list[t.ChatCompletionChunk]:
        index = self._index(payload)
        block = self._object(payload, "content_block")
        kind = block.get("type")
        if kind == "text":
            if self.json_tool is not None:  # JSON mode: the answer is the forced tool's input
                self._blocks[index] = _Block("other")
                return []
            self._blocks[index] = _Block("text")
            text = block.get("text") or ""
            if text:
                return [self._chunk(t.StreamDelta(content=text))]
            return []
        if kind == "thinking":
            self._blocks[index] = _Block("thinking")
            text = block.get("thinking") or ""
            if text:
                return [self._chunk(t.StreamDelta(reasoning_content=text))]
            return []
        if kind == "tool_use":
            tool_id = self._text(block, "id", "content_block_start")
            name = self._text(block, "name", "content_block_start")
            if self.json_tool is not None and name == self.json_tool:
                self._blocks[index] = _Block("json", initial_input=block.get("input"))
                return []
            entry = _Block("tool", tool_index=self._tool_count, initial_input=block.get("input"))
            self._tool_count += 1
            self._blocks[index] = entry
            return [self._tool_chunk(entry, id=tool_id, name=name, arguments="")]
        self._blocks[index] = _Block("other")
        return []

    def _block_delta(self, payload: Mapping[str, Any]) -> list[t.ChatCompletionChunk]:
        index = self._index(payload)
        delta = self._object(payload, "delta")
        block = self._blocks.get(index)
        if block is None:
            raise self._fail(f"content_block_delta for block {index}, which never started")
        kind = delta.get("type")
        if kind == "text_delta":
            text = self._text(delta, "text", "text_delta")
            if block.kind != "text" or not text:
                return []
            return [self._chunk(t.StreamDelta(content=text))]
        if kind == "thinking_delta":
            text = self._text(delta, "thinking", "thinking_delta")
            if not text:
                return []
            return [self._chunk(t.StreamDelta(reasoning_content=text))]
        if kind == "input_json_delta":
            part = self._text(delta, "partial_json", "input_json_delta")
            if not part:
                return []
            if block.kind == "json":
                block.emitted = True
                return [self._chunk(t.StreamDelta(content=part))]
            if block.kind == "tool":
                block.emitted = True
                return [self._tool_chunk(block, arguments=part)]
            return []
        # signature_delta, citations_delta and later delta types carry nothing we can map
        return []

    def _block_stop(self, payload: Mapping[str, Any]) -> list[t.ChatCompletionChunk]:
        index = self._index(payload)
        block = self._blocks.get(index)
        if block is None or block.emitted or block.kind not in ("tool", "json"):
            return []
        # a tool whose input never streamed (no arguments): send its input, "{}" at least
        initial = block.initial_input if isinstance(block.initial_input, Mapping) else {}
        text = json.dumps(initial, ensure_ascii=False, separators=(",", ":"))
        block.emitted = True
        if block.kind == "json":
            return [self._chunk(t.StreamDelta(content=text))]
        return [self._tool_chunk(block, arguments=text)]

    def _message_delta(self, payload: Mapping[str, Any]) -> list[t.ChatCompletionChunk]:
        delta = payload.get("delta")
        if delta is not None and not isinstance(delta, Mapping):
            raise self._fail("message_delta: 'delta' must be an object")
        usage = payload.get("usage")
        if usage is not None:
            if not isinstance(usage, Mapping):
                raise self._fail("message_delta: 'usage' must be an object")
            self._usage.update({k: v for k, v in usage.items() if v is not None})
        reason = finish_reason((delta or {}).get("stop_reason"))
        if (
            self.json_tool is not None
            and reason is t.FinishReason.TOOL_CALLS
            and self._tool_count == 0
            and any(b.kind == "json" for b in self._blocks.values())
        ):
            reason = t.FinishReason.STOP
        usage_out = usage_from_anthropic(self._usage, "usage") if self._usage else None
        return [self._chunk(t.StreamDelta(), finish=reason, usage=usage_out)]
