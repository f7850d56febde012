"""The core's provider conformance kit, run against Anthropic's native formats."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import httpx

from liter_llm.testing import ProviderConformance, Reply
from liter_llm.types import FinishReason


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}


_STOP_REASONS = {
    FinishReason.STOP: "end_turn",
    FinishReason.LENGTH: "max_tokens",
    FinishReason.TOOL_CALLS: "tool_use",
    FinishReason.CONTENT_FILTER: "refusal",
}


class _AnthropicReplies:
    def chat_reply(self, request: httpx.Request, reply: Reply) -> httpx.Response:
        assert request.url.path.endswith("/messages")
        assert request.headers["anthropic-version"] == "2023-06-01"
        body = json.loads(request.content)
        return httpx.Response(
            200,
            json={
                "id": "msg_conformance",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": ([{"type": "text", "text": reply.text}] if reply.text is not None else [])
                + [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in reply.tool_calls],
                "stop_reason": _STOP_REASONS[reply.finish_reason],
                "stop_sequence": None,
                "usage": {"input_tokens": reply.usage.prompt_tokens, "output_tokens": reply.usage.completion_tokens},
            },
        )

    def stream_reply(self, request: httpx.Request, reply: Reply, complete: bool) -> httpx.Response:
        body = json.loads(request.content)
        assert body["stream"] is True
        out = [
            _event(
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_conformance",
                        "type": "message",
                        "role": "assistant",
                        "content": [],
                        "model": body["model"],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": reply.usage.prompt_tokens, "output_tokens": 1},
                    },
                },
            ),
            _event(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
        ]
        out += [
            _event(
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": part}},
            )
            for part in reply.parts
        ]
        if complete:
            out += [
                _event("content_block_stop", {"type": "content_block_stop", "index": 0}),
                _event(
                    "message_delta",
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": _STOP_REASONS[reply.finish_reason], "stop_sequence": None},
                        "usage": {"output_tokens": reply.usage.completion_tokens},
                    },
                ),
                _event("message_stop", {"type": "message_stop"}),
            ]
        return httpx.Response(200, content="".join(out).encode(), headers={"content-type": "text/event-stream"})

    def error_reply(self, request: httpx.Request, status: int, message: str, retry_after: int | None) -> httpx.Response:
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        body = {
            "type": "error",
            "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message},
            "request_id": "req_conformance",
        }
        return httpx.Response(status, json=body, headers=headers)


class TestAnthropicConformancePrefix(_AnthropicReplies, ProviderConformance):
    """``anthropic/`` prefix; the address comes from ANTHROPIC_BASE_URL (set by the kit)."""

    provider = "anthropic"
    model = "anthropic/claude-sonnet-4-20250514"
    key_header = "x-api-key"
    key_prefix = ""


class TestAnthropicConformanceHint(_AnthropicReplies, ProviderConformance):
    """A bare ``claude-`` model with ``model_hint="anthropic"`` and a client ``base_url``."""

    provider = "anthropic"
    model = "claude-3-5-haiku-20241022"
    key_header = "x-api-key"
    key_prefix = ""
    client_options: ClassVar[dict[str, Any]] = {"model_hint": "anthropic", "base_url": "http://127.0.0.1:9/v1"}
