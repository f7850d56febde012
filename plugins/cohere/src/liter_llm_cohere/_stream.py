"""Cohere's v2 chat stream events -> ``ChatCompletionChunk`` (https://docs.cohere.com/docs/streaming)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from liter_llm import types as t
from liter_llm.errors import SerializationError, error_from_status
from liter_llm_cohere._translate import CohereExtras, finish_reason, usage_from_cohere

__all__ = ["CohereStreamTranslator"]


def _message_delta(data: Mapping[str, Any]) -> Mapping[str, Any]:
    delta = data.get("delta")
    message = delta.get("message") if isinstance(delta, Mapping) else None
    return message if isinstance(message, Mapping) else {}


class CohereStreamTranslator:
    """Translates one stream's typed events; ``complete`` turns true at ``message-end``.

    Events: ``message-start``, ``content-start`` / ``content-delta`` / ``content-end`` (text, or
    ``thinking``), ``tool-plan-delta``, ``tool-call-start`` / ``tool-call-delta`` /
    ``tool-call-end``, ``citation-start`` / ``citation-end`` (kept in ``extras``),
    ``message-end`` (finish reason and usage), ``debug`` (skipped).
    """

    def __init__(self, model: str, provider: str = "cohere") -> None:
        self.model = model
        self.provider = provider
        self.id = ""
        self.complete = False
        #: the citations and the tool plan the stream carried
        self.extras = CohereExtras()

    def _chunk(
        self, delta: t.StreamDelta, finish: t.FinishReason | None = None, usage: t.Usage | None = None
    ) -> t.ChatCompletionChunk:
        return t.ChatCompletionChunk(
            id=self.id,
            created=0,
            model=self.model,
            choices=[t.StreamChoice(index=0, delta=delta, finish_reason=finish)],
            usage=usage,
        )

    def _bad(self, message: str) -> SerializationError:
        return SerializationError(message, provider=self.provider)

    def translate(self, name: str | None, raw: str) -> list[t.ChatCompletionChunk]:
        """The chunks of one event (``name`` is the SSE ``event:`` field, ``raw`` its data)."""
        try:
            data = json.loads(raw)
        except ValueError:
            raise self._bad(f"a stream event is not JSON: {raw[:100]!r}") from None
        if not isinstance(data, Mapping):
            raise self._bad("a stream event is not a JSON object")
        kind = data.get("type") or name
        message = _message_delta(data)
        if kind == "message-start":
            if isinstance(data.get("id"), str):
                self.id = data["id"]
            return [self._chunk(t.StreamDelta(role="assistant"))]
        if kind in ("content-start", "content-delta"):
            content = message.get("content")
            if not isinstance(content, Mapping):
                return []
            text, thinking = content.get("text"), content.get("thinking")
            if isinstance(text, str) and text:
                return [self._chunk(t.StreamDelta(content=text))]
            if isinstance(thinking, str) and thinking:
                return [self._chunk(t.StreamDelta(reasoning_content=thinking))]
            return []
        if kind == "tool-plan-delta":
            plan = message.get("tool_plan")
            if isinstance(plan, str):
                self.extras.tool_plan += plan
            return []
        if kind in ("tool-call-start", "tool-call-delta"):
            call = message.get("tool_calls")
            index = data.get("index", 0)
            if not isinstance(call, Mapping) or isinstance(index, bool) or not isinstance(index, int):
                raise self._bad(f"{kind}: expected delta.message.tool_calls and an index")
            given = call.get("function")
            function: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
            arguments = function.get("arguments")
            if arguments is not None and not isinstance(arguments, str):
                arguments = json.dumps(arguments)
            fragment = t.StreamToolCall(
                index=index,
                id=call.get("id") if kind == "tool-call-start" else None,
                call_type=t.ToolType.FUNCTION if kind == "tool-call-start" else None,
                function=t.StreamFunctionCall(
                    name=function.get("name") if kind == "tool-call-start" else None, arguments=arguments
                ),
            )
            return [self._chunk(t.StreamDelta(tool_calls=[fragment]))]
        if kind == "citation-start":
            citation = message.get("citations")
            if isinstance(citation, Mapping):
                self.extras.citations.append(dict(citation))
            return []
        if kind == "message-end":
            end = data.get("delta")
            delta: Mapping[str, Any] = end if isinstance(end, Mapping) else {}
            self.complete = True
            error = delta.get("error")
            if isinstance(error, str) and error:
                raise error_from_status(500, error, provider=self.provider)
            return [
                self._chunk(
                    t.StreamDelta(),
                    finish=finish_reason(delta.get("finish_reason")) or t.FinishReason.STOP,
                    usage=usage_from_cohere(delta.get("usage")),
                )
            ]
        return []  # content-end, tool-call-end, citation-end, debug, and events added later
