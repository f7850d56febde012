"""The conformance kit on providers this plugin re-registers: their chat stays the OpenAI wire format."""

from __future__ import annotations

import httpx

from liter_llm.testing import ProviderConformance, Reply, openai_reply_body, openai_reply_stream


class _OpenAIReplies:
    def chat_reply(self, request: httpx.Request, reply: Reply) -> httpx.Response:
        assert request.url.path.endswith("/chat/completions")
        return httpx.Response(200, json=openai_reply_body(reply))

    def stream_reply(self, request: httpx.Request, reply: Reply, complete: bool) -> httpx.Response:
        return httpx.Response(
            200, content=openai_reply_stream(reply, complete), headers={"content-type": "text/event-stream"}
        )

    def error_reply(self, request: httpx.Request, status: int, message: str, retry_after: int | None) -> httpx.Response:
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        return httpx.Response(status, json={"error": {"message": message, "type": "error"}}, headers=headers)


class TestFireworksConformance(_OpenAIReplies, ProviderConformance):
    """A hosted catalogue row with a key, re-registered with rerank hooks."""

    provider = "fireworks_ai"
    model = "fireworks_ai/accounts/fireworks/models/llama-v3p1-8b-instruct"
    key_header = "authorization"
    key_prefix = "Bearer "


class TestNvidiaNimConformance(_OpenAIReplies, ProviderConformance):
    provider = "nvidia_nim"
    model = "nvidia_nim/meta/llama-3.1-8b-instruct"
    key_header = "authorization"
    key_prefix = "Bearer "
