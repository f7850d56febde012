"""The core's provider conformance kit, run against Cohere's native v2 formats."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import httpx

from liter_llm.testing import ProviderConformance, Reply
from liter_llm.types import FinishReason

_FINISH = {FinishReason.STOP: "COMPLETE", FinishReason.LENGTH: "MAX_TOKENS", FinishReason.TOOL_CALLS: "TOOL_CALL"}


def _event(data: dict[str, Any]) -> str:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n"


def _usage(reply: Reply) -> dict[str, Any]:
    tokens = {"input_tokens": reply.usage.prompt_tokens, "output_tokens": reply.usage.completion_tokens}
    return {"billed_units": dict(tokens), "tokens": tokens}


class _CohereReplies:
    def chat_reply(self, request: httpx.Request, reply: Reply) -> httpx.Response:
        assert request.url.path.endswith("/v2/chat")
        body = json.loads(request.content)
        assert body["stream"] is False
        message: dict[str, Any] = {"role": "assistant"}
        if reply.text is not None:
            message["content"] = [{"type": "text", "text": reply.text}]
        if reply.tool_calls:
            message["tool_plan"] = "I will call the tool."
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                for c in reply.tool_calls
            ]
        return httpx.Response(
            200,
            json={
                "id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4",
                "finish_reason": _FINISH[reply.finish_reason],
                "message": message,
                "usage": _usage(reply),
            },
        )

    def stream_reply(self, request: httpx.Request, reply: Reply, complete: bool) -> httpx.Response:
        body = json.loads(request.content)
        assert body["stream"] is True
        out = [
            _event(
                {
                    "id": "29f14a5a-11de-4cae-9800-25e4747408ea",
                    "type": "message-start",
                    "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": []}},
                }
            ),
            _event(
                {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}}
            ),
        ]
        out += [
            _event({"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": part}}}})
            for part in reply.parts
        ]
        if complete:
            out += [
                _event({"type": "content-end", "index": 0}),
                _event(
                    {
                        "type": "message-end",
                        "delta": {"finish_reason": _FINISH[reply.finish_reason], "usage": _usage(reply)},
                    }
                ),
            ]
        return httpx.Response(200, content="".join(out).encode(), headers={"content-type": "text/event-stream"})

    def error_reply(self, request: httpx.Request, status: int, message: str, retry_after: int | None) -> httpx.Response:
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        return httpx.Response(
            status, json={"id": "b1b6b5a2-0000-4000-8000-000000000000", "message": message}, headers=headers
        )


class TestCohereConformancePrefix(_CohereReplies, ProviderConformance):
    """``cohere/`` prefix; the address comes from COHERE_BASE_URL (set by the kit)."""

    provider = "cohere"
    model = "cohere/command-a-03-2025"
    key_header = "authorization"
    key_prefix = "Bearer "
    finish_reasons = (FinishReason.STOP, FinishReason.LENGTH, FinishReason.TOOL_CALLS)


class TestCohereConformanceBare(_CohereReplies, ProviderConformance):
    """A bare ``command-`` model with ``model_hint="cohere"`` and a client ``base_url``."""

    provider = "cohere"
    model = "command-r7b-12-2024"
    key_header = "authorization"
    key_prefix = "Bearer "
    finish_reasons = (FinishReason.STOP, FinishReason.LENGTH, FinishReason.TOOL_CALLS)
    client_options: ClassVar[dict[str, Any]] = {"model_hint": "cohere", "base_url": "http://127.0.0.1:9"}
