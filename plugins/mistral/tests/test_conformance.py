"""The core's provider conformance kit, run against Mistral's native answers."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import httpx

from liter_llm.testing import ProviderConformance, Reply
from liter_llm.types import FinishReason

_FINISH = {FinishReason.STOP: "stop", FinishReason.LENGTH: "length", FinishReason.TOOL_CALLS: "tool_calls"}


def _usage(reply: Reply) -> dict[str, int]:
    used = reply.usage
    return {
        "prompt_tokens": used.prompt_tokens,
        "completion_tokens": used.completion_tokens,
        "total_tokens": used.prompt_tokens + used.completion_tokens,
    }


def _chunk(delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> str:
    payload: dict[str, Any] = {
        "id": "cmpl-kit",
        "object": "chat.completion.chunk",
        "created": 1702256327,
        "model": "mistral-small-latest",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        payload["usage"] = usage
    return "data: " + json.dumps(payload) + "\n\n"


class TestMistralConformance(ProviderConformance):
    provider = "mistral"
    model = "mistral/mistral-small-latest"
    key_header = "authorization"
    key_prefix = "Bearer "
    # Mistral has no content-filter finish reason
    finish_reasons: ClassVar[tuple[FinishReason, ...]] = (
        FinishReason.STOP,
        FinishReason.LENGTH,
        FinishReason.TOOL_CALLS,
    )
    # Mistral takes only 9-character alphanumeric ids, so the kit's "call_kit_1" goes out
    # re-shaped (tests/test_chat.py checks the mapping and that answer ids come back unchanged)
    tool_call_ids = False

    def chat_reply(self, request: httpx.Request, reply: Reply) -> httpx.Response:
        assert request.url.path.endswith("/chat/completions")
        calls = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
            for c in reply.tool_calls
        ]
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or "", "tool_calls": calls or None}
        return httpx.Response(
            200,
            json={
                "id": "cmpl-e5cc70bb28c444948073e77776eb30ef",
                "object": "chat.completion",
                "model": "mistral-small-latest",
                "usage": _usage(reply),
                "created": 1702256327,
                "choices": [{"index": 0, "message": message, "finish_reason": _FINISH[reply.finish_reason]}],
            },
        )

    def stream_reply(self, request: httpx.Request, reply: Reply, complete: bool) -> httpx.Response:
        parts = list(reply.parts)
        events = [_chunk({"role": "assistant", "content": parts[0]})] + [_chunk({"content": p}) for p in parts[1:]]
        if complete:
            # Mistral puts the finish reason and the usage on the last chunk, then [DONE]
            events.append(_chunk({"content": ""}, _FINISH[reply.finish_reason], _usage(reply)))
            events.append("data: [DONE]\n\n")
        return httpx.Response(200, content="".join(events).encode(), headers={"content-type": "text/event-stream"})

    def error_reply(self, request: httpx.Request, status: int, message: str, retry_after: int | None) -> httpx.Response:
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        body = {"object": "error", "message": message, "type": "invalid_request_error", "param": None, "code": None}
        return httpx.Response(status, json=body, headers=headers)
